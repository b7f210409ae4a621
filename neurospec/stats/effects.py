"""Effect sizes on plain arrays (numpy only)."""

from __future__ import annotations

import numpy as np
from scipy.stats import rankdata


def mean_diff(a: np.ndarray, b: np.ndarray, axis: int = -1) -> np.ndarray:
    """``mean(a) - mean(b)``."""
    return np.mean(a, axis=axis) - np.mean(b, axis=axis)


def cohens_d(a: np.ndarray, b: np.ndarray, axis: int = -1) -> np.ndarray:
    """Standardised mean difference with the pooled standard deviation (ddof=1)."""
    na, nb = np.shape(a)[axis], np.shape(b)[axis]
    va, vb = np.var(a, axis=axis, ddof=1), np.var(b, axis=axis, ddof=1)
    pooled = np.sqrt(((na - 1) * va + (nb - 1) * vb) / (na + nb - 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(pooled > 0, mean_diff(a, b, axis) / pooled, np.inf * np.sign(
            mean_diff(a, b, axis)))


def auroc(pos: np.ndarray, neg: np.ndarray) -> float:
    """Probability that a random element of ``pos`` exceeds one of ``neg`` (ties count 1/2)."""
    pos, neg = np.asarray(pos, float), np.asarray(neg, float)
    ranks = rankdata(np.concatenate([pos, neg]))
    n1, n0 = len(pos), len(neg)
    return float((ranks[:n1].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))
