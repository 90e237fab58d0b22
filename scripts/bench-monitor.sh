#!/usr/bin/env bash
# Monitoring speed: `openclarify monitor` vs a pandas + smclarify reference
# (scripts/monitor_reference.py) on synthetic merged data capture (events of
# 4 CSV records with ground truth, what a Model Monitor Clarify job reads):
# whole-process wall time, records per second and peak RSS at RECORDS, the
# ratio of the two, then openclarify alone at 2x and 4x RECORDS to show its
# memory stays flat as records grow.
# Target: >= 20x the reference's speed; peak RSS flat in records.
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
# The fields of bench_time.py's table row for NAME: best wall time (s), peak
# RSS (MiB) and the best run's CPU time (s).
row() { # NAME < table
  awk -F'|' -v n=" $1 " '$2 == n { gsub(/ /, ""); print $3, $4, $6 }'
}
echo "# $(nproc) cores; load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
"$PY" "$ROOT/scripts/gen-capture.py" "$records" "$work/a"
echo "## $records captured records ($(du -sh "$work/a/capture" | cut -f1))"
"$PY" "$ROOT/scripts/bench_time.py" 3 "openclarify=$(monitor "$work/a")" | tee "$work/ours"
"$PY" "$ROOT/scripts/bench_time.py" 1 \
  "pandas+smclarify=$PY $ROOT/scripts/monitor_reference.py $work/a/monitor_config.json $work/a/capture $work/a/ref.json" |
  tee "$work/theirs"
read -r ours_s ours_mib ours_cpu < <(row openclarify <"$work/ours")
read -r ref_s ref_mib ref_cpu < <(row pandas+smclarify <"$work/theirs")
awk -v n="$records" -v a="$ours_s" -v am="$ours_mib" -v ac="$ours_cpu" \
    -v b="$ref_s" -v bm="$ref_mib" -v bc="$ref_cpu" 'BEGIN {
  printf "openclarify:      %.0f records/s, peak RSS %s MiB (best of 3: %.2f s wall, %.2f s CPU)\n", n / a, am, a, ac
  printf "pandas+smclarify: %.0f records/s, peak RSS %s MiB (%.2f s wall, %.2f s CPU)\n", n / b, bm, b, bc
  printf "ratio: openclarify is %.1fx the reference'"'"'s speed in wall time (target >= 20x), %.1fx in CPU time\n", b / a, bc / ac
}'
echo "# load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "## peak RSS as records grow (openclarify)"
echo "$records records: peak RSS $ours_mib MiB"
for n in $((2 * records)) $((4 * records)); do
  rm -rf "$work/a" "$work/b"
  "$PY" "$ROOT/scripts/gen-capture.py" "$n" "$work/b"
  read -r s mib _ < <("$PY" "$ROOT/scripts/bench_time.py" 1 "openclarify=$(monitor "$work/b")" | row openclarify)
  awk -v n="$n" -v s="$s" -v m="$mib" 'BEGIN { printf "%d records: peak RSS %s MiB (%.2f s, %.0f records/s)\n", n, m, s, n / s }'
done
