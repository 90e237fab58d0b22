#!/usr/bin/env python3
"""Compares two PDF reports stream by stream, for scripts/compare-outputs.sh.

Every stream is inflated when Flate-compressed. The PDFs count as the same
when they have as many streams and at most one differs: the page content
holding the run's start time and duration, which are drawn as glyphs and so
cannot be masked as text. Prints what it found; exits 1 otherwise.

Usage: compare_pdf_streams.py BEFORE.pdf AFTER.pdf
"""
import re
import sys
import zlib


def streams(path):
    data = open(path, "rb").read()
    out = []
    for m in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", data, re.S):
        raw = m.group(1)
        try:
            out.append(zlib.decompress(raw))
        except zlib.error:
            out.append(raw)
    return out


def main():
    before, after = streams(sys.argv[1]), streams(sys.argv[2])
    if len(before) != len(after):
        print(f"{len(before)} streams before, {len(after)} after")
        return 1
    differing = [i for i, (b, a) in enumerate(zip(before, after)) if b != a]
    if len(differing) > 1:
        print(f"{len(differing)} of {len(before)} streams differ (at most 1 may: the run facts)")
        return 1
    print(f"{len(before)} streams, {len(differing)} differing (the run's start time and duration)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
