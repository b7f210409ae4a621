"""A share of successes (``hits`` of ``n``) with its exact Clopper-Pearson CI."""

from __future__ import annotations

from neurospec.stats.inference import CONFIDENCE, Estimate


def share_ci(hits: int, n: int, null: float = 0.5, *,
             confidence: float = CONFIDENCE) -> Estimate:
    """``hits / n`` with the one-sided exact (Clopper-Pearson) ``confidence`` bound
    ``(lower, 1.0)`` and the one-sided binomial p-value of "the share exceeds ``null``",
    as ``scipy.stats.binomtest(..., alternative="greater")`` gives them.

    Example:
        >>> share_ci(9, 10, 0.5).ci
        (0.6058..., 1.0)
    """
    from scipy.stats import binomtest

    test = binomtest(int(hits), int(n), null, alternative="greater")
    ci = test.proportion_ci(confidence, method="exact")
    return Estimate(hits / n, (float(ci.low), float(ci.high)), float(test.pvalue), int(n),
                    "Clopper-Pearson")
