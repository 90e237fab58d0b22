#!/usr/bin/env bash
# End-to-end test of the processing image the way SageMaker runs it: no
# arguments, the job's folders mounted at the processing paths.
# Why: the unit and integration tests run the binary on the host; only this
# shows that the FROM-scratch image has what the binary needs at run time
# and that results and failure messages land in the mounted folders, as root
# and as an unprivileged user.
# Checks, on german.csv:
#   1. the demo config's pre-training bias as root: exit 0, analysis.json whose
#      pre_training_bias_metrics equal the host binary's exactly (compared as
#      parsed JSON);
#   2. the same under --user (yours, or 1000:1000 when you are root);
#   3. a broken config: exit 1, no analysis.json, and the failure reason in
#      /opt/ml/output/message;
#   4. a bias-and-explainability config (pre, post, SHAP, PDP, report) with
#      the demo model image running as "model" on a user-defined network and
#      OPENCLARIFY_ENDPOINT_URL=http://model:8080, as root and under --user:
#      pre- and post-training metrics and explanations (SHAP, PDP) equal a
#      host run against a host demo-model, explanations.kernel_shap is there,
#      explanations_shap/out.csv has a row per record, and
#      report.html/.ipynb/.pdf were written;
#   5. `docker stop` on a job waiting on a slow model (the binary is PID 1,
#      which has no default SIGTERM handling): exit 143 well before Docker's
#      10 s SIGKILL, "ClientError: Signal 15 received" in
#      /opt/ml/output/message, and no file at all in the output folder.
#   6. monitoring as Model Monitor runs the image (check_monitoring): no
#      arguments, Model Monitor's environment (dataset_source, output_path,
#      baseline_constraints, start_time, end_time, publish_cloudwatch_metrics,
#      sagemaker_endpoint_name, sagemaker_monitoring_schedule_name), the config
#      at /opt/ml/processing/input/config, captured data at
#      /opt/ml/processing/input/endpoint (the SDK's EndpointInput LocalPath),
#      SHAP through the demo model image; a window without drift (merged data,
#      as the merge job hands it over): exit 0, analysis.json, no
#      constraint_violations.json; a window with injected drift (raw capture
#      plus ground truth): exit 0 and both kinds of violation; CloudWatch
#      records in /opt/ml/output/metrics/cloudwatch for both.
# Needs a Docker engine; builds both images with scripts/build-image.sh.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

"$ROOT/scripts/build-image.sh"
work=$(mktemp -d)
# Names for the model jobs' network and model container, unique per run.
NET=openclarify-e2e-$$
MODEL_CONTAINER=openclarify-e2e-model-$$
host_model_pid=
cleanup() {
  docker rm --force "$MODEL_CONTAINER" >/dev/null 2>&1 || true
  docker network rm "$NET" >/dev/null 2>&1 || true
  [ -z "$host_model_pid" ] || kill "$host_model_pid" 2>/dev/null || true
  rm -rf "$work" 2>/dev/null || echo "note: could not remove $work (files written in a container)" >&2
}
trap cleanup EXIT
# The demo config cut down to pre-training bias: no model needed.
CONFIG=$work/pre_training.json
python3 -c 'import json, sys
config = json.load(open(sys.argv[1]))
config["methods"] = {"pre_training_bias": config["methods"]["pre_training_bias"]}
json.dump(config, open(sys.argv[2], "w"), indent=2)' "$ROOT/test-fixtures/demo/analysis_config.json" "$CONFIG"
DATA=$ROOT/test-fixtures/german.csv
passed=0 failed=0

pass() { printf 'ok   %s\n' "$1"; passed=$((passed + 1)); }
fail() { printf 'FAIL %s\n' "$1"; failed=$((failed + 1)); }

