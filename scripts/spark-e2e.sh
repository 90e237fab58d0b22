#!/usr/bin/env bash
# The Spark driver (scripts/spark/openclarify_spark.py) on a real Spark
# standalone cluster on loopback: a master and two workers (1 core, 1g each),
# from the pinned pyspark package. Each case runs `openclarify run` and the
# driver (`plan` on the driver, `partial` per partition on the executors,
# `merge`) on the same data and checks the merged analysis.json equals the
# single-process one (bit for bit, else every number to 1e-9), and the SHAP
# out.csv too. Cases: German credit with the demo model over HTTP (bias, SHAP,
# PDP, report; cut into 5 partitions), census-income (200k rows, pre-training
# and post-training with a predicted column) and a synthetic 3M-row file; then
# a dataset with a broken row and a model that cannot be reached, which must
# each fail in one sentence.
# Usage: scripts/spark-e2e.sh   (SPARK_E2E_ROWS sets the synthetic size)
source "$(dirname "$0")/lib.sh"
source "$ROOT/scripts/spark/cluster.sh"
started=$SECONDS
spark_scripts_setup "${MODEL_PORT:-18091}"
passed=0 failed=0
pass() { echo "PASS $*"; passed=$((passed + 1)); }
fail() { echo "FAIL $*"; failed=$((failed + 1)); }

echo "== driver unit tests (partitioning, offsets, file order; local Spark)"
if "$SPARK_VENV/bin/python" "$ROOT/scripts/spark/test_openclarify_spark.py" 2> "$work/unit.log"; then
  pass "unit tests: $(grep '^Ran' "$work/unit.log")"
else
  cat "$work/unit.log"; fail "unit tests"
fi

echo "== cluster"
spark_cluster_start 2

# Runs a case both ways and compares the outputs. Extra arguments go to the driver.
compare() { # name config data [driver args...]
  local name=$1 config=$2 data=$3 t
  shift 3
  t=$SECONDS
  "$OPENCLARIFY" run --config "$config" --data "$data" --output "$work/$name.run" \
    --endpoint-url "$MODEL_URL" 2> "$work/$name.run.log" \
    || { cat "$work/$name.run.log"; fail "$name: openclarify run failed"; return; }
  local single=$((SECONDS - t))
  t=$SECONDS
  if ! spark_submit "$ROOT/scripts/spark/openclarify_spark.py" --binary "$OPENCLARIFY" \
    --config "$config" --data "$data" --output "$work/$name.spark" \
    --endpoint-url "$MODEL_URL" "$@" > "$work/$name.spark.log" 2>&1; then
    tail -n 20 "$work/$name.spark.log"; fail "$name: the Spark driver failed"; return
  fi
  local spark=$((SECONDS - t)) verdict
  grep '^openclarify-spark:' "$work/$name.spark.log" | sed 's/^/    /' || true
  if cmp -s "$work/$name.run/analysis.json" "$work/$name.spark/analysis.json"; then
    verdict="analysis.json identical"
  elif verdict=$(python3 "$ROOT/scripts/compare_analysis.py" "$work/$name.spark/analysis.json" "$work/$name.run/analysis.json" --all); then
    verdict="analysis.json equal to 1e-9 ($verdict)"
  else
    echo "$verdict"; fail "$name: merged analysis.json differs from openclarify run"; return
  fi
  local shap=explanations_shap/out.csv
  if [ -f "$work/$name.run/$shap" ]; then
    if cmp -s "$work/$name.run/$shap" "$work/$name.spark/$shap"; then
      verdict+=", $shap identical"
    else
      diff "$work/$name.run/$shap" "$work/$name.spark/$shap" | head -5 || true; fail "$name: $shap differs"; return
    fi
  fi
  pass "$name: $verdict (run ${single}s, spark-submit ${spark}s)"
}

echo "== cases"
german=$work/german && mkdir -p "$german" && cp "$ROOT/test-fixtures/german.csv" "$german/"
compare german-demo "$ROOT/test-fixtures/demo/analysis_config.json" "$german/german.csv" --partitions 5
compare census "$ROOT/test-fixtures/census/analysis_config.json" "$(census_csv)" --partitions 4
compare census-post "$ROOT/test-fixtures/census/analysis_config_post.json" "$(census_predicted_csv)" --partitions 4
synthetic_bias_data "${SPARK_E2E_ROWS:-3000000}" "$work"
compare "synthetic-${SPARK_E2E_ROWS:-3000000}" "$work/synthetic.json" "$work/synthetic.csv" --partitions 4

# Runs the driver on a job that must fail; passes when the failure file holds
# one ClientError sentence matching the pattern.
expect_failure() { # name pattern data endpoint
  local name=$1 pattern=$2 data=$3 endpoint=$4
  if spark_submit "$ROOT/scripts/spark/openclarify_spark.py" --binary "$OPENCLARIFY" \
    --config "$ROOT/test-fixtures/demo/analysis_config.json" --data "$data" --output "$work/$name" \
    --endpoint-url "$endpoint" --failure-file "$work/$name.message" > "$work/$name.log" 2>&1; then
    fail "$name: the driver succeeded"
  elif grep -q "^ClientError: .*$pattern" "$work/$name.message" 2>/dev/null; then
    pass "$name: $(cat "$work/$name.message")"
  else
    tail -n 5 "$work/$name.log"; fail "$name: no one-sentence reason matching '$pattern'"
  fi
}

echo "== failures end the job in one sentence"
sed '700s/,[^,]*$//' "$german/german.csv" > "$german/broken.csv"
expect_failure broken-row "line 700 has 9 fields" "$german/broken.csv" "$MODEL_URL"
# Nothing listens on port 9 (discard): the partials, which call the model, fail.
expect_failure no-model "Cannot reach the model at" "$german/german.csv" "http://127.0.0.1:9"

echo
echo "spark-e2e took $((SECONDS - started))s"
echo "spark-e2e: $passed passed, $failed failed"
[ "$failed" = 0 ]
