#!/usr/bin/env bash
# Checks the report files with the reference tools, beyond what cargo tests
# can without Python or poppler: the notebooks validate against nbformat's
# schema, and the PDFs parse, hold their text and render to PNG pages.
# Reports checked: the demo's, and the fixture with every section
# (test-fixtures/report/analysis_full.json). Pages are left in the folder
# printed at the end, to look at.
# NBFORMAT_PYTHON may name a Python that has nbformat (default: the
# reference .venv, see scripts/venv.sh).
source "$(dirname "$0")/lib.sh"
command -v pdftotext >/dev/null || apt-get install -y -qq poppler-utils >/dev/null
build_release --example write_report
PY=${NBFORMAT_PYTHON:-$(reference_python)}
work=$(mktemp -d)
"$OPENCLARIFY" demo --output "$work/demo" >/dev/null 2>&1
"$TARGET_DIR/release/examples/write_report" \
  "$ROOT/test-fixtures/report/analysis_full.json" "$work/full" \
  "$ROOT/test-fixtures/report/explanations_shap/out.csv" >/dev/null
check() { # folder, then phrases the PDF must contain
  local dir=$1; shift
  "$PY" -c 'import sys, nbformat; nbformat.validate(nbformat.read(sys.argv[1], as_version=4))' "$dir/report.ipynb"
  pdftotext "$dir/report.pdf" "$dir/report.txt"
  for phrase in "$@"; do
    grep -q "$phrase" "$dir/report.txt" || { echo "$dir/report.pdf lacks: $phrase" >&2; return 1; }
  done
  pdftoppm -r 60 -png "$dir/report.pdf" "$dir/page"
  echo "$dir: notebook valid, PDF has $(ls "$dir"/page-*.png | wc -l) pages"
}
check "$work/demo/output" "How to read this report" "Pre-training bias" "Class Imbalance"
check "$work/full" "Post-training bias" "Disparate Impact" "Feature importance" "Partial dependence" \
  "FlipTest does not support"
echo "pages to look at: $work"
