#!/usr/bin/env python3
"""The two sides of scripts/bench-text.sh: openclarify's text SHAP and
shap.KernelExplainer over a binary mask of the same units, against the same
HTTP model, with timings and errors against a high-budget reference.

The reviews are generated (seeded) from the review model's lexicon and
filler words, about 40 tokens each. A second part explains short reviews
(about 12 units) below the cap and compares both against the exact values
from enumerating every coalition. openclarify explains every row with
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

from shapley_exact import coalition_masks, shapley_values

FILLER = ("the a this it was is and i my for with to of on very so really too quite "
          "dress shirt shoes bag fabric size colour fit delivery price seller box").split()
PUNCTUATION = [",", ".", "!", "..."]


def reviews(lexicon_words, rows, words=34, seed=7):
    rng = random.Random(seed)
    out = []
    for _ in range(rows):
        picked = []
        while len(picked) < words:
            pool = lexicon_words if rng.random() < 0.25 else FILLER
            picked.append(rng.choice(pool))
            if rng.random() < 0.12:
                picked[-1] += rng.choice(PUNCTUATION)
        text = " ".join(picked)
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


def run_openclarify(a, work, texts, num_samples, endpoint=None):
    """Runs openclarify on `texts`; returns (seconds, units, values) with
    each row's unit spans (code points) and first-output values."""
    work.mkdir(parents=True, exist_ok=True)
    (work / "data").mkdir(exist_ok=True)
    with open(work / "data/reviews.csv", "w", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["review", "verified"])
        for t in texts:
            writer.writerow([t, 1])
    config = {
        "dataset_type": "text/csv", "headers": ["review", "verified"],
        "methods": {"shap": {"baseline": [["<UNK>", 1]], "num_samples": num_samples, "seed": 0,
                             "save_local_shap_values": True,
                             "text_config": {"granularity": "token", "language": "english"}}},
        "predictor": {"endpoint_name": "reviews", "content_type": "text/csv", "accept_type": "text/csv"},
    }
    (work / "config.json").write_text(json.dumps(config))
    start = time.perf_counter()
    subprocess.run([a.openclarify, "run", "--config", str(work / "config.json"), "--data", str(work / "data"),
                    "--output", str(work / "out"), "--endpoint-url", endpoint or a.endpoint],
                   check=True, stderr=subprocess.DEVNULL)
    seconds = time.perf_counter() - start
    records = [json.loads(l) for l in (work / "out/explanations_shap/out.jsonl").read_text().splitlines()]
    units, values = [], []
    for record, text in zip(records, texts):
        attributions = record["explanations"][0]["attributions"]
        spans = []
        for u in attributions:
            start_idx = u["description"]["start_idx"]
            spans.append((start_idx, start_idx + len(u["description"]["partial_text"])))
            assert text[spans[-1][0]:spans[-1][1]] == u["description"]["partial_text"]
        units.append(spans)
        values.append(np.array([u["attribution"][0] for u in attributions]))
    return seconds, units, values


