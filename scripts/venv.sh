#!/usr/bin/env bash
# Creates a git-ignored virtualenv with the packages pinned in a requirements
# file; does nothing when it is up to date.
# Usage: scripts/venv.sh [REQUIREMENTS VENV]
#   default: scripts/requirements-reference.txt into .venv (the reference tools)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
REQ=${1:-$ROOT/scripts/requirements-reference.txt}
VENV=${2:-$ROOT/.venv}
STAMP=$VENV/.requirements
if [ -f "$STAMP" ] && cmp -s "$REQ" "$STAMP"; then exit 0; fi
python3 -m venv "$VENV"
"$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$REQ"
cp "$REQ" "$STAMP"
