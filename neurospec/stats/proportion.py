"""A share of successes (``hits`` of ``n``) with its exact Clopper-Pearson CI."""

from __future__ import annotations

from neurospec.stats.inference import CONFIDENCE, Estimate


def share_ci(hits: int, n: int, null: float = 0.5, *,
             confidence: float = CONFIDENCE) -> Estimate:
    """``hits / n`` with its exact (Clopper-Pearson) lower bound ``(lower, 1.0)`` and the
    one-sided binomial p-value of "the share exceeds ``null``", as
    ``scipy.stats.binomtest(..., alternative="greater")`` gives them.

    The bound is one-sided at ``(1 + confidence) / 2`` (97.5% for the default 95%): the
    lower end of the two-sided 95% interval, so a share claim passes a true null at most
    2.5% of the time like every other claim (a claim passes exactly when ``p <= 0.025``
    with ``null`` at its threshold).

    Example:
        >>> share_ci(9, 10, 0.5).ci
        (0.5549..., 1.0)
    """
    from scipy.stats import binomtest

    test = binomtest(int(hits), int(n), null, alternative="greater")
    ci = test.proportion_ci((1 + confidence) / 2, method="exact")
    return Estimate(hits / n, (float(ci.low), float(ci.high)), float(test.pvalue), int(n),
                    "Clopper-Pearson")
