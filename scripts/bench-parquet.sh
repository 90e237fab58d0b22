#!/usr/bin/env bash
# Parquet streamed by row group: the same synthetic bias job read as CSV and
# as Parquet (pyarrow, 100,000-row groups), at 1M and 4M rows. Prints wall
# time and peak RSS of each, and checks the two analysis.json files hold the
# same pre-training metrics. Memory of the Parquet run should stay flat as
# rows grow (a row group in memory, not the file). With BEFORE_BIN set, that
# binary's Parquet run is measured too, for the change's before/after.
# Usage: scripts/bench-parquet.sh [ROWS...]   (default 1000000 4000000)
source "$(dirname "$0")/lib.sh"
build_release
PY=$(reference_python)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1000000 4000000)
for rows in "${sizes[@]}"; do
  synthetic_bias_data "$rows" "$work"
  "$PY" -c 'import sys, pyarrow.csv as c, pyarrow.parquet as p
p.write_table(c.read_csv(sys.argv[1]), sys.argv[2], row_group_size=100000)' \
    "$work/synthetic.csv" "$work/synthetic.parquet"
  sed 's#"text/csv"#"application/x-parquet"#' "$work/synthetic.json" > "$work/parquet.json"
  echo "### $rows rows (CSV $(du -h "$work/synthetic.csv" | cut -f1), Parquet $(du -h "$work/synthetic.parquet" | cut -f1))"
  before=()
  [ -z "${BEFORE_BIN:-}" ] || before=("before-parquet=$BEFORE_BIN run --config $work/parquet.json --data $work/synthetic.parquet --output $work/before")
  "$PY" "$ROOT/scripts/bench_time.py" 1 \
    "parquet=$OPENCLARIFY run --config $work/parquet.json --data $work/synthetic.parquet --output $work/parquet" \
    "csv=$OPENCLARIFY run --config $work/synthetic.json --data $work/synthetic.csv --output $work/csv" \
    "${before[@]}"
  "$PY" -c 'import json, sys
a, b = (json.load(open(f))["pre_training_bias_metrics"] for f in sys.argv[1:])
print("same pre-training metrics as the CSV run" if a == b else "DIFFERENT pre-training metrics from the CSV run")
sys.exit(a != b)' "$work/parquet/analysis.json" "$work/csv/analysis.json"
done
