#!/usr/bin/env bash
# Text explanations: records explained per second for 1,000 generated
# reviews of about 40 tokens at num_samples 500 against the demo's review
# model over HTTP (`demo-model --reviews`), side by side with
# shap.KernelExplainer over a binary unit mask calling the same HTTP model,
# and the ratio (target >= 10x). Accuracy: both at 500 samples against a
# high-budget shap.KernelExplainer run on a sample of rows (probabilities,
# where the model is not additive), and below the cap against enumeration.
# Then the speed again with the model answering after 20 ms per request.
# See scripts/bench_text.py.
# Usage: scripts/bench-text.sh [ROWS] [SHAP_ROWS]   (default 1000 and 100)
source "$(dirname "$0")/lib.sh"
rows=${1:-1000}
shap_rows=${2:-100}
build_release
python=$(reference_python)
work=$(mktemp -d)
port=${MODEL_PORT:-18193}
slow_port=$((port + 1))
delay_ms=20
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; rm -rf "$work"' EXIT
"$OPENCLARIFY" demo-model --reviews --host 127.0.0.1 --port "$port" 2>/dev/null &
pids+=($!)
"$OPENCLARIFY" demo-model --reviews --delay-ms "$delay_ms" --host 127.0.0.1 --port "$slow_port" 2>/dev/null &
pids+=($!)
for p in "$port" "$slow_port"; do
  for _ in $(seq 50); do curl -sf "http://127.0.0.1:$p/ping" >/dev/null && break; sleep 0.1; done
done
"$python" "$ROOT/scripts/bench_text.py" --openclarify "$OPENCLARIFY" --work "$work" \
  --endpoint "http://127.0.0.1:$port" --rows "$rows" --shap-rows "$shap_rows" \
  --slow-endpoint "http://127.0.0.1:$slow_port" --slow-delay-ms "$delay_ms"
