#!/usr/bin/env bash
# Model-call throughput: predictions per second that `openclarify run` gets
# from the demo model with 1, 4 and 16 requests in flight, next to the demo
# model's own capacity measured by wrk posting the same 1000-record batch
# body with as many connections, and the ratio (target: >= 90%).
# The job is post-training bias (DPPL) over german credit repeated to ROWS
# rows, so nearly all of its time is model calls. Two models: the demo model
# as is (about 0.5 microseconds per prediction, so the client's own CPU
# competes with it on the same cores), and the same model answering after
# 20 ms, as a real endpoint's latency would (then concurrency is what counts).
# Usage: scripts/bench-predictor.sh [ROWS]   (default 200000)
source "$(dirname "$0")/lib.sh"
rows=${1:-200000}
command -v wrk >/dev/null || { echo "installing wrk (Debian)" >&2; apt-get install -y -qq wrk >/dev/null; }
build_release
work=$(mktemp -d)
port=${MODEL_PORT:-18191}
model_pid=
trap 'kill $model_pid 2>/dev/null; rm -rf "$work"' EXIT
start_model() { # extra demo-model flags
  [ -z "$model_pid" ] || kill "$model_pid"
  "$OPENCLARIFY" demo-model --host 127.0.0.1 --port "$port" "$@" 2>/dev/null &
  model_pid=$!
  for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/ping" >/dev/null && return; sleep 0.1; done
}

german=$ROOT/test-fixtures/german.csv
{ head -1 "$german"; for _ in $(seq $(( (rows + 999) / 1000 ))); do tail -n +2 "$german"; done | head -n "$rows"; } > "$work/data.csv"
# The body openclarify sends for 1000 records: features only, no label.
tail -n +2 "$german" | cut -d, -f2- > "$work/batch.csv"
cat > "$work/post.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "text/csv"
wrk.headers["Accept"] = "text/csv"
wrk.body = io.open("$work/batch.csv"):read("*a")
LUA
cat > "$work/config.json" <<'JSON'
{"dataset_type": "text/csv", "label": "risk", "label_values_or_threshold": [1],
 "facet": [{"name_or_index": "sex", "value_or_threshold": ["female"]}],
 "methods": {"post_training_bias": {"methods": ["DPPL"]}},
 "predictor": {"endpoint_name": "demo", "content_type": "text/csv", "accept_type": "text/csv"}}
JSON

measure() { # title, demo-model flags...
  local title=$1; shift
  start_model "$@"
  echo "## $title: $rows rows, batches of 1000 records"
  echo "| in flight | openclarify (pred/s) | wrk capacity (pred/s) | ratio |"
  echo "|---|---|---|---|"
  for n in 1 4 16; do
    capacity=$(wrk -t1 -c"$n" -d5s -s "$work/post.lua" "http://127.0.0.1:$port/invocations" |
      awk '/Requests\/sec/ { printf "%.0f", $2 * 1000 }')
    start=$(date +%s.%N)
    "$OPENCLARIFY" run --config "$work/config.json" --data "$work/data.csv" --output "$work/out" \
      --endpoint-url "http://127.0.0.1:$port" --concurrency "$n" 2>/dev/null
    seconds=$(echo "$(date +%s.%N) - $start" | bc -l)
    ours=$(echo "$rows / $seconds" | bc -l)
    printf '| %s | %.0f | %s | %.2f |\n' "$n" "$ours" "$capacity" "$(echo "$ours / $capacity" | bc -l)"
  done
  echo
}
measure "demo model"
measure "demo model with 20 ms latency" --delay-ms 20
