# A Spark standalone cluster on loopback for the driver's tests and benchmark;
# source it after scripts/lib.sh, don't run it.
#   spark_setup                 the .venv-spark with pyspark (and Java 17 when missing)
#   spark_cluster_start N       a master and N workers (1 core, 1g each); sets SPARK_MASTER
#   spark_cluster_stop          stops them (call it from an EXIT trap)
#   spark_scripts_setup PORT    binary, pyspark, $work, the demo model at $MODEL_URL, EXIT trap
#   spark_submit ARGS...        spark-submit to that master with small memory settings
#                               ($SPARK_SUBMIT holds the same as one command line)
# SPARK_MASTER_PORT (default 17077) picks the master's port.

SPARK_VENV=$ROOT/.venv-spark
SPARK_CLUSTER_DIR=
SPARK_CLUSTER_PIDS=()

spark_setup() {
  if ! command -v java >/dev/null 2>&1; then
    echo "installing Java 17 (Spark needs it)" >&2
    apt-get update -qq >&2 && apt-get install -y -qq openjdk-17-jre-headless >&2
  fi
  bash "$ROOT/scripts/venv.sh" "$ROOT/scripts/spark/requirements.txt" "$SPARK_VENV" >&2
  SPARK_HOME=$("$SPARK_VENV/bin/python" -c 'import os, pyspark; print(os.path.dirname(pyspark.__file__))')
  export SPARK_HOME SPARK_LOCAL_IP=127.0.0.1 PYSPARK_PYTHON=$SPARK_VENV/bin/python
  export PYSPARK_DRIVER_PYTHON=$SPARK_VENV/bin/python
  # Spark's own logs (one INFO line per task) go to files, not the terminal.
  export SPARK_CONF_DIR=$ROOT/scripts/spark/conf
}

# Starts a master and $1 workers in the background and waits until every
# worker has registered; prints how long that took.
spark_cluster_start() {
  local workers=$1 port=${SPARK_MASTER_PORT:-17077} started=$SECONDS i
  SPARK_CLUSTER_DIR=$(mktemp -d)
  SPARK_MASTER=spark://127.0.0.1:$port
  "$SPARK_HOME/bin/spark-class" org.apache.spark.deploy.master.Master \
    --host 127.0.0.1 --port "$port" --webui-port 0 > "$SPARK_CLUSTER_DIR/master.log" 2>&1 &
  SPARK_CLUSTER_PIDS+=($!)
  for i in $(seq "$workers"); do
    "$SPARK_HOME/bin/spark-class" org.apache.spark.deploy.worker.Worker \
      --host 127.0.0.1 --cores 1 --memory 1g --webui-port 0 --work-dir "$SPARK_CLUSTER_DIR/worker-$i" \
      "$SPARK_MASTER" > "$SPARK_CLUSTER_DIR/worker-$i.log" 2>&1 &
    SPARK_CLUSTER_PIDS+=($!)
  done
  for _ in $(seq 600); do
    [ "$(grep -c 'Registering worker' "$SPARK_CLUSTER_DIR/master.log" 2>/dev/null)" = "$workers" ] && break
    sleep 0.1
  done
  if [ "$(grep -c 'Registering worker' "$SPARK_CLUSTER_DIR/master.log")" != "$workers" ]; then
    echo "Spark cluster did not come up in 60s; logs:" >&2
    tail -n 20 "$SPARK_CLUSTER_DIR"/*.log >&2
    return 1
  fi
  # 1 core and 1g per executor, a small driver, no web UI.
  SPARK_SUBMIT="$SPARK_HOME/bin/spark-submit --master $SPARK_MASTER --driver-memory 1g --executor-memory 1g --executor-cores 1 --conf spark.ui.enabled=false"
  echo "spark cluster: master $SPARK_MASTER and $workers worker(s) up in $((SECONDS - started))s"
}

spark_cluster_stop() {
  local pid
  for pid in "${SPARK_CLUSTER_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${SPARK_CLUSTER_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  SPARK_CLUSTER_PIDS=()
  [ -n "$SPARK_CLUSTER_DIR" ] && rm -rf "$SPARK_CLUSTER_DIR"
  SPARK_CLUSTER_DIR=
}

# spark-submit to the cluster (a Python driver's stdout and stderr both come out on
# its stdout); extra spark-submit options (e.g.
# --total-executor-cores 1) may come first.
spark_submit() {
  # shellcheck disable=SC2086 # one option per word
  $SPARK_SUBMIT "$@"
}

# What the Spark scripts share: the release binary, pyspark, a scratch folder
# $work, the demo model on 127.0.0.1:$1 at $MODEL_URL, and an EXIT trap that
# stops the cluster and the model and removes $work.
spark_scripts_setup() {
  build_release
  spark_setup
  work=$(mktemp -d)
  MODEL_URL=http://127.0.0.1:$1
  "$OPENCLARIFY" demo-model --port "$1" --host 127.0.0.1 2>/dev/null &
  model_pid=$!
  trap 'spark_cluster_stop; kill $model_pid 2>/dev/null; rm -rf "$work"' EXIT
  for _ in $(seq 50); do curl -sf "$MODEL_URL/ping" >/dev/null && break; sleep 0.1; done
}
