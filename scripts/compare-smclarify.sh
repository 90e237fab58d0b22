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
trap 'rm -rf "$work"' EXIT
status=0
compare() { # name config data
  local name=$1 config=$2 data=$3
  "$OPENCLARIFY" run --config "$config" --data "$data" --output "$work/$name" 2>/dev/null
  "$PY" "$SHARED/scripts/smclarify_reference.py" --config "$config" --data "$data" --out "$work/$name.ref.json"
  printf '%-22s ' "$name"
  "$PY" "$ROOT/scripts/compare_analysis.py" "$work/$name/analysis.json" "$work/$name.ref.json" || status=1
}
compare german-demo "$ROOT/test-fixtures/demo/analysis_config.json" "$ROOT/test-fixtures/german.csv"
if [ -f "$ROOT/test-fixtures/sdk-configs/german_pre.json" ]; then
  compare german-sdk "$ROOT/test-fixtures/sdk-configs/german_pre.json" "$ROOT/test-fixtures/german.csv"
fi
compare census "$ROOT/test-fixtures/census/analysis_config.json" "$(census_csv)"
compare census-post "$ROOT/test-fixtures/census/analysis_config_post.json" "$(census_predicted_csv)"
exit $status
