"""Many claims in one run: Holm's step-down correction of their p-values."""

from __future__ import annotations

import numpy as np

METHODS = ("none", "holm")


def holm(p_values: np.ndarray | list[float]) -> np.ndarray:
    """Holm-adjusted p-values (family-wise error control, any dependence between claims).

    Sorted ascending, ``p_(i)`` becomes ``max_{j <= i} min(1, (m - j + 1) p_(j))``; a claim
    keeps its verdict at level alpha iff its adjusted p-value is <= alpha.  NaN p-values
    (claims without a test) stay NaN and do not count towards ``m``.
    """
    p = np.asarray(p_values, dtype=np.float64)
    out = np.full(p.shape, np.nan)
    ok = np.flatnonzero(np.isfinite(p))
    m = len(ok)
    if m == 0:
        return out
    order = ok[np.argsort(p[ok], kind="stable")]
    scaled = np.minimum(1.0, (m - np.arange(m)) * p[order])
    out[order] = np.maximum.accumulate(scaled)
    return out
