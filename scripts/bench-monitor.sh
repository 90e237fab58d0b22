#!/usr/bin/env bash
# Monitoring speed: `openclarify monitor` vs a pandas + smclarify reference
# (scripts/monitor_reference.py) on synthetic merged data capture (events of
# 4 CSV records with ground truth, what a Model Monitor Clarify job reads):
# whole-process wall time, records per second and peak RSS at 1M records,
# then openclarify alone at 1M, 2M and 4M records to show memory stays flat.
# Target: >= 20x the reference's speed.
# Usage: scripts/bench-monitor.sh [RECORDS]   (default 1000000)
source "$(dirname "$0")/lib.sh"
records=${1:-1000000}
build_release
PY=$(reference_python)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
monitor() { # dir
  echo "$OPENCLARIFY monitor --config $1/monitor_config.json --captured $1/capture --output $1/out"
}
"$PY" "$ROOT/scripts/gen-capture.py" "$records" "$work/a"
echo "## $records captured records ($(du -sh "$work/a/capture" | cut -f1))"
"$PY" "$ROOT/scripts/bench_time.py" 1 \
  "openclarify=$(monitor "$work/a")" \
  "pandas+smclarify=$PY $ROOT/scripts/monitor_reference.py $work/a/monitor_config.json $work/a/capture $work/a/ref.json"
"$PY" "$ROOT/scripts/bench_time.py" 3 "openclarify=$(monitor "$work/a")" | tail -1 |
  awk -F'|' -v n="$records" '{ printf "openclarify: %.0f records/s\n", n / $3 }'
echo
echo "## memory as records grow (openclarify)"
for n in 1000000 2000000 4000000; do
  rm -rf "$work/b"
  "$PY" "$ROOT/scripts/gen-capture.py" "$n" "$work/b"
  echo "### $n records"
  "$PY" "$ROOT/scripts/bench_time.py" 1 "openclarify=$(monitor "$work/b")" | tail -1
done
