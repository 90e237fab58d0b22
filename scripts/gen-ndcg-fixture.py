"""Writes test-fixtures/monitor/ndcg_sklearn.json: random attribution vectors
and what sklearn.metrics.ndcg_score(y_true=[baseline], y_score=[current])
returns for them, the reference src/monitor/ndcg.rs is tested against.

Usage: .venv/bin/python scripts/gen-ndcg-fixture.py  (after scripts/venv.sh)
"""
import json
import pathlib

import numpy as np
import sklearn
from sklearn.metrics import ndcg_score

rng = np.random.default_rng(16)
cases = []
for i in range(200):
    n = int(rng.integers(2, 40))
    y_true = rng.random(n)
    y_score = rng.random(n)
    if i % 4 == 1:
        # Ties in the current values, which scikit-learn averages.
        y_score = np.round(y_score, 1)
    if i % 4 == 2:
        # Zero attributions and ties in the baseline too.
        y_true = np.round(y_true, 1) * (rng.random(n) > 0.3)
    if i % 4 == 3:
        # Attributions of very different sizes, as global SHAP values are.
        y_true = y_true ** 4 * 10.0 ** rng.integers(-3, 3)
        y_score = y_score ** 4 * 10.0 ** rng.integers(-3, 3)
    if not y_true.any():
        y_true[0] = 0.5
    cases.append(
        {
            "y_true": y_true.tolist(),
            "y_score": y_score.tolist(),
            "ndcg": float(ndcg_score([y_true], [y_score])),
        }
    )
out = pathlib.Path(__file__).resolve().parent.parent / "test-fixtures/monitor/ndcg_sklearn.json"
out.write_text(json.dumps(cases) + "\n")
print(f"wrote {len(cases)} cases to {out} (scikit-learn {sklearn.__version__})")
