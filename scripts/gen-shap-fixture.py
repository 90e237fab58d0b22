#!/usr/bin/env python3
"""Writes test-fixtures/shap/kernel_shap.json: shap's KernelExplainer (and
brute-force Shapley values) on small fixed problems, for the Rust tests in
src/explain/kernel_shap.rs, which must not run Python.

The model is a formula both sides evaluate: for each output k,
  f_k(z) = sigmoid(sum_j W[k][j] * z[j] + V[k] * z[0] * z[M-1]),
non-additive (the product term) and a probability, so the logit link applies.

Cases:
  * "at_cap": M=6, shap's default nsamples (2M+2048) exceeds 2^M-2, so shap
    enumerates every coalition: its values are exact Shapley values. One
    feature equals every baseline row in some rows (shap drops it).
  Sampled values are checked on German credit with an xgboost model instead
  (scripts/gen-shap-german-fixture.py).
shap's l1_reg is turned off: Clarify documents no feature selection, and with
"auto" shap would select features by AIC below 20% of the coalition space.

Usage: scripts/venv.sh && .venv/bin/python scripts/gen-shap-fixture.py
       (any Python with shap==0.46 and numpy works)
"""
import json
import os

import numpy as np
import shap

from shapley_exact import coalition_masks, shapley_values


def make_model(W, V):
    W = np.asarray(W)
    V = np.asarray(V)

    def f(Z):
        Z = np.atleast_2d(np.asarray(Z, dtype=float))
        s = Z @ W.T + (Z[:, 0] * Z[:, -1])[:, None] * V[None, :]
        return 1.0 / (1.0 + np.exp(-s))

    return f


def link_fn(name):
    if name == "identity":
        return lambda p: p
    return lambda p: np.log(np.clip(p, 1e-12, 1 - 1e-12) / (1 - np.clip(p, 1e-12, 1 - 1e-12)))


def brute_force(f, x, baseline, link):
    """Shapley values from the definition, v(S) = link(mean_b f(x_S, b_rest)); one row per output."""
    M = len(x)
    masks = coalition_masks(M)
    values = [link(f(np.where(mask[None, :], x[None, :], baseline)).mean(axis=0)) for mask in masks]
    return shapley_values(values, M).T


def run_case(rng, M, n_rows, n_baseline, nsamples, link, equal_feature=None):
    W = rng.normal(size=(2, M)).round(3)
    V = rng.normal(size=2).round(3)
    f = make_model(W, V)
    baseline = rng.normal(size=(n_baseline, M)).round(2)
    rows = rng.normal(size=(n_rows, M)).round(2)
    if equal_feature is not None:
        baseline[:, equal_feature] = 0.5
        rows[::2, equal_feature] = 0.5  # every other row equals the baseline there
    np.random.seed(0)  # KernelExplainer samples with numpy's global RNG
    explainer = shap.KernelExplainer(f, baseline, link=link)
    kwargs = {"l1_reg": False, "silent": True}
    if nsamples is not None:
        kwargs["nsamples"] = nsamples
    phi = np.asarray(explainer.shap_values(rows, **kwargs))  # (rows, M, K) in shap 0.46
    if phi.shape != (n_rows, M, 2):
        raise SystemExit(f"unexpected shap output shape {phi.shape}")
    lf = link_fn(link)
    exact = [brute_force(f, x, baseline, lf) for x in rows]
    return {
        "weights": W.tolist(),
        "interaction": V.tolist(),
        "link": link,
        "num_samples": nsamples,
        "baseline": baseline.tolist(),
        "rows": rows.tolist(),
        "shap_expected_value": np.ravel(explainer.expected_value).tolist(),
        # one list per row, one list per output, one value per feature
        "shap_values": phi.transpose(0, 2, 1).tolist(),
        "exact_values": [e.tolist() for e in exact],
    }


def main():
    rng = np.random.default_rng(20240601)
    cases = {
        "at_cap_identity": run_case(rng, 6, 6, 3, None, "identity", equal_feature=2),
        "at_cap_logit": run_case(rng, 6, 6, 3, None, "logit", equal_feature=4),
    }
    fixture = {
        "generator": "scripts/gen-shap-fixture.py",
        "shap_version": shap.__version__,
        "numpy_version": np.__version__,
        "cases": cases,
    }
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test-fixtures", "shap", "kernel_shap.json")
    with open(out, "w") as fh:
        json.dump(fixture, fh, indent=1)
        fh.write("\n")
    for name, case in cases.items():
        shap_err = np.abs(np.array(case["shap_values"]) - np.array(case["exact_values"]))
        print(f"{name}: shap vs exact max {shap_err.max():.3g} mean {shap_err.mean():.3g}")


if __name__ == "__main__":
    main()
