#!/usr/bin/env bash
# The `aws` feature end to end, offline: installs moto (scripts/venv.sh)
# and runs tests/aws.rs, which starts moto_server on loopback ports and
# points the AWS SDK at it with AWS_ENDPOINT_URL and dummy credentials.
# Nothing leaves the machine.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
bash "$ROOT/scripts/venv.sh"
cd "$ROOT"
# The library's own tests too: the aws modules' unit tests run only with the feature.
cargo test --release --features aws --lib --test aws "$@"