# Lays out one job's mounts under $work/NAME: config/ (gets CONFIG_FILE as
# analysis_config.json), data/ (gets DATA_FILE), out/ and msg/. All are
# world-writable so any --user can write; the image must not need more.
new_job() { # NAME CONFIG_FILE DATA_FILE
  local dir=$work/$1
  mkdir -p "$dir"/{config,data,out,msg}
  cp "$2" "$dir/config/analysis_config.json"
  cp "$3" "$dir/data/"
  chmod -R a+rwX "$dir"
}

# Runs the image on job NAME with no arguments, as SageMaker does; extra
# arguments go to `docker run` (--user, --network, -e ...). Prints the exit code.
run_image() { # NAME [DOCKER_RUN_ARGS...]
  local dir=$work/$1
  shift
  local code=0
  docker run --rm "$@" \
    -v "$dir/config:/opt/ml/processing/input/config:ro" \
    -v "$dir/data:/opt/ml/processing/input/data:ro" \
    -v "$dir/out:/opt/ml/processing/output" \
    -v "$dir/msg:/opt/ml/output" \
    "$IMAGE" >"$dir/stdout" 2>"$dir/stderr" || code=$?
  echo "$code"
}

# Prints the KEYs (space-separated) on which A.json differs from B.json, or
# is missing; nothing when all are equal. A KEY may be dotted (a.b).
differing_sections() { # "KEY..." A.json B.json
  python3 -c 'import json, sys
keys, a, b = sys.argv[1:]
def get(doc, key):
    for part in key.split("."):
        doc = doc.get(part) if isinstance(doc, dict) else None
    return doc
a, b = json.load(open(a)), json.load(open(b))
print(" ".join(k for k in keys.split() if get(a, k) is None or get(a, k) != get(b, k)))' "$@"
}

# Runs the host binary on CONFIG and german.csv into $work/NAME.host once, as
# the reference the image's results must equal. RUN_ARGS go to `openclarify run`.
host_run() { # NAME CONFIG [RUN_ARGS...]
  local name=$1 config=$2
  shift 2
  [ -d "$work/$name.host" ] && return
  "$OPENCLARIFY" run --config "$config" --data "$DATA" --output "$work/$name.host" "$@" 2>"$work/$name.host.stderr" || {
    echo "error: host run $name failed: $(cat "$work/$name.host.stderr")" >&2
    exit 1
  }
}

# Runs the image as job NAME on CONFIG: it must exit 0 with the same SECTIONS
# (space-separated) of analysis.json as the host run HOST. Returns non-zero on
# a failure, so callers can skip checks that depend on a finished job.
check_job() { # NAME CONFIG HOST "SECTIONS..." [DOCKER_RUN_ARGS...]
  local name=$1 config=$2 host=$3 sections=$4
  shift 4
  new_job "$name" "$config" "$DATA"
  local code differing
  code=$(run_image "$name" "$@")
  if [ "$code" != 0 ]; then
    fail "$name: exit $code: $(cat "$work/$name/stderr")"
    return 1
  fi
  differing=$(differing_sections "$sections" "$work/$name/out/analysis.json" "$work/$host.host/analysis.json")
  if [ -n "$differing" ]; then
    fail "$name: $differing missing or different from the host run"
    return 1
  fi
  pass "$name: analysis.json has the host run's $sections"
}

check_failure_message() {
  local name=broken-config want="ClientError: Unable to load analysis configuration as JSON."
  local broken=$work/broken.json
  echo '{"dataset_type": ' >"$broken"
  new_job "$name" "$broken" "$DATA"
  local code message
  code=$(run_image "$name")
  message=$(cat "$work/$name/msg/message" 2>/dev/null || echo "<no message file>")
  if [ "$code" != 1 ]; then
    fail "$name: exit $code, want 1"
  elif [ -e "$work/$name/out/analysis.json" ]; then
    fail "$name: left an analysis.json"
  elif [[ "$message" != "$want"* ]]; then
    fail "$name: /opt/ml/output/message is '$message', want it to start with '$want'"
  else
    pass "$name: exit 1, /opt/ml/output/message: $message"
  fi
}

