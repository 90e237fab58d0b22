#!/usr/bin/env python3
"""Writes test-fixtures/shap/german_xgboost.json: the case of
scripts/bench-shap.sh (German credit, first 200 rows, 10 shap.kmeans centres,
xgboost 100 trees of depth 4) with shap 0.46's KernelExplainer values at
num_samples 64 and 256 (numpy seed 0) and the exact Shapley values, for the
Rust test that checks openclarify's estimator against the target of issue 19
(mean error at most half of KernelExplainer's), which must not run Python.

The trees are stored as xgboost dumps them (JSON, `x < split_condition` goes
to `yes`), with the base margin, so the test evaluates the same model; the
predictions are stored too, for the test to check its evaluation.

Usage: scripts/venv.sh && .venv/bin/python scripts/gen-shap-german-fixture.py ../shared/data/german.csv
"""
import json
import math
import sys
from pathlib import Path

import numpy as np
import shap

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_shap import exact_values, german, train  # noqa: E402


def main():
    names, X_all, y_all = german(sys.argv[1])
    model = train(X_all, y_all)
    X = X_all[:200]
    B = shap.kmeans(X_all, 10).data
    predict = lambda Z: model.predict_proba(np.asarray(Z, float))[:, 1]
    config = json.loads(model.get_booster().save_config())
    base_score = float(config["learner"]["learner_model_param"]["base_score"].strip("[]"))
    kernel_explainer = {}
    for ns in (64, 256):
        np.random.seed(0)
        values = shap.KernelExplainer(predict, B).shap_values(X, nsamples=ns, silent=True)
        kernel_explainer[str(ns)] = np.asarray(values).tolist()
    fixture = {
        "about": "written by scripts/gen-shap-german-fixture.py; see there",
        "features": names,
        "base_margin": math.log(base_score / (1 - base_score)),
        "trees": [json.loads(t) for t in model.get_booster().get_dump(dump_format="json")],
        "rows": X.tolist(),
        "baseline": B.tolist(),
        "predictions": predict(X).tolist(),
        "exact": exact_values(predict, X, B).tolist(),
        "kernel_explainer": kernel_explainer,
    }
    out = Path(__file__).resolve().parent.parent / "test-fixtures/shap/german_xgboost.json"
    out.write_text(json.dumps(fixture, separators=(",", ":")) + "\n")
    print(f"wrote {out} ({out.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
