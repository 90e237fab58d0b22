#!/usr/bin/env python3
"""Runs shap's KernelExplainer on the model behind an HTTP endpoint (the
demo model) with the same baseline and rows as an openclarify SHAP run, and
diffs its local values with openclarify's explanations_shap/out.csv and its
expected value with analysis.json.

Both sides enumerate every coalition (the number of features is small enough
that nsamples reaches 2^M - 2), so both give exact Shapley values and should
agree to rounding. shap's l1_reg is off: Clarify documents no feature selection.

Usage: compare_shap.py --url http://127.0.0.1:PORT --config analysis_config.json
                       --data rows.csv --out OUTPUT_DIR [--tolerance 1e-6]
(the config's methods.shap.baseline must be inline rows; the CSV has a header)
"""
import argparse
import csv
import json
import sys
import urllib.request

import numpy as np
import shap


def model(url):
    """f(Z): one POST of all rows as CSV; the demo model answers one score per line."""

    def f(Z):
        Z = np.atleast_2d(Z)
        body = "\n".join(",".join(repr(float(v)) for v in row) for row in Z).encode()
        request = urllib.request.Request(
            url.rstrip("/") + "/invocations",
            data=body,
            headers={"Content-Type": "text/csv", "Accept": "text/csv"},
        )
        with urllib.request.urlopen(request) as response:
            return np.array([float(line) for line in response.read().decode().split()])

    return f


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--config", required=True)
    parser.add_argument("--data", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--tolerance", type=float, default=1e-6)
    args = parser.parse_args()

    with open(args.config) as fh:
        config = json.load(fh)
    shap_config = config["methods"]["shap"]
    baseline = np.array(shap_config["baseline"], dtype=float)
    with open(args.data) as fh:
        rows = np.array([[float(v) for v in r] for r in list(csv.reader(fh))[1:]])
    link = "logit" if shap_config.get("use_logit") else "identity"
    M = rows.shape[1]

    np.random.seed(0)
    explainer = shap.KernelExplainer(model(args.url), baseline, link=link)
    ours_phi = np.array(
        [[float(v) for v in r] for r in list(csv.reader(open(f"{args.out}/explanations_shap/out.csv")))[1:]]
    )
    theirs_phi = np.asarray(explainer.shap_values(rows, nsamples=2**M - 2, l1_reg=False, silent=True))
    theirs_phi = theirs_phi.reshape(rows.shape[0], M)
    with open(f"{args.out}/analysis.json") as fh:
        ours_expected = json.load(fh)["explanations"]["kernel_shap"]["label0"]["expected_value"]
    theirs_expected = float(np.ravel(explainer.expected_value)[0])

    local_diff = float(np.max(np.abs(ours_phi - theirs_phi)))
    expected_diff = abs(ours_expected - theirs_expected)
    largest = float(np.max(np.abs(theirs_phi)))
    print(
        f"rows={rows.shape[0]} features={M} baseline_rows={baseline.shape[0]} link={link}: "
        f"max |local diff| = {local_diff:.3g} (largest |phi| {largest:.3g}), "
        f"|expected_value diff| = {expected_diff:.3g}"
    )
    if max(local_diff, expected_diff) > args.tolerance:
        sys.exit(1)


if __name__ == "__main__":
    main()
