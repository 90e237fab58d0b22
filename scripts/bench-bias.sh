#!/usr/bin/env bash
# Pre-training bias speed: openclarify vs the smclarify reference vs a floor
# (examples/csv_floor.rs: read every record with the csv crate, nothing more),
# whole-process wall time, best of several runs, on census-income (200k rows;
# all pre-training metrics, facet sex, group education). Then time and peak
# RSS on synthetic 1M, 3M and 10M-row files, to show memory stays flat.
# Usage: scripts/bench-bias.sh [RUNS]   (default 5; smclarify runs 3 times)
source "$(dirname "$0")/lib.sh"
runs=${1:-5}
build_release --example csv_floor
FLOOR=$TARGET_DIR/release/examples/csv_floor
PY=$(reference_python)
CSV=$(census_csv)
CONFIG=$ROOT/test-fixtures/census/analysis_config.json
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "## census-income, $(wc -l < "$CSV") rows"
"$PY" "$ROOT/scripts/bench_time.py" "$runs" \
  "openclarify=$OPENCLARIFY run --config $CONFIG --data $CSV --output $work/out" \
  "csv-floor=$FLOOR $CSV"
"$PY" "$ROOT/scripts/bench_time.py" 3 \
  "openclarify=$OPENCLARIFY run --config $CONFIG --data $CSV --output $work/out" \
  "smclarify=$PY $SHARED/scripts/smclarify_reference.py --config $CONFIG --data $CSV --out $work/ref.json"

echo
echo "## synthetic rows: time and peak RSS as rows grow"
for rows in 1000000 3000000 10000000; do
  synthetic_bias_data "$rows" "$work"
  echo "### $rows rows ($(du -h "$work/synthetic.csv" | cut -f1))"
  "$PY" "$ROOT/scripts/bench_time.py" 1 \
    "openclarify=$OPENCLARIFY run --config $work/synthetic.json --data $work/synthetic.csv --output $work/out" \
    "csv-floor=$FLOOR $work/synthetic.csv"
done
