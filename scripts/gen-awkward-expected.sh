#!/usr/bin/env bash
# Regenerates expected.smclarify.json for every case of test-fixtures/awkward
# whose expect.json says "matches smclarify", by running smclarify (through
# shared/scripts/smclarify_reference.py) on the case's config and data. Run it
# after adding or changing such a case; tests/awkward.rs reads the stored files
# and never runs Python. A case's "reference_data" (a plain CSV equal to its
# gzip or part-file data, or the joined table of side datasets) and
# "reference_args" (run from the case's folder) are passed on when present.
source "$(dirname "$0")/lib.sh"
PY=$ROOT/.venv/bin/python
[ -x "$PY" ] || PY=$(reference_python)
status=0
for expect in "$ROOT"/test-fixtures/awkward/*/expect.json; do
  case_dir=$(dirname "$expect")
  read -r outcome data args < <("$PY" - "$expect" <<'PYEOF'
import json, sys
e = json.load(open(sys.argv[1]))
print(e["outcome"].replace(" ", "_"), e.get("reference_data", e["data"]), " ".join(e.get("reference_args", [])))
PYEOF
)
  [ "$outcome" = matches_smclarify ] || continue
  # shellcheck disable=SC2086 # reference_args are separate words
  # From the case's folder, so that reference_args may name its files.
  if ! (cd "$case_dir" && "$PY" "$SHARED/scripts/smclarify_reference.py" --config analysis_config.json \
      --data "$data" --out expected.smclarify.json $args); then
    echo "smclarify failed on $(basename "$case_dir")" >&2
    status=1
  fi
done
exit $status
