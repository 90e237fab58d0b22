#!/usr/bin/env bash
# The `aws` feature end to end, offline: installs moto (scripts/venv.sh)
# and runs tests/aws.rs, which starts moto_server on loopback ports and
# points the AWS SDK at it with AWS_ENDPOINT_URL and dummy credentials.
# Nothing leaves the machine.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
bash "$ROOT/scripts/venv.sh"
cd "$ROOT"
# The feature is on by default, so this is the test phase's build; the aws
# modules' unit tests already ran there, and this file's tests are ignored
# there because they need moto.
cargo test --release --test aws "$@" -- --ignored
