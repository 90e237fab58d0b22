#!/usr/bin/env python3
"""Run an openclarify job across a Spark cluster.

    spark-submit [spark options] openclarify_spark.py \\
        --binary ./openclarify --config analysis_config.json --data DATA --output OUT \\
        [--endpoint-url URL] [--concurrency N] [--partitions N]

What happens, and where:

1. driver:    `openclarify plan` reads the whole dataset once for what needs all of
              it (column types, facet value order, the SHAP baseline).
2. executors: the dataset is read as Spark partitions (`SparkContext.textFile`, one
              RDD per data file, in the order `openclarify run` reads them); a first
              pass counts each partition's rows, so every partition knows its global
              row offset (SHAP seeds and row order stay those of a single run).
3. executors: each partition is written to `openclarify partial --data -` on stdin
              (the binary is shipped with `SparkContext.addFile`), which returns a
              compact state; a partition that calls the model gets an equal share of
              the total `--concurrency`, so the endpoint sees no more requests in
              flight than a single run would send.
4. driver:    the states are collected and `openclarify merge` writes analysis.json,
              the SHAP out.csv and the reports into --output, as `openclarify run` does.

Datasets: CSV (`text/csv`) and JSON Lines, one record per line, a file or a folder of
part files, gzip or not (a gzip file is one partition). Every path must be readable
by the driver and the executors under the same name: a local path on every host (as
SageMaker's FullyReplicated inputs are), a shared mount, or a Hadoop URI (s3a://,
hdfs://). `plan` runs on the driver's copy; a Hadoop URI is first copied to the
driver's disk.

Inside a SageMaker processing job the defaults are the processing layout, as for
`openclarify run`; a failure's one-sentence reason is printed and, with
--failure-file, written there; the exit code is 1.
"""

import argparse
import csv
import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse

PROCESSING = "/opt/ml/processing"
DEFAULT_CONFIG = f"{PROCESSING}/input/config/analysis_config.json"
DEFAULT_DATA = f"{PROCESSING}/input/data"
DEFAULT_OUTPUT = f"{PROCESSING}/output"
BINARY_NAME = "openclarify"
# Names under which the driver ships its inputs to the executors (SparkFiles is flat).
SHIPPED_CONFIG = "openclarify-analysis-config.json"
SHIPPED_PLAN = "openclarify-plan"
LINE_DATASET_TYPES = ("text/csv", "application/jsonlines")


class JobFailure(Exception):
    """A failure explained in one sentence, as openclarify's ClientError."""


# --- Partition logic: plain Python, unit-tested without Spark ---------------------


def parse_header(line):
    """The trimmed fields of a CSV line, without a leading byte-order mark."""
    fields = next(csv.reader([line.lstrip("\ufeff")]), [])
    return [f.strip() for f in fields]


def shard_rows(lines, header):
    """The data rows of one partition's lines.

    Blank lines are dropped, as openclarify's readers drop them, and so is a first
    line that is the dataset's header row (`header`: its trimmed field names, None
    when the files have no header row). A partition starts either at the start of a
    file, where a header row may stand, or inside a file.
    """
    first = True
    for line in lines:
        if not line:
            continue
        if first:
            first = False
            if header is not None and parse_header(line) == header:
                continue
        yield line


def row_offsets(counts):
    """Global offset of each partition's first row, from the partitions' row counts."""
    offsets, total = [], 0
    for count in counts:
        offsets.append(total)
        total += count
    return offsets


