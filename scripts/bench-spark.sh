#!/usr/bin/env bash
# Wall time of one job three ways on the same data: the single-process binary
# (`openclarify run`, best of 3), and the Spark driver on a loopback standalone
# cluster (scripts/spark/cluster.sh: two workers, 1 core and 1g each) with 1
# and with 2 executors. For Spark it prints the whole spark-submit (JVMs,
# executors, Python workers) and, in brackets, the job itself as the driver
# times it (plan + count + partials + merge). Cases: pre-training bias on a
# synthetic file of ROWS rows and on census-income (200k rows), and German
# credit repeated to 4000 rows with the demo config (bias, SHAP, PDP against
# the demo model over HTTP, 4 requests in flight in all).
# Usage: scripts/bench-spark.sh [ROWS]   (default 3000000)
source "$(dirname "$0")/lib.sh"
source "$ROOT/scripts/spark/cluster.sh"
rows=${1:-3000000}
spark_scripts_setup "${MODEL_PORT:-18093}"
spark_cluster_start 2

# Seconds since $1 (a `date +%s.%N`), one decimal.
since() { python3 -c "import sys, time; print(f'{time.time() - float(sys.argv[1]):.1f}')" "$1"; }

bench() { # name config data
  local name=$1 config=$2 data=$3 best= t s spark=() executors
  for _ in 1 2 3; do
    t=$(date +%s.%N)
    "$OPENCLARIFY" run --config "$config" --data "$data" --output "$work/out" --endpoint-url "$MODEL_URL" 2>/dev/null
    s=$(since "$t")
    best=$(python3 -c "import sys; print(min(float(x) for x in sys.argv[1:] if x))" "$s" "$best")
  done
  for executors in 1 2; do
    t=$(date +%s.%N)
    spark_submit --total-executor-cores "$executors" "$ROOT/scripts/spark/openclarify_spark.py" \
      --binary "$OPENCLARIFY" --config "$config" --data "$data" --output "$work/out" --endpoint-url "$MODEL_URL" \
      --partitions 4 > "$work/spark.log" 2>&1 || { tail -n 20 "$work/spark.log"; exit 1; }
    s=$(since "$t")
    spark+=("$s ($(sed -n 's/^openclarify-spark: wrote .* rows in \([0-9.]*s\)$/\1/p' "$work/spark.log"))")
  done
  printf '| %s | %s | %s | %s |\n' "$name" "$best" "${spark[0]}" "${spark[1]}"
}

echo "| job | single process (s) | Spark, 1 executor: submit (job) s | Spark, 2 executors: submit (job) s |"
echo "|---|---|---|---|"
synthetic_bias_data "$rows" "$work"
bench "pre-training bias, synthetic $rows rows ($(du -h "$work/synthetic.csv" | cut -f1))" "$work/synthetic.json" "$work/synthetic.csv"
bench "pre-training bias, census-income 200k rows" "$ROOT/test-fixtures/census/analysis_config.json" "$(census_csv)"
german=$ROOT/test-fixtures/german.csv
{ head -1 "$german"; for _ in 1 2 3 4; do tail -n +2 "$german"; done; } > "$work/german4000.csv"
bench "German credit x4 (4000 rows): bias, SHAP, PDP, demo model over HTTP" "$ROOT/test-fixtures/demo/analysis_config.json" "$work/german4000.csv"
