#!/usr/bin/env bash
# Creates the git-ignored .venv with the reference tools pinned in
# scripts/requirements-reference.txt; does nothing when it is up to date.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
REQ=$ROOT/scripts/requirements-reference.txt
STAMP=$ROOT/.venv/.requirements
if [ -f "$STAMP" ] && cmp -s "$REQ" "$STAMP"; then exit 0; fi
python3 -m venv "$ROOT/.venv"
"$ROOT/.venv/bin/pip" install --quiet --disable-pip-version-check -r "$REQ"
cp "$REQ" "$STAMP"
