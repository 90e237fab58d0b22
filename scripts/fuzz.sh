#!/usr/bin/env bash
# Runs every fuzz target in fuzz/ for a bounded time each (default 60 s):
#   scripts/fuzz.sh [SECONDS] [TARGET...]
# Uses cargo-fuzz (`cargo install cargo-fuzz`) on the stable toolchain through
# RUSTC_BOOTSTRAP=1. Corpora grow in fuzz/corpus/<target>/ (only the seed-*
# files are committed); a crash is saved in fuzz/artifacts/<target>/ and makes
# the script exit non-zero. Prints each target's executions at the end.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SECONDS_EACH=${1:-60}
shift || true
cd "$ROOT/fuzz"
targets=("$@")
[ ${#targets[@]} -gt 0 ] || mapfile -t targets < <(RUSTC_BOOTSTRAP=1 cargo fuzz list)
export RUSTC_BOOTSTRAP=1
cargo fuzz build
status=0
for target in "${targets[@]}"; do
  mkdir -p "corpus/$target"
  # Parquet's smallest interesting inputs (the seed is a real file) are bigger than text ones.
  max_len=4096
  [ "$target" != parquet_dataset ] || max_len=32768
  log=$(mktemp)
  # One job, so that runs on a shared machine stay within their time budget.
  if cargo fuzz run "$target" "corpus/$target" -- -max_total_time="$SECONDS_EACH" \
      -max_len="$max_len" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 2>"$log"; then
    result=ok
  else
    result="CRASH (see fuzz/artifacts/$target and $log)"
    status=1
  fi
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
  printf '%-20s %10s executions  %s\n' "$target" "$execs" "$result"
  [ "$result" = ok ] && rm -f "$log"
done
exit $status
