#!/usr/bin/env python3
"""Writes test-fixtures/formats/: the German credit data (test-fixtures/german.csv)
in every dataset format Clarify reads, each with the analysis config that reads it.

Why: a job must give the same bias numbers whatever format the same records
arrive in (CSV, JSON Lines, JSON, Parquet). tests/formats.rs runs every case and compares it with
the plain CSV run and with smclarify's values. Parquet needs pyarrow to write,
which the Rust tests do not have, so the files are generated once and committed.

Layout: formats/<case>/analysis_config.json and formats/<case>/data (a file or a
folder of part files), so every case runs as `openclarify run --config
<case>/analysis_config.json --data <case>/data`. Cases:
  jsonlines         one {"features": [...], "risk": ...} object per line
  json              one document {"instances": [{"features": [...], "risk": ...}, ...]}
  parquet           the CSV's columns and types, in several row groups
  csv_no_header     no header row; column names only in the config's `headers`
  csv_gzip_parts    three gzipped part files in nested folders, each with its header row

The facets, label and group variable are the demo's (test-fixtures/demo/
analysis_config.json), so smclarify's expected values are the demo's.
Usage: .venv/bin/python scripts/gen-format-fixtures.py   (needs pandas and pyarrow)
"""
import csv
import gzip
import io
import json
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "test-fixtures"
OUT = FIXTURES / "formats"

DEMO = json.loads((FIXTURES / "demo" / "analysis_config.json").read_text())
BIAS_KEYS = ("label", "label_values_or_threshold", "facet", "group_variable")
BIAS = {k: DEMO[k] for k in BIAS_KEYS}
METHODS = {"pre_training_bias": {"methods": "all"}}


def load_german():
    """Header and typed rows (ints stay ints, as pandas would read them)."""
    with open(FIXTURES / "german.csv", newline="") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1:]
    numeric = [all(r[i].lstrip("-").isdigit() for r in body) for i in range(len(header))]
    typed = [[int(v) if numeric[i] else v for i, v in enumerate(r)] for r in body]
    return header, typed


def write_case(name, config, files):
    """files: relative path under data/ -> bytes; a single "" key makes data a file."""
    case = OUT / name
    shutil.rmtree(case, ignore_errors=True)
    case.mkdir(parents=True)
    (case / "analysis_config.json").write_text(json.dumps(config, indent=2) + "\n")
    for rel, data in files.items():
        path = case / "data" / rel if rel else case / "data"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    print(f"wrote {case.relative_to(ROOT)} ({sum(len(d) for d in files.values())} bytes of data)")


def csv_bytes(rows):
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    return buf.getvalue().encode()


def gzip_bytes(data):
    # mtime=0 and no file name: the same input always gives the same bytes.
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0) as gz:
        gz.write(data)
    return buf.getvalue()


def main():
    header, rows = load_german()
    label = header.index(DEMO["label"])
    features = [h for i, h in enumerate(header) if i != label]

    def record(r):
        return {"features": [v for i, v in enumerate(r) if i != label], "risk": r[label]}

    # JSON Lines / JSON: headers are the feature names, then the label's.
    json_headers = features + [DEMO["label"]]
    write_case(
        "jsonlines",
        {"dataset_type": "application/jsonlines", "headers": json_headers,
         "features": "features", **BIAS, "methods": METHODS},
        {"german.jsonl": "".join(json.dumps(record(r)) + "\n" for r in rows).encode()},
    )
    write_case(
        "json",
        {"dataset_type": "application/json", "headers": json_headers,
         "features": "instances[*].features", **BIAS, "label": "instances[*].risk",
         "methods": METHODS},
        {"german.json": json.dumps({"instances": [record(r) for r in rows]}).encode()},
    )

    table = pa.Table.from_pylist([dict(zip(header, r)) for r in rows])
    buf = io.BytesIO()
    pq.write_table(table, buf, row_group_size=300)  # several row groups
    write_case(
        "parquet",
        {"dataset_type": "application/x-parquet", **BIAS, "methods": METHODS},
        {"german.parquet": buf.getvalue()},
    )

    write_case(
        "csv_no_header",
        {"dataset_type": "text/csv", "headers": header, **BIAS, "methods": METHODS},
        {"german.csv": csv_bytes(rows)},
    )
    parts = [rows[:300], rows[300:700], rows[700:]]
    write_case(
        "csv_gzip_parts",
        {"dataset_type": "text/csv", **BIAS, "methods": METHODS},
        {rel: gzip_bytes(csv_bytes([header] + part))
         for rel, part in zip(["part-0.csv.gz", "part-1.csv.gz", "more/part-2.csv.gz"], parts)},
    )


if __name__ == "__main__":
    main()