# --- Model container ----------------------------------------------------
MODEL_CONFIG=$ROOT/test-fixtures/sdk-configs/german_bias_shap.json
MODEL_SECTIONS="pre_training_bias_metrics post_training_bias_metrics explanations"

# The explainability outputs of model job NAME: SHAP in analysis.json, one
# local SHAP row per record in explanations_shap/out.csv, and the reports.
check_explain_outputs() { # NAME
  local out=$work/$1/out problems=() rows want
  # A section is "missing or different" from itself only when it is missing.
  [ -z "$(differing_sections explanations.kernel_shap "$out/analysis.json" "$out/analysis.json")" ] ||
    problems+=("no explanations.kernel_shap")
  want=$(($(wc -l <"$DATA") - 1))
  rows=$(($(wc -l 2>/dev/null <"$out/explanations_shap/out.csv" || echo 1) - 1))
  [ "$rows" = "$want" ] || problems+=("explanations_shap/out.csv has $rows rows, want $want")
  for report in report.html report.ipynb report.pdf; do
    [ -s "$out/$report" ] || problems+=("no $report")
  done
  if [ ${#problems[@]} -gt 0 ]; then
    fail "$1: $(IFS=';'; echo "${problems[*]}")"
  else
    pass "$1: explanations.kernel_shap, explanations_shap/out.csv ($rows rows), report.html/.ipynb/.pdf"
  fi
}

# The reference: the host binary against a host demo-model on a free port.
host_model_run() {
  local port
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  "$OPENCLARIFY" demo-model --host 127.0.0.1 --port "$port" 2>"$work/host-model.stderr" &
  host_model_pid=$!
  # The client retries refused connections while the model starts.
  host_run model-job "$MODEL_CONFIG" --endpoint-url "http://127.0.0.1:$port"
  kill "$host_model_pid"
  host_model_pid=
}

# One model job: check_job, then the explainability outputs if it finished.
check_model_job() { # NAME [DOCKER_RUN_ARGS...]
  local name=$1
  shift
  if check_job "$name" "$MODEL_CONFIG" model-job "$MODEL_SECTIONS" "$@"; then
    check_explain_outputs "$name"
  fi
}

# The demo model image runs as "model" on a user-defined network (which also
# proves name lookup through hickory inside the scratch image); the processing
# image reaches it as http://model:8080, as root and under --user USER.
check_model_jobs() { # USER
  host_model_run
  docker network create "$NET" >/dev/null
  docker run --detach --name "$MODEL_CONTAINER" --network "$NET" --network-alias model "$MODEL_IMAGE" >/dev/null
  local args=(--network "$NET" -e OPENCLARIFY_ENDPOINT_URL=http://model:8080)
  check_model_job model-as-root "${args[@]}"
  check_model_job model-as-user "${args[@]}" --user "$1"
}

# `docker stop` on a job whose model answers after 30 s: the job must stop on
# SIGTERM itself (exit 143) rather than be killed after 10 s (exit 137).
check_docker_stop() {
  local name=docker-stop slow=$MODEL_CONTAINER-slow dir code message left started took
  new_job "$name" "$MODEL_CONFIG" "$DATA"
  dir=$work/$name
  docker run --detach --name "$slow" --network "$NET" --network-alias slow-model "$MODEL_IMAGE" \
    --host 0.0.0.0 --port 8080 --delay-ms 30000 >/dev/null
  docker run --detach --name "$name-$$" --network "$NET" -e OPENCLARIFY_ENDPOINT_URL=http://slow-model:8080 \
    -v "$dir/config:/opt/ml/processing/input/config:ro" \
    -v "$dir/data:/opt/ml/processing/input/data:ro" \
    -v "$dir/out:/opt/ml/processing/output" \
    -v "$dir/msg:/opt/ml/output" \
    "$IMAGE" >/dev/null
  sleep 3 # reads the data and sends its first request, which the model holds for 30 s
  started=$(date +%s.%N)
  docker stop "$name-$$" >/dev/null
  took=$(python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$started" "$(date +%s.%N)")
  code=$(docker wait "$name-$$" 2>/dev/null || docker inspect --format '{{.State.ExitCode}}' "$name-$$")
  docker logs "$name-$$" >"$dir/stderr" 2>&1 || true
  docker rm --force "$name-$$" "$slow" >/dev/null 2>&1 || true
  message=$(cat "$dir/msg/message" 2>/dev/null || echo "<no message file>")
  left=$(cd "$dir/out" && find . -type f | tr '\n' ' ')
  if [ "$code" != 143 ]; then
    fail "$name: exit $code after ${took}s, want 143: $(tail -3 "$dir/stderr")"
  elif [[ "$message" != "ClientError: Signal 15 received"* ]]; then
    fail "$name: /opt/ml/output/message is '$message'"
  elif [ -n "$left" ]; then
    fail "$name: left $left in the output folder"
  else
    pass "$name: exit 143 ${took}s after docker stop, nothing in the output folder, message: $message"
  fi
}

# --- Monitoring ----------------------------------------------------------
# Starts the demo model container on $NET unless check_model_jobs already did.
ensure_model_container() {
  docker network inspect "$NET" >/dev/null 2>&1 || docker network create "$NET" >/dev/null
  docker inspect "$MODEL_CONTAINER" >/dev/null 2>&1 ||
    docker run --detach --name "$MODEL_CONTAINER" --network "$NET" --network-alias model "$MODEL_IMAGE" >/dev/null
}

# Runs the image as one monitoring execution NAME on the hour HH of DATASET
# (a capture or merged folder), with Model Monitor's environment and mounts.
# Extra arguments go to `docker run`. Prints the exit code.
run_monitoring() { # NAME DATASET HH [DOCKER_RUN_ARGS...]
  local dir=$work/monitoring/$1 dataset=$2 hour=$3 code=0
  shift 3
  mkdir -p "$dir"/{config,resultdata,msg}
  cp "$work/monitoring/fixture/analysis_config.json" "$dir/config/"
  chmod -R a+rwX "$dir"
  docker run --rm --network "$NET" "$@" \
    -e dataset_source=/opt/ml/processing/input/endpoint \
    -e output_path=/opt/ml/processing/resultdata \
    -e baseline_constraints=/opt/ml/processing/baseline/constraints/analysis.json \
    -e start_time="2024-01-19T$hour:00:00Z" -e end_time="2024-01-19T$((10#$hour + 1)):00:00Z" \
    -e publish_cloudwatch_metrics=Enabled \
    -e sagemaker_endpoint_name=ep -e sagemaker_monitoring_schedule_name=hourly \
    -e OPENCLARIFY_ENDPOINT_URL=http://model:8080 \
    -v "$dir/config:/opt/ml/processing/input/config:ro" \
    -v "$dataset:/opt/ml/processing/input/endpoint:ro" \
    -v "$work/monitoring/baseline:/opt/ml/processing/baseline/constraints:ro" \
    -v "$dir/resultdata:/opt/ml/processing/resultdata" \
    -v "$dir/msg:/opt/ml/output" \
    "$IMAGE" >"$dir/stdout" 2>"$dir/stderr" || code=$?
  echo "$code"
}

# The outcome of monitoring execution NAME: exit CODE 0, analysis.json,
# constraint_violations.json present iff VIOLATIONS is "yes" (then with a
# bias_drift_check and a feature_attribution_drift_check), CloudWatch
# records with bias and feature metrics.
check_monitoring_outcome() { # NAME CODE VIOLATIONS
  local dir=$work/monitoring/$1 problems=() kinds metrics
  local out=$dir/resultdata violations=$dir/resultdata/constraint_violations.json
  [ "$2" = 0 ] || problems+=("exit $2: $(tail -3 "$dir/stderr")")
  [ -s "$out/analysis.json" ] || problems+=("no analysis.json in the output_path mount")
  if [ "$3" = yes ]; then
    kinds=$(python3 -c 'import json, sys
print(" ".join(sorted({v["constraint_check_type"] for v in json.load(open(sys.argv[1]))["violations"]})))' "$violations" 2>/dev/null || echo none)
    [ "$kinds" = "bias_drift_check feature_attribution_drift_check" ] ||
      problems+=("constraint_violations.json check types: $kinds")
  elif [ -e "$violations" ]; then
    problems+=("a constraint_violations.json for a window without drift")
  fi
  metrics=$(cat "$dir"/msg/metrics/cloudwatch/* 2>/dev/null | python3 -c 'import json, sys
names = [json.loads(l)["MetricName"] for l in sys.stdin if l.strip()]
print(sum(n.startswith("bias_metric_") for n in names), sum(n.startswith("feature_") for n in names))')
  [[ "$metrics" =~ ^[1-9][0-9]*\ [1-9][0-9]*$ ]] ||
    problems+=("CloudWatch records in /opt/ml/output/metrics/cloudwatch (bias, feature): ${metrics:-none}")
  if [ ${#problems[@]} -gt 0 ]; then
    fail "$1: $(IFS=';'; echo "${problems[*]}")"
  else
    pass "$1: exit 0, analysis.json, constraint_violations.json $( [ "$3" = yes ] && echo "with $kinds" || echo absent), CloudWatch records (bias, feature: $metrics)"
  fi
}

# Model Monitor running the image (spec monitoring.md A.3): the baseline is
# the host binary's monitoring run of hour 19 against a host demo-model;
# hour 19 again (merged, as the merge job hands it over) must show no
# drift, hour 20 (raw capture + ground truth) the injected drift.
check_monitoring() {
  local fixture=$work/monitoring/fixture port code
  python3 "$ROOT/scripts/gen-monitor-window.py" "$DATA" "$fixture"
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  "$OPENCLARIFY" demo-model --host 127.0.0.1 --port "$port" 2>"$work/monitoring/host-model.stderr" &
  host_model_pid=$!
  "$OPENCLARIFY" monitor --config "$fixture/analysis_config.json" --captured "$fixture/capture" \
    --ground-truth "$fixture/ground-truth" --start-time 2024-01-19T19:00:00Z --end-time 2024-01-19T20:00:00Z \
    --endpoint-url "http://127.0.0.1:$port" --output "$work/monitoring/baseline" 2>"$work/monitoring/baseline.stderr" || {
    fail "monitoring: the host baseline run failed: $(tail -3 "$work/monitoring/baseline.stderr")"
    return 0
  }
  kill "$host_model_pid"
  host_model_pid=
  "$OPENCLARIFY" join-ground-truth --captured "$fixture/capture" --ground-truth "$fixture/ground-truth" \
    --output "$work/monitoring/merged" 2>/dev/null
  chmod -R a+rX "$work/monitoring"
  ensure_model_container
  code=$(run_monitoring monitor-no-drift "$work/monitoring/merged" 19)
  check_monitoring_outcome monitor-no-drift "$code" no
  code=$(run_monitoring monitor-drift "$fixture/capture" 20 \
    -e OPENCLARIFY_GROUND_TRUTH=/opt/ml/processing/groundtruth \
    -v "$fixture/ground-truth:/opt/ml/processing/groundtruth:ro")
  check_monitoring_outcome monitor-drift "$code" yes
}

user=$(id -u):$(id -g)
[ "$user" = 0:0 ] && user=1000:1000
host_run pre-training "$CONFIG"
check_job as-root "$CONFIG" pre-training pre_training_bias_metrics || true
check_job as-user "$CONFIG" pre-training pre_training_bias_metrics --user "$user" || true
check_failure_message
check_model_jobs "$user"
check_docker_stop
check_monitoring

echo "docker-e2e: $passed passed, $failed failed"
[ "$failed" = 0 ]
