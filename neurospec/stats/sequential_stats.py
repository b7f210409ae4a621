"""The estimate and standard error of each statistic a sequential claim looks at, on the
documents seen so far (groups of near-copies pooled into one unit), and the guards a look
must pass before it may stop a claim.

The SEs are the closed forms the fixed-n CIs studentize with: Welch's for a difference of
group means, the plain SE of a mean for paired changes, the cluster-robust SEs of
:mod:`neurospec.stats.clustered` for token AUROC and token d (documents resampled whole).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from neurospec.errors import InvalidArgument
from neurospec.stats.cluster_t import satterthwaite_df
from neurospec.stats.clustered import _auc_se, _d_se, doc_sums, pair_counts, pool_groups
from neurospec.stats.grouping import GroupIds, group_means
from neurospec.stats.permutation import (
    skewness_of_difference,
    skewness_of_mean,
)
from neurospec.stats.sequential import (
    ALPHA,
    Look,
    SequenceResult,
    decision,
    normal_bounds,
    running,
    schedule,
)

METRICS = ("mean", "mean_diff", "token_auroc", "token_d")
MIN_UNITS = 20  # no look stops a claim before each set has this many groups (SEs settle)
# A look may not stop a claim when the mean's sampling distribution is skewed *against* the
# claim beyond this (a long tail of values that would fail it, rarely sampled): half the
# fixed-n guard's limit, because a sequence looks many times.  Measured on lognormal (sigma 1)
# paired changes against a claim, 100 documents, first look at 10: 8.9% false passes with
# no guard, 5.8% at 0.2 and at least 20 units, 0.65% at 0.1 (power at d = 0.5: 0.99 -> 0.98).
SKEW_LOOK = 0.1
_SIGN = {">=": -1.0, "<=": 1.0}


def _ones(n: int) -> NDArray[np.float64]:
    return np.ones((1, n))


def estimate_se(metric: str, a: Sequence[NDArray[np.float64]] | NDArray[np.float64],
                b: Sequence[NDArray[np.float64]] | NDArray[np.float64] | None = None,
                groups: tuple[GroupIds | None, GroupIds | None] = (None, None),
                direction: str = ">=") -> tuple[float, float, int, bool]:
    """``(estimate, se, units, decidable)`` of ``metric`` on the documents so far; ``se``
    is scaled by the Student factor :func:`student_factor` (Satterthwaite df), as the
    fixed-n CIs' Student floor widens them.

    Args:
        metric: ``mean`` (``a``: one value per document, e.g. a paired loss change),
            ``mean_diff`` (``a``, ``b``: document means of two sets), ``token_auroc`` or
            ``token_d`` (``a``, ``b``: per-document token arrays).
        groups: a group id per document of each set; a group counts as one unit.

    ``units`` counts groups of both sets; ``decidable`` is False where the look may not stop
    the claim: fewer than :data:`MIN_UNITS` groups in a set, or a sampling distribution too
    skewed for a normal boundary (the limits of the fixed-n skew guard).
    """
    if metric == "mean":
        x = group_means(np.asarray(a, dtype=np.float64), groups[0])
        n = len(x)
        if n < 3:
            return float(x.mean()) if n else math.nan, math.nan, n, False
        se = float(np.std(x, ddof=1)) / math.sqrt(n) * student_factor(n - 1)
        ok = n >= MIN_UNITS and _tame(skewness_of_mean(x), direction)
        return float(x.mean()), se, n, ok
    if b is None:
        raise InvalidArgument(f"metric={metric!r} compares two sets: give b", value=metric)
    if metric == "mean_diff":
        xa = group_means(np.asarray(a, dtype=np.float64), groups[0])
        xb = group_means(np.asarray(b, dtype=np.float64), groups[1])
        n = len(xa) + len(xb)
        if min(len(xa), len(xb)) < 3:
            return math.nan, math.nan, n, False
        ea, eb = (xa - xa.mean()) / len(xa), (xb - xb.mean()) / len(xb)
        se = (math.sqrt(xa.var(ddof=1) / len(xa) + xb.var(ddof=1) / len(xb))
              * student_factor(satterthwaite_df([ea, eb])))
        ok = (min(len(xa), len(xb)) >= MIN_UNITS
              and _tame(skewness_of_difference(xa, xb), direction))
        return float(xa.mean() - xb.mean()), se, n, ok
    if metric not in METRICS:
        raise InvalidArgument(f"metric={metric!r}: use one of {METRICS}", value=metric)
    da = pool_groups(list(a), groups[0])
    db = pool_groups(list(b), groups[1])
    n_a, n_b = len(da), len(db)
    if min(n_a, n_b) < 3:
        return math.nan, math.nan, n_a + n_b, False
    if metric == "token_auroc":
        pairs, na, nb = pair_counts(da, db)
        stat_se, influence = _auc_se(pairs, na, nb)
    else:
        flat = np.concatenate([np.concatenate(da), np.concatenate(db)])
        centre = float(flat.mean())
        stat_se, influence = _d_se(doc_sums(da, centre), doc_sums(db, centre))
    th_se = stat_se(_ones(n_a), _ones(n_b))
    est = float(th_se[0][0])
    with np.errstate(all="ignore"):
        s = float(th_se[1][0]) * student_factor(satterthwaite_df(influence()))
    ok = min(n_a, n_b) >= MIN_UNITS and math.isfinite(s) and s > 0
    return est, s, n_a + n_b, ok


def student_factor(df: float) -> float:
    """``t_{0.975, df} / z_{0.975}``: how much wider Student's t is than the normal at the
    fixed-n CIs' level.  Measured on the German neuron's real token AUROC at its pool value
    (100 documents per set, first look at 20): false passes 2.8% with the normal SE, 1.4%
    with this factor."""
    from scipy.stats import norm, t

    if not df > 0 or not math.isfinite(df):
        return 1.0 if df == math.inf else math.inf
    return float(t.ppf(0.975, df) / norm.ppf(0.975))


def _tame(g: float, direction: str) -> bool:
    """The skewness ``g`` of a mean (or difference) does not face the claim beyond
    :data:`SKEW_LOOK` (a 'within' claim faces both tails); NaN (no spread) is not tame."""
    if not math.isfinite(g):
        return False
    return _SIGN.get(direction, 0.0) * g <= SKEW_LOOK and (
        direction in _SIGN or abs(g) <= SKEW_LOOK)


def look_at(looks: tuple[Look, ...], metric: str, a: Any, b: Any, groups: tuple[Any, Any],
            n_max: int, alpha: float = ALPHA, direction: str = ">=") -> tuple[Look, ...]:
    """``looks`` with one more look at the documents ``a`` (and ``b``) seen so far; ``n_max``
    counts the units (groups) of both sets when every document is seen."""
    est, se, n, ok = estimate_se(metric, a, b, groups, direction)
    lo, hi = normal_bounds(est, se, n, n_max, alpha, logit=metric == "token_auroc")
    return running(looks, n, est, se, lo, hi, ok)


def decided(looks: tuple[Look, ...], threshold: float, direction: str) -> bool:
    """Whether the last look stops the claim (a pass needs a decidable look)."""
    k = looks[-1]
    d = decision(k.lo, k.hi, threshold, direction)
    return d == "fail" or (d == "pass" and k.decidable)


def sequence_on(metric: str, a: Any, b: Any = None, *, threshold: float, direction: str = ">=",
                first: int = 20, ratio: float = 1.5, groups: tuple[Any, Any] = (None, None),
                alpha: float = ALPHA) -> SequenceResult:
    """The sequential claim on documents already in their (random) order: look after each
    batch of the schedule (``first`` documents per set, growing by ``ratio``), stop when the
    sequence decides.  What the claims do as they measure, for calibration and tests.

    ``groups``: group ids per document; documents of a group must be adjacent (the claims
    order groups, not documents), and batches end on a group boundary.
    """
    sets = [s for s in (a, b) if s is not None]
    lens = [len(s) for s in sets]
    n_max_units = sum(len(np.unique(g)) if g is not None else n
                      for g, n in zip(groups, lens))
    looks: tuple[Look, ...] = ()
    big = max(lens)
    for size in schedule(big, first, ratio):
        cut = [_cut(n, size, big, g) for n, g in zip(lens, groups)]
        pa = a[:cut[0]]
        pb = None if b is None else b[:cut[1]]
        gs = tuple(None if g is None else np.asarray(g)[:c] for g, c in zip(groups, cut))
        looks = look_at(looks, metric, pa, pb, (gs[0], gs[1] if len(gs) > 1 else None),
                        n_max_units, alpha, direction)
        if decided(looks, threshold, direction):
            break
    return SequenceResult(looks, n_max_units, threshold, direction,
                          "asymptotic confidence sequence (normal mixture)", alpha)


def _cut(n: int, size: int, big: int, groups: Any) -> int:
    """How many of a set's ``n`` documents a look at ``size`` of the largest set's ``big``
    sees (sets advance in proportion), moved forward to the end of a group."""
    k = n if size >= big else max(1, min(n, int(round(n * size / big))))
    if groups is not None and 0 < k < n:
        g = np.asarray(groups)
        while k < n and g[k] == g[k - 1]:
            k += 1
    return k