def exact_values(endpoint, text, units):
    """Shapley values by enumerating every coalition of the units."""
    m = len(units)
    v = post(endpoint, [render(text, units, z) for z in coalition_masks(m)])
    return shapley_values(v, m)


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
    ap.add_argument("--small-rows", type=int, default=30)
    ap.add_argument("--small-samples", type=int, default=100)
    ap.add_argument("--slow-endpoint", help="the same model answering after a delay")
    ap.add_argument("--slow-delay-ms", type=int, default=20, help="its delay, for the printout")
    a = ap.parse_args()
    import shap

    root = Path(__file__).resolve().parent.parent
    lexicon = [line.split(",")[0] for line in (root / "test-fixtures/text/lexicon.csv").read_text().splitlines()[1:]]
    lexicon = [w for w in lexicon if w.isascii() and w != "unk"]
    work = Path(a.work)

    # Speed: ~40-token reviews at num_samples 500.
    texts = reviews(lexicon, a.rows, words=34)
    ours_seconds, units, ours = run_openclarify(a, work / "speed", texts, a.num_samples)
    tokens = np.mean([len(u) for u in units])
    shap_rows = min(a.shap_rows, a.rows)
    start = time.perf_counter()
    theirs = [shap_values(shap, a.endpoint, texts[i], units[i], a.num_samples, i) for i in range(shap_rows)]
    shap_seconds = time.perf_counter() - start
    reference_rows = min(a.reference_rows, shap_rows)
    reference = [shap_values(shap, a.endpoint, texts[i], units[i], a.reference_samples, 10_000 + i)
                 for i in range(reference_rows)]
    error = lambda values, truth: float(np.mean([np.abs(values[i] - truth[i]).mean() for i in range(len(truth))]))
    ours_error, shap_error = error(ours, reference), error(theirs, reference)
    ours_rate = a.rows / ours_seconds
    shap_rate = shap_rows / shap_seconds
    print(f"## Text SHAP: {a.rows} reviews, {tokens:.1f} token units on average, num_samples {a.num_samples}")
    print("| | rows | seconds | records/s | mean abs error vs reference |")
    print("|---|---|---|---|---|")
    print(f"| openclarify | {a.rows} | {ours_seconds:.2f} | {ours_rate:.1f} | {ours_error:.3g} |")
    print(f"| shap.KernelExplainer | {shap_rows} | {shap_seconds:.2f} | {shap_rate:.1f} | {shap_error:.3g} |")
    print(f"\nreference: shap.KernelExplainer at nsamples {a.reference_samples} (l1_reg=False) on the first {reference_rows} rows")
    print(f"speed ratio: {ours_rate / shap_rate:.1f}x (target >= 10x); error ratio ours/shap: {ours_error / shap_error:.2f} (target <= 1)")

    if a.slow_endpoint:
        # The same model answering after a delay, as a real endpoint's
        # latency would: openclarify's batched, concurrent requests against
        # one request per row.
        slow_seconds, _, _ = run_openclarify(a, work / "slow", texts, a.num_samples, a.slow_endpoint)
        slow_rows = min(a.shap_rows, a.rows) // 4
        start = time.perf_counter()
        for i in range(slow_rows):
            shap_values(shap, a.slow_endpoint, texts[i], units[i], a.num_samples, i)
        slow_shap_seconds = time.perf_counter() - start
        ours_rate, shap_rate = a.rows / slow_seconds, slow_rows / slow_shap_seconds
        print(f"\n## The same with the model answering after {a.slow_delay_ms} ms per request")
        print("| | rows | seconds | records/s |")
        print("|---|---|---|---|")
        print(f"| openclarify | {a.rows} | {slow_seconds:.2f} | {ours_rate:.1f} |")
        print(f"| shap.KernelExplainer | {slow_rows} | {slow_shap_seconds:.2f} | {shap_rate:.1f} |")
        print(f"speed ratio: {ours_rate / shap_rate:.1f}x")

    # Accuracy below the cap: ~12-unit reviews against enumeration of every coalition.
    small = reviews(lexicon, a.small_rows, words=9, seed=11)
    _, small_units, small_ours = run_openclarify(a, work / "small", small, a.small_samples)
    # At most 13 units, so enumeration stays within 8,192 records a row.
    rows = [i for i in range(len(small)) if len(small_units[i]) <= 13]
    small, small_units, small_ours = ([xs[i] for i in rows] for xs in (small, small_units, small_ours))
    exact = [exact_values(a.endpoint, small[i], small_units[i]) for i in range(len(small))]
    small_theirs = [shap_values(shap, a.endpoint, small[i], small_units[i], a.small_samples, i) for i in range(len(small))]
    m = np.mean([len(u) for u in small_units])
    print(f"\n## Below the cap: {len(small)} reviews of {m:.1f} units, {a.small_samples} coalitions, against enumeration")
    print("| | mean abs error | max abs error |")
    print("|---|---|---|")
    for name, values in (("openclarify", small_ours), ("shap.KernelExplainer", small_theirs)):
        worst = max(float(np.abs(values[i] - exact[i]).max()) for i in range(len(small)))
        print(f"| {name} | {error(values, exact):.3g} | {worst:.3g} |")
    print(f"error ratio ours/shap: {error(small_ours, exact) / error(small_theirs, exact):.2f} (target <= 1)")


if __name__ == "__main__":
    sys.exit(main())
