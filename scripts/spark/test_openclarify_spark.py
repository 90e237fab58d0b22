#!/usr/bin/env python3
"""Unit tests of the Spark driver's partition logic (scripts/spark/openclarify_spark.py).

The plain-Python tests need nothing; the reading tests start a local Spark
(`local[2]`) and are skipped when pyspark is not importable.
Run: .venv-spark/bin/python scripts/spark/test_openclarify_spark.py
"""

import gzip
import io
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import openclarify_spark as driver  # noqa: E402

HEADER = ["a", "b", "label"]


class ShardRows(unittest.TestCase):
    def test_drops_a_leading_header_and_blank_lines(self):
        lines = ["\ufeffa, b ,label", "1,2,0", "", "3,4,1"]
        self.assertEqual(list(driver.shard_rows(lines, HEADER)), ["1,2,0", "3,4,1"])

    def test_a_header_is_only_dropped_first(self):
        lines = ["", "a,b,label", "1,2,0", "a,b,label"]
        self.assertEqual(list(driver.shard_rows(lines, HEADER)), ["1,2,0", "a,b,label"])

    def test_without_a_header_row_every_line_is_data(self):
        self.assertEqual(list(driver.shard_rows(["a,b,label", "1,2,0"], None)), ["a,b,label", "1,2,0"])

    def test_quoted_header_fields_compare_by_value(self):
        self.assertEqual(list(driver.shard_rows(['"a","b","label"', "1,2,0"], HEADER)), ["1,2,0"])


class Header(unittest.TestCase):
    """The header decision mirrors csv_reader::detect_layout."""

    def test_configured_headers_are_the_header(self):
        self.assertEqual(driver.dataset_header({"headers": [" a", "b", "label"]}, ["1,2,3"]), HEADER)

    def test_a_first_row_naming_the_label_is_a_header(self):
        self.assertEqual(driver.dataset_header({"label": "label"}, ["a, b,label", "x,y,z"]), HEADER)

    def test_all_text_above_a_number_is_a_header(self):
        self.assertEqual(driver.dataset_header({"label": 2}, ["a,b,label", "x,1,z"]), HEADER)
        self.assertIsNone(driver.dataset_header({"label": 2}, ["a,b,label", "x,y,z"]))
        self.assertIsNone(driver.dataset_header({"label": 2}, ["a,1,label", "x,1,z"]))
        self.assertIsNone(driver.dataset_header({"label": 2}, ["a,b,label"]))

    def test_numbers_as_openclarify_reads_them(self):
        for cell in ["1", " -2.5 ", "1e5", ".5", "+3", "inf", "-Infinity"]:
            self.assertTrue(driver.is_number(cell), cell)
        for cell in ["nan", "NaN", "", "x", "1_000", "e5", "0x10"]:
            self.assertFalse(driver.is_number(cell), cell)


class Offsets(unittest.TestCase):
    def test_offsets_are_cumulative_counts(self):
        self.assertEqual(driver.row_offsets([3, 0, 5, 1]), [0, 3, 3, 8])
        self.assertEqual(driver.row_offsets([]), [])


class Concurrency(unittest.TestCase):
    def test_total_is_divided_and_never_below_one(self):
        self.assertEqual(driver.partial_concurrency(16, 4), 4)
        self.assertEqual(driver.partial_concurrency(5, 2), 2)
        self.assertEqual(driver.partial_concurrency(4, 8), 1)
        self.assertEqual(driver.partial_concurrency(4, 0), 4)


class Files(unittest.TestCase):
    def test_paths_sort_by_component_as_openclarify_does(self):
        names = ["a.b", "a/b", "a/a", "b"]
        self.assertEqual(sorted(names, key=driver.path_order), ["a/a", "a/b", "a.b", "b"])

    def test_hidden_files_and_folders(self):
        self.assertTrue(driver.is_hidden(".x/part"))
        self.assertTrue(driver.is_hidden("d/.part.crc"))
        self.assertFalse(driver.is_hidden("d/part.csv"))


class Config(unittest.TestCase):
    def test_line_datasets_are_accepted(self):
        driver.check_config({"dataset_type": "text/csv"})
        driver.check_config({"dataset_type": "application/jsonlines"})

    def test_unsplittable_datasets_are_refused_in_one_sentence(self):
        for config in ({"dataset_type": "application/x-parquet"},
                       {"dataset_type": "text/csv", "facet_dataset_uri": "facets.csv"}):
            with self.assertRaisesRegex(driver.JobFailure, "openclarify run"):
                driver.check_config(config)


