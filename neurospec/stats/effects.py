"""Effect sizes on plain arrays (numpy only)."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy.stats import rankdata


def mean_diff(a: NDArray[np.float64], b: NDArray[np.float64], axis: int = -1
              ) -> NDArray[np.float64]:
    """``mean(a) - mean(b)`` along ``axis`` (a numpy scalar for 1-d sets)."""
    # numpy types a reduction along an axis as Any (array or scalar, by the input's rank)
    diff: NDArray[np.float64] = np.mean(a, axis=axis) - np.mean(b, axis=axis)
    return diff


def cohens_d(a: NDArray[np.float64], b: NDArray[np.float64], axis: int = -1
             ) -> NDArray[np.float64]:
    """Standardised mean difference with the pooled standard deviation (ddof=1)."""
    na, nb = np.shape(a)[axis], np.shape(b)[axis]
    va, vb = np.var(a, axis=axis, ddof=1), np.var(b, axis=axis, ddof=1)
    pooled = np.sqrt(((na - 1) * va + (nb - 1) * vb) / (na + nb - 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(pooled > 0, mean_diff(a, b, axis) / pooled, np.inf * np.sign(
            mean_diff(a, b, axis)))


def cohens_d_leave_one_out(a: NDArray[np.float64], b: NDArray[np.float64]
                           ) -> NDArray[np.float64]:
    """:func:`cohens_d` with each document left out in turn (``a``'s, then ``b``'s): the
    jackknife of a BCa interval in O(n) from leave-one-out sums, where recomputing it
    n times would take O(n^2) time (and, vectorised, memory).

    Leaving ``x_i`` out of a set of ``n`` with mean ``m`` and squared deviations ``SS``
    gives mean ``(n m - x_i) / (n - 1)`` and ``SS - (x_i - m)^2 n / (n - 1)``.
    """
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    out = []
    for this, other, sign in ((a, b, 1.0), (b, a, -1.0)):
        n, m = len(this), this.mean()
        dev = this - m
        ss = np.maximum(np.dot(dev, dev) - dev * dev * n / (n - 1), 0.0)
        mean = m - dev / (n - 1)
        other_dev = other - other.mean()
        pooled = np.sqrt((ss + np.dot(other_dev, other_dev)) / (n - 1 + len(other) - 2))
        diff = sign * (mean - other.mean())
        with np.errstate(divide="ignore", invalid="ignore"):
            out.append(np.where(pooled > 0, diff / pooled, np.inf * np.sign(diff)))
    return np.concatenate(out)


def auroc(pos: NDArray[np.float64], neg: NDArray[np.float64]) -> float:
    """Probability that a random element of ``pos`` exceeds one of ``neg`` (ties count 1/2)."""
    pos, neg = np.asarray(pos, float), np.asarray(neg, float)
    ranks = rankdata(np.concatenate([pos, neg]))
    n1, n0 = len(pos), len(neg)
    return float((ranks[:n1].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))
