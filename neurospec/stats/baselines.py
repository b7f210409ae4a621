"""Random-unit baselines: what a unit's rank among random units of its layer shows.

Two different questions:

- **Exchangeability** (:func:`rank_p`): "is the unit's effect one more draw of its layer's?"
  ``p = (1 + #{random units at least as extreme}) / (k + 1)`` is exact for a unit
  exchangeable with the random ones, and *only* for it: a unit whose true effect beats 97.25%
  of its layer is not exchangeable with it, and passes "p <= 0.025 with k = 39" 16-37% of the
  time.  So a passing rank test shows the unit stands out; it says nothing about the share of
  the layer it beats.
- **A percentile** (:func:`percentile_test`): "does the unit's true effect exceed that of at
  least ``q`` of its layer's units?"  If it did not, at least a share ``1 - q`` of the layer
  would be at or above it, and among ``k`` random units the count ``Y`` of those would be
  ``Binomial(k, >= 1 - q)``.  The effects are measured with noise, so a random unit counts as
  below the unit only when *shown* below it: its difference from the unit clears a one-sided
  z test at level ``alpha / (2k)`` (the unit's and the random unit's standard errors added).
  Then the count ``X`` of random units not shown below is at least ``Y`` except with
  probability ``alpha / 2`` (a union over the ``k`` comparisons), and the claim passes when
  ``P(Binomial(k, 1 - q) <= X) <= alpha / 2``: the false-pass rate is at most ``alpha`` for any
  layer.  It needs ``q ** k <= alpha / 2`` (k >= 86 for 95%, 174 for 97.5% at alpha 0.025).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from scipy import stats


def rank_p(value: float, null: Sequence[float]) -> float:
    """``(1 + #{null >= value}) / (len(null) + 1)``: exact under exchangeability (NaN
    without a null)."""
    if not len(null):
        return float("nan")
    return (1 + sum(v >= value for v in null)) / (len(null) + 1)


@dataclass(frozen=True)
class PercentileTest:
    """The outcome of :func:`percentile_test`."""

    p_value: float  # P(Binomial(k, 1 - q) <= not_below): passes when <= alpha / 2
    not_below: int  # random units not shown below the unit
    k: int
    level: float  # alpha / 2, the binomial test's level
    min_k: int  # the fewest random units with which q can be shown at all

    @property
    def passed(self) -> bool:
        return self.p_value <= self.level + 1e-12


def min_units(percentile: float, alpha: float) -> int:
    """The fewest random units with which ``percentile`` (0..100) can be shown at level
    ``alpha``: ``q ** k <= alpha / 2``."""
    q = percentile / 100
    if q <= 0:
        return 1
    if q >= 1:
        # no number of units can show the 100th percentile; typed int for the callers, which
        # take percentiles strictly below 100 (beats_percentile_of_layer checks it first)
        return math.inf  # type: ignore[return-value]
    return math.ceil(math.log(alpha / 2) / math.log(q))


def percentile_test(value: float, se: float, null: Sequence[float], null_se: Sequence[float],
                    percentile: float, alpha: float = 0.025) -> PercentileTest:
    """Test "the unit's true effect is above ``percentile`` % of its layer's" (larger is
    better) from its effect ``value`` (standard error ``se``) and ``k`` random units' effects
    and standard errors; see the module docstring.  Non-finite standard errors count as
    "not shown below"."""
    k = len(null)
    z = stats.norm.isf(alpha / (2 * max(k, 1)))
    not_below = 0
    for v, s in zip(null, null_se):
        spread = math.sqrt(se * se + s * s)
        shown = math.isfinite(spread) and spread > 0 and (value - v) / spread > z
        shown = shown or (spread == 0 and value > v)
        not_below += not shown
    q = percentile / 100
    p = float(stats.binom.cdf(not_below, k, 1 - q)) if k else 1.0
    return PercentileTest(p, not_below, k, alpha / 2, min_units(percentile, alpha))
