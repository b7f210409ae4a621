"""Guards that widen a mean's (or a difference of means') bootstrap CI where the bootstrap
cannot see what its sample lacks.  Each takes an :class:`~neurospec.stats.inference.Estimate`
whose ``recipe`` holds the claim (threshold, direction) and returns it widened, its p the
largest of the p-values of the bounds it now respects (so a claim passes at level ``alpha``
exactly when ``p <= alpha``).

- :func:`student_floor`: Student's t with Satterthwaite degrees of freedom (each document's
  squared deviation its own variance term: a few documents that carry most of the variance
  leave few degrees of freedom), and Student's t at the two-sided 97.5% level with ``n - 1``
  df of the smaller set.  Measured on the bundled corpora (``python -m neurospec.calibrate``,
  real-data rows): sets that mix genres hold rare documents most samples of 10-100 lack;
  those samples look tame, and the bootstrap-t alone passed 3.3-4.6% of boundary claims.
- :func:`skew_guard`: a side of the CI that faces a long tail of the values (the mean's
  sampling distribution skewed against that side by more than :data:`SKEW_LIMIT`) gets
  Cantelli's bound, ``estimate -/+ sqrt((1 - a) / a) se``, valid for every distribution with
  that variance.  Beyond :data:`SKEW_REFUSE` even that SE is too small (the rare values that
  carry the mean are missing from most samples) and that side cannot pass at any level; the
  claim has no verdict (``undefined``) only where it would pass on the other bounds, and
  fails as any other claim where those bounds already reject it.  A side facing no tail
  keeps its bound: an equivalence claim ("within +/- tol") on changes with a long low tail
  is guarded below, not above.  Measured (the German neuron mean-ablated, English documents,
  skewness of the changes -4): 58/60/30% of "changes loss by less than 0.01 nats" claims at
  n = 10/30/100 had no verdict when every sample that skewed was refused, 8/27/26% now, and
  claims at their boundary pass 1.2/2.0/2.8% of the time.  For two sets the limit is
  :data:`SKEW_LIMIT_TWO` (0.15): with 0.2, 30-100 lognormal (sigma 1) "than" documents
  against normal ones passed 4.5-5.5% of boundary claims, 2.3% with 0.15 (0.1 cost the
  power of sparse SAE features: 0.85 at d = 0.8, n = 100).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace

import numpy as np
from numpy.typing import NDArray
from scipy import stats

from neurospec.stats.bootstrap import claim_p
from neurospec.stats.cluster_t import MEAN_FLOOR_TAIL, floor_scale, satterthwaite_df
from neurospec.stats.estimate import Estimate
from neurospec.stats.permutation import SKEW_LIMIT, SKEW_REFUSE

SIDES = {">=": ("lo",), "<=": ("hi",), "within": ("lo", "hi")}
# An equivalence claim ("within +/- tol": a change that leaves something untouched) passes on
# two bounds at once, on changes near zero whose rare large values (the documents a change
# hits hard) most samples lack.  Measured (the German neuron mean-ablated, English documents,
# skewness -4, the truth at the tolerance, 2000 claims): 3.2-3.5% false passes at 30 and 100
# documents with the two-sided 97.5% floor, 2.0-2.5% with the 99% floor; the share without a
# verdict is the skew guard's and does not change (12 / 27 / 27% at n = 10 / 30 / 100).
EQUIVALENCE_FLOOR_TAIL = 0.005


def _bounds_p(out: Estimate, bound: Callable[[str], float],
              p_side: Callable[[float, str], float], label: str) -> Estimate:
    """``out`` widened to ``bound(side)`` on the sides the claim faces, p the larger of its
    own and ``claim_p(p_side)``."""
    threshold, direction = out.recipe["threshold"], out.recipe["direction"]
    lo, hi = out.ci
    lo, hi = min(lo, bound("lo")), max(hi, bound("hi"))
    return replace(out, ci=(lo, hi), p_value=max(out.p_value, claim_p(p_side, threshold,
                                                                      direction)),
                   method=f"{out.method}{label}")


def student_floor(out: Estimate, influence: list[NDArray[np.float64]], se: float,
                  confidence: float) -> Estimate:
    """``out`` no narrower than Student's t with ``n - 1`` df of the smallest set; on the
    side(s) the claim faces, also no narrower than Student's t with Satterthwaite df from
    ``influence`` (each document's share of the estimate's deviation) and than the floor of
    :func:`~neurospec.stats.cluster_t.floor_scale` (the two-sided 97.5% bound at the claims'
    level; the two-sided 99% bound for an equivalence claim, :data:`EQUIVALENCE_FLOOR_TAIL`)."""
    if out.undefined or not se > 0:
        return out
    alpha = (1 - confidence) / 2
    df = satterthwaite_df(influence)
    n = min(len(p) for p in influence)
    within = out.recipe["direction"] == "within"
    tail = EQUIVALENCE_FLOOR_TAIL if within else MEAN_FLOOR_TAIL
    n1, scale = max(n - 1, 1), floor_scale(n, tail)
    q_t = float(stats.t.ppf(1 - alpha, n1))
    q = max(float(stats.t.ppf(1 - alpha, df)), scale * q_t)
    facing = SIDES[out.recipe["direction"]]

    def bound(s: str) -> float:
        k = q if s in facing else q_t
        return out.estimate - k * se if s == "lo" else out.estimate + k * se

    def p(th: float, side: str) -> float:
        z = (out.estimate - th) / se if side == "lo" else (th - out.estimate) / se
        return float(max(stats.t.sf(z, df), stats.t.sf(z / scale, n1)))

    return _bounds_p(out, bound, p,
                     f"; no narrower than Student's t (Satterthwaite df {df:.1f}, or "
                     f"two-sided {'99' if within else '97.5'}% with {n1} df)")


def _cantelli_p(estimate: float, se: float) -> Callable[[float, str], float]:
    def p(t: float, side: str) -> float:
        z = (estimate - t) / se if side == "lo" else (t - estimate) / se
        return 1.0 if z <= 0 else 1 / (1 + z * z)
    return p


def skew_guard(out: Estimate, skew: float, se: float, confidence: float,
               need: Callable[[float], int], what: str = "the mean",
               limit: float = SKEW_LIMIT) -> Estimate:
    """``out`` guarded, side by side, against a skewed sampling distribution.

    Args:
        skew: estimated skewness of the statistic's sampling distribution (positive: a long
            high tail, which works against an upper bound).
        se: the statistic's standard error.
        need: documents per set that would bring ``skew`` down to ``limit``.
        limit: the skewness from which a side gets Cantelli's bound.
    """
    if out.undefined or not math.isfinite(skew) or not se > 0:
        return out
    alpha = (1 - confidence) / 2
    k = math.sqrt((1 - alpha) / alpha)
    threshold, direction = out.recipe["threshold"], out.recipe["direction"]
    against = {"lo": -skew, "hi": skew}
    guarded = [s for s in SIDES[direction] if against[s] > limit]
    if not guarded:
        return out
    refused = [s for s in guarded if against[s] > SKEW_REFUSE]
    cantelli = _cantelli_p(out.estimate, se)

    def bound(s: str) -> float:
        if s not in guarded:
            return math.inf if s == "lo" else -math.inf
        return out.estimate - k * se if s == "lo" else out.estimate + k * se

    def p(t: float, s: str) -> float:
        if s in refused:  # no level at which this side could pass
            return 1.0
        return cantelli(t, s) if s in guarded else 0.0

    g = max(against[s] for s in guarded)
    new = _bounds_p(out, bound, p, (
        f"; skewed against the claim (skewness of {what} {g:.2g} > {limit:g}: no bootstrap "
        f"or t bound keeps its level, so the bound facing it is Cantelli's, estimate -/+ "
        f"{k:.2f} SE; about {need(g)} documents per set would make the bootstrap bound "
        f"valid)"))
    if refused and _clears(out.ci, threshold, direction):
        # the claim would pass on the bootstrap and t bounds: only the tail decides
        new = replace(new, undefined=(
            f"no test of {what} is valid here: the per-document values have a long tail "
            f"against the claim (skewness of {what}'s sampling distribution {g:.2g} > "
            f"{SKEW_REFUSE}), so the rare large values that carry it are missing from most "
            f"samples of this size; measure more documents (about {need(g)} per set for "
            f"this skewness)"))
    return new


def _clears(ci: tuple[float, float], threshold: float, direction: str) -> bool:
    lo, hi = ci
    if direction == ">=":
        return lo >= threshold
    if direction == "<=":
        return hi <= threshold
    return -threshold <= lo and hi <= threshold
