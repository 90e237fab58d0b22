#!/usr/bin/env bash
# Image explanations: images explained per second at 224x224, num_segments 20,
# num_samples 200, against the demo image classifier over HTTP
# (`demo-model --vision classifier`, application/x-npy batches), side by side
# with shap.KernelExplainer over the same SLIC segments (scikit-image's slic,
# which openclarify's matches), the same grey baseline and the same HTTP
# model, and the ratio. See scripts/bench_images.py.
# Usage: scripts/bench-images.sh [IMAGES] [SHAP_IMAGES]   (default 100 and 20)
source "$(dirname "$0")/lib.sh"
images=${1:-100}
shap_images=${2:-20}
build_release
python=$(reference_python)
work=$(mktemp -d)
port=${MODEL_PORT:-18293}
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; rm -rf "$work"' EXIT
"$OPENCLARIFY" demo-model --vision classifier --host 127.0.0.1 --port "$port" 2>/dev/null &
pids+=($!)
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/ping" >/dev/null && break; sleep 0.1; done
"$python" "$ROOT/scripts/bench_images.py" --openclarify "$OPENCLARIFY" --work "$work" \
  --endpoint "http://127.0.0.1:$port" --images "$images" --shap-images "$shap_images"