def partial_concurrency(total, parallel_partials):
    """Requests in flight for one `partial` when `parallel_partials` run at once,
    so that together they send at most `total` (and at least one each)."""
    return max(1, total // max(1, parallel_partials))


def path_order(relative_path):
    """Sort key that orders files as `openclarify run` does (path components)."""
    return relative_path.split("/")


def is_hidden(relative_path):
    """openclarify skips files and folders whose name starts with a dot."""
    return any(part.startswith(".") for part in relative_path.split("/"))


def check_config(config):
    """Refuses, in one sentence, the configs the driver cannot split by rows."""
    dataset_type = config.get("dataset_type")
    if dataset_type not in LINE_DATASET_TYPES:
        raise JobFailure(
            f"The Spark driver splits datasets of one record per line ({', '.join(LINE_DATASET_TYPES)}), "
            f"not dataset_type {dataset_type!r}; convert the dataset, or run `openclarify run` on one machine."
        )
    for key in ("facet_dataset_uri", "predicted_label_dataset_uri"):
        if config.get(key):
            raise JobFailure(
                f"The Spark driver does not join {key} to the dataset by row; add its columns to the "
                "main dataset, or run `openclarify run` on one machine."
            )


def tail(text, lines=1):
    """The last lines of openclarify's error output (its one-sentence reason),
    without the `ClientError: ` that the driver's own message starts with."""
    last = "\n".join(text.strip().splitlines()[-lines:])
    return last[len("ClientError: "):] if last.startswith("ClientError: ") else last


# --- Driver steps -----------------------------------------------------------------


def run_binary(binary, args):
    """Runs openclarify on the driver; a failure becomes its one-sentence reason."""
    proc = subprocess.run([binary, *args], stderr=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        raise JobFailure(f"openclarify {args[0]} failed: {tail(proc.stderr)}")
    return proc


def hadoop_status(sc, path):
    """The Hadoop file system holding a path, and the path's status (None when
    it does not exist)."""
    hadoop_path = sc._jvm.org.apache.hadoop.fs.Path(path)
    fs = hadoop_path.getFileSystem(sc._jsc.hadoopConfiguration())
    return fs, (fs.getFileStatus(hadoop_path) if fs.exists(hadoop_path) else None)


def list_data_files(sc, path):
    """The dataset's files as Hadoop paths, in the order `openclarify run` reads
    them: the file itself, or every non-empty, non-hidden file under a folder."""
    fs, status = hadoop_status(sc, path)
    if status is None:
        raise JobFailure(f"No data files found under {path}. Put the dataset file(s) there or pass --data PATH.")
    root = status.getPath()
    if status.isFile():
        return [root.toString()]
    prefix = root.toString().rstrip("/") + "/"
    files, listing = [], fs.listFiles(root, True)
    while listing.hasNext():
        status = listing.next()
        name = status.getPath().toString()
        relative = name[len(prefix):]
        if status.getLen() > 0 and not is_hidden(relative):
            files.append((path_order(relative), name))
    if not files:
        raise JobFailure(f"No data files found under {path}. Put the dataset file(s) there or pass --data PATH.")
    return [name for _, name in sorted(files)]


def read_lines(sc, files, partitions):
    """One RDD of the files' lines whose partitions follow file order, each file
    split into a share of `partitions` proportional to its size."""
    sizes = [hadoop_status(sc, f)[1].getLen() for f in files]
    total = sum(sizes) or 1
    rdds = [sc.textFile(f, max(1, round(partitions * size / total))) for f, size in zip(files, sizes)]
    return rdds[0] if len(rdds) == 1 else sc.union(rdds)


def is_number(cell):
    """Whether openclarify reads a cell as a number (dataset::value::parse_float:
    pandas' spellings of infinity count, NaN does not, a digit is required)."""
    text = cell.strip().lower().lstrip("+-")
    if text in ("inf", "infinity"):
        return True
    if text == "nan" or not any(c.isdigit() for c in cell) or "_" in cell:
        return False
    try:
        float(cell.strip())
        return True
    except ValueError:
        return False


def dataset_header(config, first_lines):
    """The header row of a CSV dataset as openclarify decides it from the first
    two lines of its first file (csv_reader::detect_layout): the
    configured `headers` (a file starting with them has a header row), else the
    first row when it names the label or is all text above a row with a number;
    None when the files have no header row. The plan records the same decision,
    but in a binary file, so the driver makes it again."""
    if config.get("headers"):
        return [str(h).strip() for h in config["headers"]]
    if not first_lines:
        return None
    first = parse_header(first_lines[0])
    label = config.get("label")
    if isinstance(label, str) and label in first:
        return first
    second = next(csv.reader(first_lines[1:2]), [])
    if not any(is_number(c) for c in first) and any(is_number(c) for c in second):
        return first
    return None


def feed(stdin, rows, batch=10000):
    """Writes rows to a process's stdin, a line each, in batches; returns how
    many rows were written."""
    count = 0
    while True:
        lines = list(itertools.islice(rows, batch))
        if not lines:
            return count
        stdin.write(("\n".join(lines) + "\n").encode("utf-8"))
        count += len(lines)


def make_partial_runner(header, offsets, options):
    """The function each executor runs on one partition: feeds its data rows to
    `openclarify partial` and yields (index, rows, state bytes, None), or
    (index, rows, None, reason) when the binary failed: such a failure (bad data,
    a model that rejects a record) would fail again, so it is returned to the
    driver rather than raised for Spark to retry."""

    def run(index, lines):
        from pyspark import SparkFiles

        rows = shard_rows(lines, header)
        first = next(rows, None)
        if first is None:
            return
        with tempfile.TemporaryDirectory(prefix="openclarify-partial-") as tmp:
            state = os.path.join(tmp, "state")
            command = [
                SparkFiles.get(BINARY_NAME), "partial",
                "--config", SparkFiles.get(SHIPPED_CONFIG),
                "--plan", SparkFiles.get(SHIPPED_PLAN),
                "--data", "-", "--header", "no",
                "--row-offset", str(offsets[index]),
                "--output", state,
                "--concurrency", str(options["concurrency"]),
            ]
            if options["endpoint_url"]:
                command += ["--endpoint-url", options["endpoint_url"]]
            with open(os.path.join(tmp, "log"), "w+") as log:
                proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=log, stderr=log)
                count = 0
                try:
                    count = feed(proc.stdin, itertools.chain([first], rows))
                    proc.stdin.close()
                except BrokenPipeError:
                    pass  # the binary stopped reading: its exit code says why
                code = proc.wait()
                log.seek(0)
                if code != 0:
                    yield (index, count, None, tail(log.read()))
                    return
            with open(state, "rb") as fh:
                yield (index, count, fh.read(), None)

    return run


def count_rows(header):
    """The function each executor runs on one partition in the first pass."""

    def run(index, lines):
        yield (index, sum(1 for _ in shard_rows(lines, header)))

    return run


def find_binary(given):
    """The openclarify binary (--binary, one shipped with `spark-submit --files`,
    or the one on PATH), and whether the executors have it already."""
    from pyspark import SparkFiles

    if given:
        candidates = [(given, False)]
    else:
        candidates = [(os.path.join(SparkFiles.getRootDirectory(), BINARY_NAME), True), (shutil.which(BINARY_NAME), False)]
    for path, shipped in candidates:
        if path and os.path.isfile(path):
            return os.path.abspath(path), shipped
    raise JobFailure(
        f"The openclarify binary was not found{' at ' + given if given else ''}; pass --binary PATH "
        "or ship it with spark-submit --files /path/to/openclarify."
    )


def local_copy(sc, files, into):
    """Copies a dataset that only Hadoop can read (s3a://, hdfs://) to the
    driver's disk, file by file, so that `plan` reads it as `run` would."""
    os.makedirs(into)
    for i, name in enumerate(files):
        with open(os.path.join(into, f"part-{i:05d}"), "w", encoding="utf-8") as out:
            for line in sc.textFile(name).toLocalIterator():
                out.write(line + "\n")
    return into


def ship(sc, path, name, work):
    """Makes a driver file available to executors as SparkFiles.get(name)."""
    shipped = os.path.join(work, name)
    if os.path.abspath(path) != shipped:
        shutil.copyfile(path, shipped)
    sc.addFile(shipped)


class Timer:
    """Logs how long each step took, on stderr."""

    def __init__(self):
        self.start = self.last = time.monotonic()

    def step(self, what):
        now = time.monotonic()
        log(f"{what} in {now - self.last:.1f}s")
        self.last = now


def log(message):
    print(f"openclarify-spark: {message}", file=sys.stderr, flush=True)


def run_job(args, sc, work):
    """Plan on the driver, partial per partition, merge on the driver."""
    timer = Timer()
    try:
        with open(args.config, encoding="utf-8") as fh:
            config = json.load(fh)
    except (OSError, ValueError) as e:
        raise JobFailure(f"Unable to load analysis configuration {args.config}: {e}") from e
    check_config(config)
    binary, already_shipped = find_binary(args.binary)
    files = list_data_files(sc, args.data)
    local_files = [f[len("file:"):] for f in files if f.startswith("file:")]
    plan_data = args.data if len(local_files) == len(files) else local_copy(sc, files, os.path.join(work, "data"))
    plan = os.path.join(work, SHIPPED_PLAN)
    run_binary(binary, ["plan", "--config", args.config, "--data", plan_data, "--output", plan])
    timer.step(f"plan on the driver ({len(files)} file(s))")

    header = None
    if config["dataset_type"] == "text/csv":
        header = dataset_header(config, sc.textFile(files[0]).filter(bool).take(2))
    if not already_shipped:
        ship(sc, binary, BINARY_NAME, work)
    ship(sc, args.config, SHIPPED_CONFIG, work)
    sc.addFile(plan)

    lines = read_lines(sc, files, args.partitions or sc.defaultParallelism)
    counts = dict(lines.mapPartitionsWithIndex(count_rows(header)).collect())
    counts = [counts.get(i, 0) for i in range(lines.getNumPartitions())]
    offsets = row_offsets(counts)
    shards = sum(1 for c in counts if c)
    timer.step(f"counted {sum(counts)} rows in {len(counts)} partitions")
    if not shards:
        raise JobFailure(f"Dataset is empty: {args.data} has no rows.")

    parallel = min(shards, args.parallel_partials or sc.defaultParallelism)
    options = {
        "concurrency": partial_concurrency(args.concurrency, parallel),
        "endpoint_url": args.endpoint_url,
    }
    results = sorted(lines.mapPartitionsWithIndex(make_partial_runner(header, offsets, options)).collect())
    for index, count, _, reason in results:
        if reason is not None:
            raise JobFailure(f"partition {index} (rows {offsets[index]} to {offsets[index] + counts[index] - 1}): {reason}")
        if count != counts[index]:
            raise JobFailure(f"partition {index} read {count} rows on its second pass but {counts[index]} on its first; is the dataset changing?")
    timer.step(f"{len(results)} partials, {parallel} at a time, --concurrency {options['concurrency']} each")

    states = []
    for index, _, state, _ in results:
        states.append(os.path.join(work, f"state-{index:05d}"))
        with open(states[-1], "wb") as fh:
            fh.write(state)
    run_binary(binary, ["merge", "--config", args.config, "--plan", plan, "--partials", *states, "--output", args.output])
    timer.step(f"merge on the driver into {args.output}")
    log(f"wrote {os.path.join(args.output, 'analysis.json')}: {sum(counts)} rows in {time.monotonic() - timer.start:.1f}s")


def parse_args(argv):
    parser = argparse.ArgumentParser(
        description="Run an openclarify job across a Spark cluster (see the module docstring).")
    parser.add_argument("--binary", help="the static openclarify binary [default: shipped with --files, or on PATH]")
    parser.add_argument("--config", default=DEFAULT_CONFIG, help=f"the analysis config [default: {DEFAULT_CONFIG}]")
    parser.add_argument("--data", default=DEFAULT_DATA, help=f"the dataset file or folder, a path or a Hadoop URI [default: {DEFAULT_DATA}]")
    parser.add_argument("--output", default=DEFAULT_OUTPUT, help=f"where results go, on the driver [default: {DEFAULT_OUTPUT}]")
    parser.add_argument("--endpoint-url", default=os.environ.get("OPENCLARIFY_ENDPOINT_URL"),
                        help="the model server's URL, reachable from every executor [env OPENCLARIFY_ENDPOINT_URL]")
    parser.add_argument("--concurrency", type=int, default=int(os.environ.get("OPENCLARIFY_CONCURRENCY", "4")),
                        help="model requests in flight across the whole cluster [default: 4, env OPENCLARIFY_CONCURRENCY]")
    parser.add_argument("--partitions", type=int, help="how many partitions to cut the dataset into [default: the cluster's cores]")
    parser.add_argument("--parallel-partials", type=int, help="partials running at once, to divide --concurrency by [default: the cluster's cores]")
    parser.add_argument("--failure-file", help="also write the failure reason here (e.g. /opt/ml/output/message)")
    args = parser.parse_args(argv)
    args.config = os.path.abspath(args.config)
    args.output = os.path.abspath(args.output)
    if args.data.startswith("file:"):
        args.data = urllib.parse.urlparse(args.data).path  # openclarify plan reads a plain path
    if "://" not in args.data:
        args.data = os.path.abspath(args.data)
    return args


def main(argv=None):
    args = parse_args(argv)
    from pyspark import SparkConf, SparkContext

    sc = SparkContext.getOrCreate(SparkConf().setAppName("openclarify"))
    work = tempfile.mkdtemp(prefix="openclarify-spark-")
    try:
        run_job(args, sc, work)
        return 0
    except JobFailure as e:
        message = f"ClientError: {e}"
        print(message, file=sys.stderr)
        if args.failure_file:
            with open(args.failure_file, "w", encoding="utf-8") as fh:
                fh.write(message + "\n")
        return 1
    finally:
        sc.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
