#!/usr/bin/env bash
# Runs openclarify's Kernel SHAP and shap 0.46's KernelExplainer against the
# same HTTP model (demo-model --synthetic 6, a logistic regression) with the
# same baseline and rows, every coalition enumerated, and diffs local values
# and expected values (scripts/compare_shap.py). Cases: a 3-row baseline with
# identity and logit links, where the values are not a closed form, and some
# rows sharing a feature value with every baseline row (shap drops that
# feature; so must openclarify).
source "$(dirname "$0")/lib.sh"
build_release
# The reference Python is used as it is: scripts/venv.sh would reinstall
# into .venv, which may be shared with another checkout.
PY=$ROOT/.venv/bin/python
"$PY" -c 'import shap' 2>/dev/null || { echo "needs $PY with shap 0.46 (run scripts/venv.sh)" >&2; exit 2; }
work=$(mktemp -d)
MODEL_PORT=${MODEL_PORT:-18089}
"$OPENCLARIFY" demo-model --synthetic 6 --port "$MODEL_PORT" --host 127.0.0.1 2>/dev/null &
model_pid=$!
trap 'kill $model_pid 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$MODEL_PORT/ping" >/dev/null && break; sleep 0.1; done

# 40 rows of 6 features in [-2, 2]; feature_2 equals 0.5 (the baseline's
# value in every row) on every third row.
"$PY" - "$work/rows.csv" <<'EOF'
import sys
import numpy as np
rng = np.random.default_rng(7)
rows = rng.uniform(-2, 2, size=(40, 6)).round(3)
rows[::3, 2] = 0.5
with open(sys.argv[1], "w") as fh:
    fh.write(",".join(f"feature_{i}" for i in range(6)) + "\n")
    for r in rows:
        fh.write(",".join(repr(float(v)) for v in r) + "\n")
EOF

status=0
for use_logit in false true; do
  config=$work/config-$use_logit.json
  cat > "$config" <<EOF
{"dataset_type": "text/csv",
 "headers": ["feature_0", "feature_1", "feature_2", "feature_3", "feature_4", "feature_5"],
 "methods": {"shap": {"baseline": [[0.1, -0.4, 0.5, 1.2, -1.0, 0.3],
                                   [-1.5, 0.8, 0.5, -0.2, 0.6, -0.9],
                                   [0.7, 1.1, 0.5, 0.0, -0.3, 1.4]],
                      "use_logit": $use_logit, "save_local_shap_values": true, "seed": 1}},
 "predictor": {"endpoint_name": "synthetic", "content_type": "text/csv", "accept_type": "text/csv"}}
EOF
  "$OPENCLARIFY" run --config "$config" --data "$work/rows.csv" --output "$work/out-$use_logit" \
    --failure-file "$work/message" --endpoint-url "http://127.0.0.1:$MODEL_PORT" 2>/dev/null
  printf 'use_logit=%-5s ' "$use_logit"
  "$PY" "$ROOT/scripts/compare_shap.py" --url "http://127.0.0.1:$MODEL_PORT" --config "$config" \
    --data "$work/rows.csv" --out "$work/out-$use_logit" || status=1
done
exit $status
