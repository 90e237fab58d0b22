#!/usr/bin/env bash
# Opens the reports in a real browser, as a reader would: report.html of the
# demo, of a many-facet job (every value of `purpose` and `housing` on
# german, pre- and post-training bias) and of a multiclass job (a toy model
# with three class probabilities; SHAP and PDP) in headless Chromium at
# 1400 px and at 390 px with device-metrics emulation, asserting no
# horizontal overflow, no table cell wider than its column, chart text
# >= 11 px on the phone, every section present and no console errors; it
# prints each report.html to PDF (`chromium --headless --print-to-pdf`) and
# asserts the last page is not the footer alone. It also validates and executes each
# report.ipynb (same charts and tables before and after) and renders each
# report.pdf with pdftoppm/pdftotext (scripts/check_reports_browser.py).
# Installs Debian's `chromium` and `poppler-utils` when missing, and the
# pinned scripts/requirements-reports.txt into .venv/reports (git-ignored,
# apart from the reference tools' .venv so neither changes the other's pins).
# Screenshots (CI artifacts) go to target/report-browser/ (git-ignored).
source "$(dirname "$0")/lib.sh"
if ! command -v chromium >/dev/null || ! command -v pdftoppm >/dev/null; then
  apt-get update -qq && apt-get install -y -qq chromium poppler-utils >/dev/null
fi
VENV=$ROOT/.venv/reports
STAMP=$VENV/.requirements
if ! { [ -f "$STAMP" ] && cmp -s "$ROOT/scripts/requirements-reports.txt" "$STAMP"; }; then
  [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$ROOT/scripts/requirements-reports.txt"
  cp "$ROOT/scripts/requirements-reports.txt" "$STAMP"
fi
"$VENV/bin/python" -m ipykernel install --user --name python3 >/dev/null
build_release
SHOTS=$ROOT/target/report-browser
rm -rf "$SHOTS"
work=$(mktemp -d)
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT
free_port() { "$VENV/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; return 1; }

"$OPENCLARIFY" demo --output "$work/demo" >/dev/null

german_config() { # methods JSON, predictor JSON, facets JSON -> config on stdout
  "$VENV/bin/python" - "$ROOT/test-fixtures/demo/analysis_config.json" "$@" <<'PY'
import json, sys
config = json.load(open(sys.argv[1]))
config["methods"] = json.loads(sys.argv[2])
config["predictor"] = json.loads(sys.argv[3])
config["facet"] = json.loads(sys.argv[4])
config.pop("group_variable")
print(json.dumps(config))
PY
}
port=$(free_port)
"$OPENCLARIFY" demo-model --port "$port" >/dev/null 2>&1 & pids+=($!)
wait_port "$port"
mkdir -p "$work/manyfacets"
german_config '{"pre_training_bias": {"methods": "all"}, "post_training_bias": {"methods": "all"}, "report": {"name": "report", "title": "Many facets"}}' \
  '{"endpoint_name": "demo", "content_type": "text/csv", "accept_type": "text/csv"}' \
  '[{"name_or_index": "purpose"}, {"name_or_index": "housing"}]' > "$work/manyfacets.json"
"$OPENCLARIFY" run --config "$work/manyfacets.json" --data "$ROOT/test-fixtures/german.csv" \
  --output "$work/manyfacets" --endpoint-url "http://127.0.0.1:$port" 2>"$work/manyfacets.log"

port=$(free_port)
"$VENV/bin/python" "$ROOT/scripts/multiclass_model.py" "$port" & pids+=($!)
wait_port "$port"
mkdir -p "$work/multiclass"
german_config '{"shap": {"baseline": [["male", 2, "own", "little", "little", 2320, 18, "car", 33]], "num_samples": 60, "agg_method": "mean_abs", "seed": 1, "save_local_shap_values": true}, "pdp": {"grid_resolution": 8, "features": ["credit_amount", "duration", "purpose"]}, "report": {"name": "report", "title": "Multiclass"}}' \
  '{"endpoint_name": "toy", "content_type": "text/csv", "accept_type": "text/csv", "label_headers": ["low risk", "medium risk", "high risk"]}' \
  '[]' > "$work/multiclass.json"
"$OPENCLARIFY" run --config "$work/multiclass.json" --data "$ROOT/test-fixtures/german.csv" \
  --output "$work/multiclass" --endpoint-url "http://127.0.0.1:$port" 2>"$work/multiclass.log"

bias=findings,groups,model-performance,pre-training-bias,post-training-bias
"$VENV/bin/python" "$ROOT/scripts/check_reports_browser.py" "$SHOTS" \
  "demo=$work/demo/output:$bias,feature-importance,partial-dependence,configuration,guide" \
  "manyfacets=$work/manyfacets:$bias,configuration,guide" \
  "multiclass=$work/multiclass:feature-importance,partial-dependence,configuration,guide"
rm -rf "$work"