class Tail(unittest.TestCase):
    def test_the_reason_is_the_last_line_without_its_prefix(self):
        self.assertEqual(driver.tail("INFO x\nClientError: Dataset is empty.\n"), "Dataset is empty.")
        self.assertEqual(driver.tail("panicked at x"), "panicked at x")


class Feed(unittest.TestCase):
    def test_writes_rows_in_batches(self):
        out = io.BytesIO()
        count = driver.feed(out, iter(["1,2", "3,4", "5,6"]), batch=2)
        self.assertEqual(count, 3)
        self.assertEqual(out.getvalue(), b"1,2\n3,4\n5,6\n")


def pyspark_available():
    try:
        import pyspark  # noqa: F401
        return True
    except ImportError:
        return False


@unittest.skipUnless(pyspark_available(), "pyspark is not installed")
class Reading(unittest.TestCase):
    """A folder of part files read as partitions keeps row order and counts."""

    @classmethod
    def setUpClass(cls):
        from pyspark import SparkConf, SparkContext

        conf = SparkConf().setMaster("local[2]").setAppName("openclarify-spark-tests")
        conf.set("spark.ui.enabled", "false").set("spark.driver.host", "127.0.0.1")
        cls.sc = SparkContext.getOrCreate(conf)
        cls.sc.setLogLevel("ERROR")
        cls.sc.addPyFile(driver.__file__)  # spark-submit pickles the driver's own functions by value
        cls.tmp = tempfile.TemporaryDirectory()
        root = cls.tmp.name
        os.makedirs(os.path.join(root, "data", "sub"))
        os.makedirs(os.path.join(root, "data", ".hidden"))
        # Rows numbered in the order openclarify reads the files.
        cls.rows = [f"{i},{i % 7},{i % 2}" for i in range(3000)]
        write = lambda name, text, opener=open: opener(os.path.join(root, "data", name), "wt").write(text)
        write("part-0.csv", "a,b,label\n" + "\n".join(cls.rows[:1000]) + "\n\n")
        write("part-1.csv.gz", "a,b,label\n" + "\n".join(cls.rows[1000:1500]) + "\n", gzip.open)
        write("sub/part-2.csv", "\n".join(cls.rows[1500:3000]) + "\n")
        write("sub.csv", "")  # empty: skipped
        write(".hidden/part.csv", "a,b,label\n9,9,9\n")
        write(".part-0.csv.crc", "junk\n")

    @classmethod
    def tearDownClass(cls):
        cls.sc.stop()
        cls.tmp.cleanup()

    def test_files_are_listed_in_openclarify_order(self):
        files = driver.list_data_files(self.sc, os.path.join(self.tmp.name, "data"))
        self.assertEqual([f.rsplit("/data/", 1)[1] for f in files], ["part-0.csv", "part-1.csv.gz", "sub/part-2.csv"])

    def test_partitions_keep_row_order_and_offsets(self):
        files = driver.list_data_files(self.sc, os.path.join(self.tmp.name, "data"))
        lines = driver.read_lines(self.sc, files, 6)
        self.assertGreater(lines.getNumPartitions(), 3)
        counts = dict(lines.mapPartitionsWithIndex(driver.count_rows(HEADER)).collect())
        counts = [counts[i] for i in range(lines.getNumPartitions())]
        shards = lines.mapPartitionsWithIndex(lambda i, it: [(i, list(driver.shard_rows(it, HEADER)))]).collect()
        offsets = driver.row_offsets(counts)
        for index, rows in shards:
            self.assertEqual(len(rows), counts[index])
            self.assertEqual(rows, self.rows[offsets[index]:offsets[index] + len(rows)])
        self.assertEqual(sum(counts), len(self.rows))

    def test_a_copy_for_plan_keeps_each_file(self):
        files = driver.list_data_files(self.sc, os.path.join(self.tmp.name, "data"))
        copy = driver.local_copy(self.sc, files, os.path.join(self.tmp.name, "copy"))
        parts = sorted(os.listdir(copy))
        self.assertEqual(len(parts), 3)
        with open(os.path.join(copy, parts[1])) as fh:
            self.assertEqual(fh.read(), "a,b,label\n" + "\n".join(self.rows[1000:1500]) + "\n")

    def test_file_uris_become_paths(self):
        args = driver.parse_args(["--data", "file:///data/x.csv", "--config", "c.json", "--output", "o"])
        self.assertEqual(args.data, "/data/x.csv")

    def test_a_missing_path_is_one_sentence(self):
        with self.assertRaisesRegex(driver.JobFailure, "No data files found under"):
            driver.list_data_files(self.sc, os.path.join(self.tmp.name, "nothing"))


if __name__ == "__main__":
    unittest.main()
