"""A permutation confidence bound for a shift between two sets, and the skew check for one.

Two guards for where the bootstrap cannot see what it has not sampled:

- :func:`shift_test`: the bounds of a two-set difference ``mean(a) - mean(b)`` obtained
  by inverting a permutation test of the shift model ("``a - delta`` and ``b`` come from
  one distribution").  Exact for that model whatever the distribution: a sparse feature
  that fired on none of 30 ``than`` documents, or 10 skewed documents against 400, cannot
  make a false claim pass more than ``alpha`` of the time.  Measured (``python -m
  neurospec.calibrate``): without it, 400 vs 10 lognormal documents passed "difference >= 0"
  11% of the time and a sparse feature 6-8%, where 2.5% is nominal.
- :func:`skew_against`: the estimated skewness of a mean's sampling distribution,
  ``k3 / (n^2 se^3) = g1 / sqrt(n)``, signed so that positive means "towards failing the
  claim".  Above :data:`SKEW_LIMIT` no bootstrap or t bound keeps its level at that sample
  size (rare large values against the claim are missing from most samples; Sugden, Smith
  and Jones 2000 give the same order, n > 25 g1^2): :func:`~neurospec.stats.inference.mean_ci`
  then uses Cantelli's distribution-free bound, and above :data:`SKEW_REFUSE` it gives no
  verdict.  Measured on lognormal (sigma 1) changes against the claim: false passes 5.8% /
  6.2% at n = 30 / 100 without this, 1.0% / 1.8% with it.

Both are closed-form in the resampled quantities: the bound of every permutation is a
root of a linear function of the shift, so the whole confidence bound costs one set of
permutations (no search).
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from neurospec.stats.bootstrap import claim_p

SKEW_LIMIT = 0.2  # skewness of the mean's sampling distribution a bootstrap bound can bear
SKEW_LIMIT_TWO = 0.15  # the same for a difference of two sets' means (see guards.py)
SKEW_REFUSE = 0.35  # beyond: not even Cantelli's bound (its SE is underestimated), no verdict
GUARD_BELOW = 200  # the permutation guard runs when the smaller set has fewer documents
CHUNK = 1 << 22


def skewness_of_mean(x: NDArray[np.float64]) -> float:
    """Estimated skewness of the sampling distribution of ``mean(x)``: the unbiased third
    cumulant over ``n^2 se^3`` (NaN for fewer than 3 values or no spread)."""
    n = len(x)
    if n < 3:
        return math.nan
    d = x - x.mean()
    m2, m3 = float(np.dot(d, d)) / n, float(np.dot(d * d, d)) / n
    if not m2 > 0:
        return math.nan
    k3 = n * n / ((n - 1) * (n - 2)) * m3
    var = m2 * n / (n - 1)
    se3: float = (var / n) ** 1.5  # float ** float is Any in typeshed (complex below 0)
    return k3 / (n * n * se3)


def skew_against(x: NDArray[np.float64], direction: str) -> float:
    """:func:`skewness_of_mean` signed towards failing a claim ``mean direction threshold``:
    a long low tail works against '>=', a long high tail against '<=', either against
    'within'."""
    g = skewness_of_mean(x)
    if not math.isfinite(g):
        return math.nan
    return {">=": -g, "<=": g}.get(direction, abs(g))


def skewness_of_difference(a: NDArray[np.float64], b: NDArray[np.float64]) -> float:
    """Estimated skewness of the sampling distribution of ``mean(a) - mean(b)`` (independent
    sets): ``(k3_a / n_a^2 - k3_b / n_b^2) / se^3`` with unbiased third cumulants and the
    Welch ``se``; NaN for fewer than 3 values in a set or no spread.  A long right tail in
    ``b`` (a rare kind of document in the "than" set) makes it negative."""
    parts = []
    for x in (a, b):
        n = len(x)
        if n < 3:
            return math.nan
        d = x - x.mean()
        m2, m3 = float(np.dot(d, d)) / n, float(np.dot(d * d, d)) / n
        parts.append((n * n / ((n - 1) * (n - 2)) * m3 / (n * n), m2 * n / (n - 1) / n))
    var = parts[0][1] + parts[1][1]
    if not var > 0:
        return math.nan
    se3: float = var ** 1.5  # float ** float is Any in typeshed (complex below 0)
    return (parts[0][0] - parts[1][0]) / se3


def _critical_shifts(a: NDArray[np.float64], b: NDArray[np.float64], seed: int, n_perm: int
                     ) -> NDArray[np.float64]:
    """For each random relabelling of the pooled documents, the shift ``delta`` at which its
    difference of means equals the observed one once ``delta`` is taken off ``a``:
    ``+inf`` for relabellings that keep every document of ``a`` in group one."""
    na, nb = len(a), len(b)
    z = np.concatenate([a, b])
    total, n = float(z.sum()), na + nb
    small = min(na, nb)  # draw the smaller group's members
    t_obs = a.mean() - b.mean()
    rng = np.random.default_rng([seed, 11])
    out = []
    step = max(1, CHUNK // n)
    for start in range(0, n_perm, step):
        m = min(step, n_perm - start)
        keys = rng.random((m, n))
        members = np.argpartition(keys, small - 1, axis=1)[:, :small]
        s_small = z[members].sum(1)
        from_a = (members < na).sum(1)
        if na <= nb:
            s1, k = s_small, from_a
        else:  # the drawn group is group two
            s1, k = total - s_small, na - from_a
        t_perm = s1 / na - (total - s1) / nb
        c = k / na - (na - k) / nb
        with np.errstate(divide="ignore", invalid="ignore"):
            out.append(np.where(k == na, np.inf, (t_obs - t_perm) / (1 - c)))
    return np.concatenate(out)


def shift_test(a: NDArray[np.float64], b: NDArray[np.float64], *, alpha: float, seed: int,
               n_perm: int, threshold: float, direction: str) -> tuple[float, float, float]:
    """One-sided ``alpha`` lower and upper bounds on the shift between ``a`` and ``b``
    (``mean(a) - mean(b)`` under the shift model) by inverting a permutation test, and the
    permutation p of the claim "shift ``direction`` ``threshold``" ('>=', '<=', or 'within'
    ±threshold: the larger of its two one-sided p).  A bound is -inf / +inf where
    ``n_perm`` relabellings cannot reach ``alpha``; a bound equal to a relabelling's
    critical shift is moved one float outwards, so "bound clears threshold" holds exactly
    when ``p <= alpha``."""
    crit = _critical_shifts(a, b, seed, n_perm)
    finite = np.sort(crit[np.isfinite(crit)])
    fixed = len(crit) - len(finite)  # relabellings that count at every shift
    # p(delta) = (1 + fixed + #{crit <= delta}) / (n_perm + 1) for "shift > delta"; the lower
    # bound is the largest delta with p <= alpha, i.e. just below the (room+1)-th critical shift
    room = math.floor(alpha * (n_perm + 1) + 1e-9) - 1 - fixed
    ok = 0 <= room < len(finite)
    lo = float(np.nextafter(finite[room], -np.inf)) if ok else -math.inf
    hi = float(np.nextafter(finite[len(finite) - 1 - room], np.inf)) if ok else math.inf

    def p(t: float, side: str) -> float:
        count = np.searchsorted(finite, t, "right") if side == "lo" \
            else len(finite) - np.searchsorted(finite, t, "left")
        return float(min(1.0, (1 + fixed + count) / (n_perm + 1)))

    return lo, hi, claim_p(p, threshold, direction)
