#!/usr/bin/env bash
# Kernel SHAP against shap.KernelExplainer, side by side in one run: German
# credit (200 rows, a baseline of 10 k-means centres, an xgboost model over
# HTTP) at num_samples 64, 256 and the exact cap (510 for 9 features), with
# wall time, model rows and mean/max error against exact Shapley values for
# both sides, and the error ratio (target <= 0.5 below the cap, issue 19).
# See scripts/bench_shap.py.
# Usage: scripts/bench-shap.sh [ROWS]   (default 200)
source "$(dirname "$0")/lib.sh"
rows=${1:-200}
build_release
python=$(reference_python)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$python" "$ROOT/scripts/bench_shap.py" --openclarify "$OPENCLARIFY" --german "$SHARED/data/german.csv" \
  --work "$work" --rows "$rows"
