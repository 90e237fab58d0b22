#!/usr/bin/env bash
# Runs openclarify and smclarify (shared/scripts/smclarify_reference.py) on the
# same configs and data, and diffs their bias sections (1e-9 relative).
# Cases: the demo config on german credit, the SDK-generated german config,
# census-income (200k rows; fetched on first use), pre-training and with a
# rule-based predicted column for post-training.
source "$(dirname "$0")/lib.sh"
build_release
PY=$(reference_python)
work=$(mktemp -d)
status=0
# The demo model, for configs whose post-training metrics need predictions:
# openclarify saves the predicted labels it got, and smclarify is given them.
MODEL_PORT=${MODEL_PORT:-18087}
"$OPENCLARIFY" demo-model --port "$MODEL_PORT" --host 127.0.0.1 2>/dev/null &
model_pid=$!
trap 'kill $model_pid 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$MODEL_PORT/ping" >/dev/null && break; sleep 0.1; done

compare() { # name config data
  local name=$1 config=$2 data=$3 predicted=()
  "$OPENCLARIFY" run --config "$config" --data "$data" --output "$work/$name" \
    --endpoint-url "http://127.0.0.1:$MODEL_PORT" --save-predictions "$work/$name.predicted.csv" 2>/dev/null
  if [ -s "$work/$name.predicted.csv" ]; then predicted=(--predicted "$work/$name.predicted.csv"); fi
  "$PY" "$SHARED/scripts/smclarify_reference.py" --config "$config" --data "$data" "${predicted[@]}" --out "$work/$name.ref.json"
  printf '%-22s ' "$name"
  "$PY" "$ROOT/scripts/compare_analysis.py" "$work/$name/analysis.json" "$work/$name.ref.json" || status=1
}
compare german-demo "$ROOT/test-fixtures/demo/analysis_config.json" "$ROOT/test-fixtures/german.csv"
compare german-numeric "$ROOT/test-fixtures/german-numeric/analysis_config.json" "$ROOT/test-fixtures/german_numeric.csv"
if [ -f "$ROOT/test-fixtures/sdk-configs/german_pre.json" ]; then
  compare german-sdk "$ROOT/test-fixtures/sdk-configs/german_pre.json" "$ROOT/test-fixtures/german.csv"
fi
compare census "$ROOT/test-fixtures/census/analysis_config.json" "$(census_csv)"
compare census-post "$ROOT/test-fixtures/census/analysis_config_post.json" "$(census_predicted_csv)"
# Monitoring: a captured window's bias against smclarify on its joined table.
printf '%-22s ' monitor-window
if (cd "$ROOT" && SHARED=$SHARED cargo test --release --quiet --test monitor -- --ignored \
      monitored_bias_equals_smclarify >/dev/null 2>&1); then echo MATCH; else echo DIFFER; status=1; fi
exit $status
