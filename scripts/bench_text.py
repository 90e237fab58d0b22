#!/usr/bin/env python3
"""The two sides of scripts/bench-text.sh: openclarify's text SHAP and
shap.KernelExplainer over a binary mask of the same units, against the same
HTTP model, with timings and errors against a high-budget reference.

The reviews are generated (seeded) from the review model's lexicon and
filler words, about 40 tokens each. openclarify explains every row with
token units and baseline "<UNK>"; shap explains the first --shap-rows rows
with the units openclarify reported (so both have the same players): a
mask row z renders the review with the units where z = 0 replaced by
"<UNK>", and the all-zero mask is the background. The reference is
shap.KernelExplainer at --reference-samples coalitions on the first
--reference-rows rows.
"""
import argparse
import csv
import io
import json
import random
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np

FILLER = ("the a this it was is and i my for with to of on very so really too quite "
          "dress shirt shoes bag fabric size colour fit delivery price seller box").split()
PUNCTUATION = [",", ".", "!", "..."]


def reviews(lexicon_words, rows, seed=7):
    rng = random.Random(seed)
    out = []
    for _ in range(rows):
        words = []
        while len(words) < 34:
            pool = lexicon_words if rng.random() < 0.25 else FILLER
            words.append(rng.choice(pool))
            if rng.random() < 0.12:
                words[-1] += rng.choice(PUNCTUATION)
        text = " ".join(words)
        out.append(text[0].upper() + text[1:] + ".")
    return out


def post(endpoint, texts):
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    for t in texts:
        writer.writerow([t, 1])
    request = urllib.request.Request(endpoint + "/invocations", data=buf.getvalue().encode(),
                                     headers={"Content-Type": "text/csv", "Accept": "text/csv"})
    with urllib.request.urlopen(request) as answer:
        return np.array([float(line) for line in answer.read().decode().split()])


def render(text, units, mask):
    pieces, at = [], 0
    for (start, end), keep in zip(units, mask):
        pieces.append(text[at:start])
        pieces.append(text[start:end] if keep else "<UNK>")
        at = end
    pieces.append(text[at:])
    return "".join(pieces)


def shap_values(shap, endpoint, text, units, nsamples, seed):
    m = len(units)
    f = lambda masks: post(endpoint, [render(text, units, z) for z in masks])
    np.random.seed(seed)
    explainer = shap.KernelExplainer(f, np.zeros((1, m)))
    # l1_reg=False: no feature selection, shap's most accurate setting (its
    # default would keep only 10 of the ~40 units and zero the others).
    values = explainer.shap_values(np.ones((1, m)), nsamples=nsamples, l1_reg=False, silent=True)
    return np.asarray(values).reshape(-1)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--openclarify", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--endpoint", required=True)
    ap.add_argument("--rows", type=int, default=1000)
    ap.add_argument("--shap-rows", type=int, default=100)
    ap.add_argument("--num-samples", type=int, default=500)
    ap.add_argument("--reference-rows", type=int, default=20)
    ap.add_argument("--reference-samples", type=int, default=20000)
    a = ap.parse_args()
    import shap

    root = Path(__file__).resolve().parent.parent
    lexicon = [line.split(",")[0] for line in (root / "test-fixtures/text/lexicon.csv").read_text().splitlines()[1:]]
    lexicon = [w for w in lexicon if w.isascii() and w != "unk"]
    texts = reviews(lexicon, a.rows)
    work = Path(a.work)
    (work / "data").mkdir(parents=True, exist_ok=True)
    with open(work / "data/reviews.csv", "w", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["review", "verified"])
        for t in texts:
            writer.writerow([t, 1])
    config = {
        "dataset_type": "text/csv", "headers": ["review", "verified"],
        "methods": {"shap": {"baseline": [["<UNK>", 1]], "num_samples": a.num_samples, "seed": 0,
                             "save_local_shap_values": True,
                             "text_config": {"granularity": "token", "language": "english"}}},
        "predictor": {"endpoint_name": "reviews", "content_type": "text/csv", "accept_type": "text/csv"},
    }
    (work / "config.json").write_text(json.dumps(config))
    start = time.perf_counter()
    subprocess.run([a.openclarify, "run", "--config", str(work / "config.json"), "--data", str(work / "data"),
                    "--output", str(work / "out"), "--endpoint-url", a.endpoint],
                   check=True, stderr=subprocess.DEVNULL)
    ours_seconds = time.perf_counter() - start
    records = [json.loads(l) for l in (work / "out/explanations_shap/out.jsonl").read_text().splitlines()]
    units, ours = [], []
    for record, text in zip(records, texts):
        attributions = record["explanations"][0]["attributions"]
        spans = []
        for u in attributions:
            start_idx = u["description"]["start_idx"]
            spans.append((start_idx, start_idx + len(u["description"]["partial_text"])))
            assert text[spans[-1][0]:spans[-1][1]] == u["description"]["partial_text"]
        units.append(spans)
        ours.append(np.array([u["attribution"][0] for u in attributions]))
    tokens = np.mean([len(u) for u in units])

    shap_rows = min(a.shap_rows, a.rows)
    start = time.perf_counter()
    theirs = [shap_values(shap, a.endpoint, texts[i], units[i], a.num_samples, i) for i in range(shap_rows)]
    shap_seconds = time.perf_counter() - start

    reference_rows = min(a.reference_rows, shap_rows)
    reference = [shap_values(shap, a.endpoint, texts[i], units[i], a.reference_samples, 10_000 + i)
                 for i in range(reference_rows)]
    error = lambda values: float(np.mean([np.abs(values[i] - reference[i]).mean() for i in range(reference_rows)]))
    ours_error, shap_error = error(ours), error(theirs)

    ours_rate = a.rows / ours_seconds
    shap_rate = shap_rows / shap_seconds
    print(f"## Text SHAP: {a.rows} reviews, {tokens:.1f} token units on average, num_samples {a.num_samples}")
    print("| | rows | seconds | records/s | mean abs error vs reference |")
    print("|---|---|---|---|---|")
    print(f"| openclarify | {a.rows} | {ours_seconds:.2f} | {ours_rate:.1f} | {ours_error:.3g} |")
    print(f"| shap.KernelExplainer | {shap_rows} | {shap_seconds:.2f} | {shap_rate:.1f} | {shap_error:.3g} |")
    print(f"\nreference: shap.KernelExplainer at nsamples {a.reference_samples} on {reference_rows} rows")
    print(f"speed ratio: {ours_rate / shap_rate:.1f}x (target >= 10x); error ratio ours/shap: {ours_error / shap_error:.2f} (target <= 1)")


if __name__ == "__main__":
    sys.exit(main())
