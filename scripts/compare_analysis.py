#!/usr/bin/env python3
"""Compare the bias sections of two analysis.json files (ours vs smclarify's).

Numbers must agree to 1e-9 relative; NaN (which smclarify writes as bare NaN and
openclarify as null) counts as equal to null; strings, keys and order must match.
Usage: compare_analysis.py OURS.json REFERENCE.json [SECTION ... | --all]
(--all: every top-level section, e.g. a distributed run against a single one).
Exit 0 when equal, 1 with the differences otherwise.
"""
import json
import math
import sys


def walk(a, b, path, diffs):
    if isinstance(b, float) and math.isnan(b):
        if not (a is None or (isinstance(a, float) and math.isnan(a))):
            diffs.append(f"{path}: {a!r} != NaN")
    elif isinstance(a, dict) and isinstance(b, dict):
        if list(a) != list(b):
            diffs.append(f"{path}: keys {list(a)} != {list(b)}")
        for k in b:
            if k in a:
                walk(a[k], b[k], f"{path}.{k}", diffs)
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            diffs.append(f"{path}: {len(a)} items != {len(b)}")
        for i, (x, y) in enumerate(zip(a, b)):
            walk(x, y, f"{path}[{i}]", diffs)
    elif isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        if not (a == b or abs(a - b) <= 1e-9 * max(abs(a), abs(b))):
            diffs.append(f"{path}: {a!r} != {b!r}")
    elif a != b:
        diffs.append(f"{path}: {a!r} != {b!r}")


def main():
    ours, ref = (json.load(open(p)) for p in sys.argv[1:3])
    sections = sys.argv[3:] or [k for k in ref if k.endswith("_bias_metrics")]
    diffs = []
    if sections == ["--all"]:
        sections = list(ref)
        if list(ours) != sections:
            diffs.append(f"sections {list(ours)} != {sections}")
    for s in sections:
        if s not in ours:
            diffs.append(f"{s}: missing from {sys.argv[1]}")
        else:
            walk(ours[s], ref[s], s, diffs)
    values = sum(1 for s in sections for fl in ref.get(s, {}).get("facets", {}).values() for r in fl for _ in r["metrics"])
    if diffs:
        print(f"DIFFER ({len(diffs)}):", *diffs[:50], sep="\n  ")
        sys.exit(1)
    print(f"MATCH: {values} metric values in {', '.join(sections)}")


if __name__ == "__main__":
    main()
