"""Bootstrap over documents for statistics of a whole matrix of per-document values
(e.g. a sweep: units x documents), where the statistic re-ranks units in every resample."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

Values = NDArray[np.float64] | NDArray[np.int64]  # a statistic's values: shares or ranks
Statistic = Callable[[NDArray[np.float64]], Values]  # ``[..., units]`` means -> ``[...]``


def bootstrap_rows(matrix: NDArray[np.float64], statistic: Statistic, *, seed: int = 0,
                   n_resamples: int = 2000, confidence: float = 0.95
                   ) -> tuple[float, tuple[float, float], Values]:
    """Percentile bootstrap of ``statistic(column_means)`` resampling the columns (documents).

    Args:
        matrix: ``[units, docs]`` values.
        statistic: maps ``[..., units]`` means to ``[...]`` values (vectorised).

    Returns:
        (estimate, (lo, hi), the resampled values).
    """
    boot = statistic(bootstrap_means(matrix, seed=seed, n_resamples=n_resamples))
    est = float(statistic(matrix.mean(1)[None])[0])
    alpha = (1 - confidence) / 2
    lo, hi = np.quantile(boot, [alpha, 1 - alpha])
    return est, (float(lo), float(hi)), boot


def bootstrap_means(matrix: NDArray[np.float64], *, seed: int = 0,
                    n_resamples: int = 2000) -> NDArray[np.float64]:
    """Row means of ``matrix [units, docs]`` under resampled documents: ``[B, units]``."""
    docs = matrix.shape[1]
    rng = np.random.default_rng(seed)
    counts = rng.multinomial(docs, np.full(docs, 1 / docs), size=n_resamples)  # [B, docs]
    means: NDArray[np.float64] = counts @ matrix.T / docs  # int @ float: Any in numpy's stubs
    return means


def top_k_share(k: int) -> Callable[[NDArray[np.float64]], NDArray[np.float64]]:
    """Share of the summed absolute effect carried by the k largest effects."""
    def stat(means: NDArray[np.float64]) -> NDArray[np.float64]:
        top = -np.sort(-means, axis=-1)[..., :k].sum(-1)
        total = np.abs(means).sum(-1)
        return np.where(total > 0, top / np.where(total > 0, total, 1), 0.0)
    return stat


def rank_of(index: int) -> Callable[[NDArray[np.float64]], NDArray[np.int64]]:
    """1-based rank of unit ``index`` by effect, largest first."""
    def stat(means: NDArray[np.float64]) -> NDArray[np.int64]:
        # a sum along an axis is Any in numpy's stubs (an array or a scalar by the rank)
        above: NDArray[np.int64] = (means > means[..., index:index + 1]).sum(-1)
        return 1 + above
    return stat
