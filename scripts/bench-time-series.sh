#!/usr/bin/env bash
# Time-series explanation speed: `openclarify run` with fine_grained
# asymmetric Shapley values (num_samples 20) on ITEMS items x 48 steps x 3
# related series (the last 8 steps are the forecast horizon) against the demo
# forecaster (demo-model --forecast linear) on this machine.
# Prints items explained per second, model calls (forecast records) per item,
# the client's CPU time per item, and the endpoint's utilisation: the demo
# forecaster's CPU time over the job's wall time (1.0 = one core busy all the
# time; client and model share this machine's cores).
# Usage: scripts/bench-time-series.sh [ITEMS]   (default 1000)
source "$(dirname "$0")/lib.sh"
items=${1:-1000}
build_release
work=$(mktemp -d)
port=$((20000 + RANDOM % 20000))
"$OPENCLARIFY" demo-model --forecast linear --host 127.0.0.1 --port "$port" >/dev/null 2>&1 &
model=$!
trap 'kill $model 2>/dev/null; rm -rf "$work"' EXIT
python3 "$ROOT/scripts/gen-forecast-data.py" "$items" 48 8 20 "$work"
until curl -sf "http://127.0.0.1:$port/ping" >/dev/null; do sleep 0.1; done
echo "# $(nproc) cores; load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "## $items items x 48 steps x 3 related series + 1 static covariate, fine_grained, num_samples 20"
ticks=$(getconf CLK_TCK)
model_cpu() { awk -v t="$ticks" '{ print ($14 + $15) / t }' "/proc/$model/stat"; }
before=$(model_cpu)
start=$(date +%s.%N)
/usr/bin/time -f '%U %S %M' -o "$work/time" \
  env OPENCLARIFY_LOG=info "$OPENCLARIFY" run --config "$work/analysis_config.json" \
  --data "$work/forecast.json" --output "$work/out" --endpoint-url "http://127.0.0.1:$port" \
  --failure-file "$work/message" 2>"$work/log"
end=$(date +%s.%N)
after=$(model_cpu)
records=$(grep -o 'forecast records for [0-9]* items' "$work/log" | head -1 || true)
sent=$(grep -o '[0-9]* forecast records' "$work/log" | head -1 | cut -d' ' -f1)
read -r user sys rss_kb <"$work/time"
lines=$(wc -l <"$work/out/asymmetric_shapley_value/fine_grained_chronological/out.jsonl")
awk -v n="$items" -v s="$start" -v e="$end" -v u="$user" -v y="$sys" -v r="$sent" \
    -v mb="$before" -v ma="$after" -v rss="$rss_kb" -v lines="$lines" 'BEGIN {
  wall = e - s
  printf "openclarify: %.1f items/s (%d items in %.2f s wall, %d lines written)\n", n / wall, n, wall, lines
  printf "model calls: %.0f forecast records per item (%d in all)\n", r / n, r
  printf "client: %.2f ms CPU per item (%.2f s user + %.2f s system), peak RSS %.0f MiB\n", 1000 * (u + y) / n, u, y, rss / 1024
  printf "endpoint utilisation: %.2f (demo forecaster CPU %.2f s over %.2f s wall)\n", (ma - mb) / wall, ma - mb, wall
}'
echo "# load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
