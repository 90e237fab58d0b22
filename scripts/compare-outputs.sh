#!/usr/bin/env bash
# Behaviour unchanged: runs two openclarify binaries on the same jobs and
# diffs what they write.
#
#   scripts/compare-outputs.sh BEFORE_BIN AFTER_BIN
#
# Jobs: `demo`, then every SDK config in test-fixtures/sdk-configs/ and every
# dataset format in test-fixtures/formats/ on its data, against one demo
# model (started from AFTER_BIN on a free loopback port). For each job,
# analysis.json, explanations_shap/out.csv and explanations_shap/baseline.csv
# must be byte-identical; the reports (.html, .ipynb, and the PDF's text as
# pdftotext -layout extracts it) must be identical once the run's start time
# and duration are masked. (The PDF's bytes cannot be compared: its
# embedded font subset holds the glyphs the date happens to use.) Prints one
# line per job and compared file, and exits 1 on any difference. Needs curl,
# python3 and pdftotext (Debian: poppler-utils).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BEFORE=$(realpath "${1:?usage: compare-outputs.sh BEFORE_BIN AFTER_BIN}")
AFTER=$(realpath "${2:?usage: compare-outputs.sh BEFORE_BIN AFTER_BIN}")
WORK=$(mktemp -d)
MODEL_PID=
cleanup() {
  [ -n "$MODEL_PID" ] && kill "$MODEL_PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$AFTER" demo-model --host 127.0.0.1 --port "$PORT" >"$WORK/model.log" 2>&1 &
MODEL_PID=$!
for _ in $(seq 100); do
  curl -sf "http://127.0.0.1:$PORT/ping" >/dev/null 2>&1 && break
  sleep 0.1
done
URL="http://127.0.0.1:$PORT"

FAILED=0
# Masks the run's start time and duration in a report's text.
mask() {
  sed -E 's/[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2} UTC/<STARTED>/g; s/[0-9]+\.[0-9] s\b/<ELAPSED>/g' "$1"
}

# Compares the outputs of one job in $1 (before) and $2 (after).
compare() {
  local name=$1 b=$2 a=$3 f
  for f in analysis.json explanations_shap/out.csv explanations_shap/baseline.csv; do
    if [ -e "$b/$f" ] || [ -e "$a/$f" ]; then
      if cmp -s "$b/$f" "$a/$f"; then
        echo "  same  $name $f"
      else
        echo "  DIFF  $name $f"; FAILED=1
        diff <(head -c 20000 "$b/$f") <(head -c 20000 "$a/$f") | head -20 || true
      fi
    fi
  done
  for f in $(cd "$b" && ls *.html *.ipynb 2>/dev/null); do
    if diff -q <(mask "$b/$f") <(mask "$a/$f") >/dev/null; then
      echo "  same  $name $f (start time and duration masked)"
    else
      echo "  DIFF  $name $f"; FAILED=1
      diff <(mask "$b/$f") <(mask "$a/$f") | head -20 || true
    fi
  done
  for f in $(cd "$b" && ls *.pdf 2>/dev/null); do
    pdftotext -layout "$b/$f" "$WORK/before.txt"
    pdftotext -layout "$a/$f" "$WORK/after.txt"
    if diff -q <(mask "$WORK/before.txt") <(mask "$WORK/after.txt") >/dev/null; then
      echo "  same  $name $f (text, start time and duration masked; $(wc -l <"$WORK/after.txt") lines)"
    else
      echo "  DIFF  $name $f"; FAILED=1
      diff <(mask "$WORK/before.txt") <(mask "$WORK/after.txt") | head -20 || true
    fi
  done
}

# Runs `run` with both binaries: $1 name, $2 config, $3 data.
job() {
  local name=$1 config=$2 data=$3 side
  for side in before after; do
    local bin=$BEFORE
    [ "$side" = after ] && bin=$AFTER
    mkdir -p "$WORK/$name/$side"
    if ! "$bin" run --config "$config" --data "$data" --output "$WORK/$name/$side" \
      --endpoint-url "$URL" >"$WORK/$name/$side.log" 2>&1; then
      echo "  FAIL  $name: the $side binary failed: $(tail -1 "$WORK/$name/$side.log")"; FAILED=1
    fi
  done
  compare "$name" "$WORK/$name/before" "$WORK/$name/after"
}

echo "== demo"
# The same relative folder for both, since the reports name the dataset path.
mkdir -p "$WORK/demo-before" "$WORK/demo-after"
(cd "$WORK/demo-before" && "$BEFORE" demo --output demo >/dev/null 2>demo.log)
(cd "$WORK/demo-after" && "$AFTER" demo --output demo >/dev/null 2>demo.log)
compare demo "$WORK/demo-before/demo/output" "$WORK/demo-after/demo/output"

echo "== SDK configs (test-fixtures/sdk-configs/, on german.csv)"
for config in "$ROOT"/test-fixtures/sdk-configs/*.json; do
  job "sdk-$(basename "$config" .json)" "$config" "$ROOT/test-fixtures/german.csv"
done

echo "== dataset formats (test-fixtures/formats/)"
for dir in "$ROOT"/test-fixtures/formats/*/; do
  job "format-$(basename "$dir")" "$dir/analysis_config.json" "$dir/data"
done

if [ "$FAILED" = 0 ]; then
  echo "compare-outputs: every output identical"
else
  echo "compare-outputs: DIFFERENCES (above)"
fi
exit "$FAILED"
