"""Exact Shapley values from the definition, for the reference scripts that
check estimates against them (bench_shap.py, bench_text.py,
gen-shap-fixture.py; gen-shap-german-fixture.py through bench_shap.py).

Coalition c (an integer) has player i when bit i of c is set; `v[c]` is its
value, a number or a vector (one per model output).
"""
import math

import numpy as np


def coalition_masks(m):
    """Every coalition of `m` players as a (2^m, m) bool matrix, row c = coalition c."""
    c = np.arange(1 << m)
    return ((c[:, None] >> np.arange(m)[None, :]) & 1).astype(bool)


def shapley_values(v, m):
    """phi_i = sum over S without i of |S|! (m - |S| - 1)! / m! (v(S + i) - v(S));
    shape (m,) + the shape of one value."""
    v = np.asarray(v, dtype=float)
    c = np.arange(1 << m)
    sizes = np.array([bin(x).count("1") for x in c])
    weight = np.array([math.factorial(s) * math.factorial(m - s - 1) / math.factorial(m) for s in range(m)])
    phi = np.zeros((m,) + v.shape[1:])
    for i in range(m):
        without = c[(c >> i) & 1 == 0]
        phi[i] = np.tensordot(weight[sizes[without]], v[without | (1 << i)] - v[without], axes=1)
    return phi
