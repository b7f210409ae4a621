"""Confidence intervals and p-values for claims (numpy / scipy only, seeded).

- Means and differences of means (paired changes, ``mean_diff`` of two sets) get a
  studentized bootstrap CI (bootstrap-t, Welch standard error for two sets).  Measured on
  the bundled model's skewed per-document values (``python -m neurospec.calibrate``), BCa
  let 4-5% of one-sided null claims pass at 30 documents where 2.5% is nominal.  The
  guards of :mod:`neurospec.stats.guards` widen it: no narrower than Student's t
  (Satterthwaite df, or the two-sided 97.5% level), Cantelli's bound on a side that faces a
  long tail; differences of small sets also clear a permutation test of the shift.
- Other statistics (Cohen's d) get a BCa bootstrap (plain percentile where BCa is not
  defined).  See :mod:`neurospec.stats.bootstrap` for how resamples without spread are
  handled: they widen a CI or leave it undefined, never shrink it.
- p-values test the claim as stated, against its threshold: the p of "effect >= t" is the
  smallest one-sided level whose bound from the *same* bootstrap still clears ``t``; a
  "within ±tol" claim takes the larger of its two one-sided p-values (TOST).  So a claim
  passes its 95% CI exactly when p <= 0.025, and Holm can recompute a CI at any level.
- Non-finite per-document values raise :class:`~neurospec.errors.NumericalError` naming
  the documents; a CI that cannot be computed is marked ``undefined`` and fails the claim.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from neurospec.errors import InvalidArgument, NumericalError
from neurospec.stats.bootstrap import (
    Percentile,
    Studentized,
    claim_p,
    percentile,
    resamples_for,
    studentized,
)
from neurospec.stats.effects import cohens_d, cohens_d_leave_one_out, mean_diff
from neurospec.stats.estimate import CONFIDENCE, DIRECTIONS, Estimate
from neurospec.stats.grouping import GroupIds, group_means
from neurospec.stats.guards import skew_guard, student_floor
from neurospec.stats.permutation import (
    GUARD_BELOW,
    SKEW_LIMIT,
    SKEW_LIMIT_TWO,
    shift_test,
    skewness_of_difference,
    skewness_of_mean,
)

# Estimate and CONFIDENCE are part of this module's interface (its functions return and take
# them); they live in stats.estimate so that stats.guards can use them without a cycle.
__all__ = ["CONFIDENCE", "Estimate", "check_finite", "mean_ci", "percentile_among",
           "permutation_p", "reestimate", "sign_flip_p", "studentized_ci", "two_sample"]


def check_finite(values: NDArray[np.float64], ids: tuple[str, ...] | list[str] | None = None,
                 what: str = "per-document values") -> NDArray[np.float64]:
    """``values`` as float64, or :class:`NumericalError` naming the non-finite documents."""
    x = np.asarray(values, dtype=np.float64)
    bad = np.flatnonzero(~np.isfinite(x))
    if len(bad):
        names = [f"{ids[i]!r}" if ids is not None and i < len(ids) else f"#{i}" for i in bad]
        kinds = sorted({"NaN" if np.isnan(x[i]) else f"{x[i]:+}" for i in bad})
        raise NumericalError(
            f"{what} are not finite ({', '.join(kinds)}) for {len(bad)} of {len(x)} documents: "
            f"{', '.join(names[:10])}{' ...' if len(bad) > 10 else ''}; a mean over them means "
            f"nothing. Check these documents (overflow in a low-precision dtype, an empty "
            f"document) or remove them from the set", value=[names[i] for i in range(len(bad))])
    return x


def _direction(direction: str) -> str:
    if direction not in DIRECTIONS:
        raise InvalidArgument(f"direction={direction!r}: use one of {DIRECTIONS}",
                              value=direction)
    return direction


def _decided(engine: Studentized | Percentile, estimate: float, n: int, method: str,
             confidence: float, threshold: float, direction: str, recipe: dict[str, Any]
             ) -> Estimate:
    alpha = (1 - confidence) / 2
    lo, hi = engine.bound("lo", alpha), engine.bound("hi", alpha)
    p = claim_p(engine.p_value, threshold, direction)
    undefined = ""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        undefined = (f"the {method} CI is undefined: too many resamples have no finite value "
                     f"(e.g. no spread in a resampled set)")
    return Estimate(float(estimate), (float(lo), float(hi)), float(p), n, method, undefined,
                    recipe)


def _undefined(estimate: float, n: int, method: str, why: str) -> Estimate:
    return Estimate(float(estimate), (math.nan, math.nan), math.nan, n, method, why)


def _without_spread(estimate: float, sets: tuple[NDArray[np.float64], ...],
                    recipe: dict[str, Any]) -> Estimate:
    """Sets with no spread (every document of a set has one value, e.g. an exact zero
    change on a model built by hand): the CI is that value, and counts only where it
    clears the threshold strictly; too few documents, or a value on the threshold, leave
    the CI undefined."""
    n = sum(len(x) for x in sets)
    threshold, direction = recipe["threshold"], recipe["direction"]
    if any(len(x) < 3 for x in sets) or not math.isfinite(estimate):
        return _undefined(estimate, n, "bootstrap-t", _no_spread(*sets))
    clears = {">=": estimate > threshold, "<=": estimate < threshold,
              "within": abs(estimate) < threshold}[direction]
    if not clears:
        return _undefined(estimate, n, "bootstrap-t", _no_spread(*sets))
    return Estimate(estimate, (estimate, estimate), 1 / (1 + resamples_for(0.025)), n,
                    "no spread: every document of each set has the same value", "", recipe)


def mean_ci(x: NDArray[np.float64], *, seed: int = 0, confidence: float = CONFIDENCE,
            threshold: float = 0.0, direction: str = ">=",
            ids: tuple[str, ...] | list[str] | None = None, groups: GroupIds | None = None
            ) -> Estimate:
    """Mean of per-document values with a studentized bootstrap CI and the p-value of the
    claim "mean ``direction`` ``threshold``" (``direction`` '>=', '<=' or 'within' ±threshold).

    ``groups`` (a group id per document): each group's documents count as one observation,
    their mean (near-copies, prompts of one template); ``n`` counts groups.

    Raises:
        NumericalError: a value is NaN or infinite (named by ``ids``).
    """
    x = group_means(check_finite(x, ids), groups)
    recipe = {"fn": "mean_ci", "x": x.tolist(), "seed": seed, "threshold": threshold,
              "direction": _direction(direction)}
    est = float(x.mean()) if len(x) else math.nan
    engine = studentized(x, None, seed, resamples_for((1 - confidence) / 2))
    if engine is None:
        return _without_spread(est, (x,), recipe)
    out = _decided(engine, est, len(x), "bootstrap-t (studentized)", confidence, threshold,
                   direction, recipe)
    se = float(np.std(x, ddof=1)) / math.sqrt(len(x))
    out = student_floor(out, [(x - est) / len(x)], se, confidence)
    n = len(x)
    return skew_guard(out, skewness_of_mean(x), se, confidence,
                      lambda g: math.ceil(n * (g / SKEW_LIMIT) ** 2))


def two_sample(a: NDArray[np.float64], b: NDArray[np.float64], *, measure: str = "mean_diff",
               seed: int = 0, confidence: float = CONFIDENCE, threshold: float = 0.0,
               direction: str = ">=", ids: tuple[tuple[str, ...], tuple[str, ...]] | None = None,
               groups: tuple[GroupIds | None, GroupIds | None] | None = None) -> Estimate:
    """Difference between two independent sets of documents.

    Args:
        measure: ``mean_diff`` (in the values' units; bootstrap-t, Welch) or ``cohens_d``
            (standardised; BCa bootstrap).
        threshold, direction: the claim the p-value tests (see :func:`mean_ci`).
        groups: (A's, B's) group id per document; a group counts as one observation.
    """
    fn = {"mean_diff": mean_diff, "cohens_d": cohens_d}.get(measure)
    if fn is None:
        raise InvalidArgument(f"measure={measure!r}: use 'mean_diff' or 'cohens_d'",
                              value=measure)
    a = group_means(check_finite(a, ids[0] if ids else None), groups and groups[0])
    b = group_means(check_finite(b, ids[1] if ids else None), groups and groups[1])
    recipe = {"fn": "two_sample", "a": a.tolist(), "b": b.tolist(), "measure": measure,
              "seed": seed, "threshold": threshold, "direction": _direction(direction)}
    n = len(a) + len(b)
    with np.errstate(all="ignore"):
        est = float(fn(a, b)) if len(a) > 1 and len(b) > 1 else math.nan
    b_resamples = resamples_for((1 - confidence) / 2)
    if measure == "mean_diff":
        engine = studentized(a, b, seed, b_resamples)
        if engine is None:
            return _without_spread(est, (a, b), recipe)
        out = _decided(engine, est, n, "bootstrap-t (studentized, Welch)", confidence,
                       threshold, direction, recipe)
        out = _guarded(out, a, b, 1.0, confidence, seed, b_resamples)
        out = student_floor(out, [(a - a.mean()) / len(a), (b.mean() - b) / len(b)],
                            engine.se, confidence)
        n = min(len(a), len(b))
        return skew_guard(out, skewness_of_difference(a, b), engine.se, confidence,
                          lambda g: math.ceil(n * (g / SKEW_LIMIT_TWO) ** 2),
                          "the difference of means", SKEW_LIMIT_TWO)
    if not math.isfinite(est):
        return _undefined(est, n, "bootstrap BCa", _no_spread(a, b))
    boot = percentile(lambda x, y: fn(x, y, axis=-1), (a, b), seed, b_resamples,
                      jackknife=cohens_d_leave_one_out)
    method = "bootstrap BCa" if boot.bca else "bootstrap percentile"
    out = _decided(boot, est, n, method, confidence, threshold, direction, recipe)
    sd = math.sqrt(((len(a) - 1) * a.var(ddof=1) + (len(b) - 1) * b.var(ddof=1))
                   / (len(a) + len(b) - 2))
    return _guarded(out, a, b, sd, confidence, seed, b_resamples)


def _guarded(out: Estimate, a: NDArray[np.float64], b: NDArray[np.float64], scale: float,
             confidence: float, seed: int, n_perm: int) -> Estimate:
    """``out`` widened to the permutation bounds of the shift (in units of ``scale``) when
    the smaller set has fewer than :data:`GUARD_BELOW` documents: the claim must clear both
    the bootstrap and the permutation test (p is the larger of the two)."""
    if min(len(a), len(b)) >= GUARD_BELOW or out.undefined or not scale > 0:
        return out
    threshold, direction = out.recipe["threshold"], out.recipe["direction"]
    lo, hi, p = shift_test(a / scale, b / scale, alpha=(1 - confidence) / 2, seed=seed,
                           n_perm=n_perm, threshold=threshold, direction=direction)
    ci = (min(out.ci[0], lo), max(out.ci[1], hi))
    return replace(out, ci=ci, p_value=max(out.p_value, p),
                   method=f"{out.method} and permutation test of a shift")


def _no_spread(*sets: NDArray[np.float64]) -> str:
    sizes = " and ".join(str(len(s)) for s in sets)
    return (f"no CI can be computed from {sizes} documents: too few (3 per set at least), or "
            f"all equal and not clearly past the threshold")


def reestimate(recipe: dict[str, Any], confidence: float) -> Estimate:
    """Redo the :func:`mean_ci` / :func:`two_sample` call ``recipe`` records (an
    :attr:`Estimate.recipe`) at another confidence level, e.g. a Holm-adjusted one."""
    args = {k: v for k, v in recipe.items() if k != "fn"}
    if recipe.get("fn") == "mean_ci":
        return mean_ci(np.asarray(args.pop("x")), confidence=confidence, **args)
    if recipe.get("fn") == "two_sample":
        return two_sample(np.asarray(args.pop("a")), np.asarray(args.pop("b")),
                          confidence=confidence, **args)
    raise InvalidArgument(f"cannot re-estimate {recipe.get('fn')!r}", value=recipe)


def studentized_ci(a: NDArray[np.float64], b: NDArray[np.float64] | None = None, *, seed: int = 0,
                   confidence: float = CONFIDENCE) -> tuple[float, float] | None:
    """Bootstrap-t CI of ``mean(a)`` (or ``mean(a) - mean(b)``); None without spread."""
    a = np.asarray(a, dtype=np.float64)
    b = None if b is None else np.asarray(b, dtype=np.float64)
    engine = studentized(a, b, seed, resamples_for((1 - confidence) / 2))
    if engine is None:
        return None
    alpha = (1 - confidence) / 2
    return engine.bound("lo", alpha), engine.bound("hi", alpha)


def _hits(null: NDArray[np.float64], obs: float, alternative: str, scale: float) -> int:
    # a tolerance relative to the values' scale: ties up to float residue count as extreme
    eps = 1e-9 * scale
    if alternative == "greater":
        return int(np.sum(null >= obs - eps))
    if alternative == "less":
        return int(np.sum(null <= obs + eps))
    return int(np.sum(np.abs(null) >= abs(obs) - eps))


def sign_flip_p(d: NDArray[np.float64], alternative: str = "greater", seed: int = 0,
                n_resamples: int = 9999) -> float:
    """Permutation p-value for mean(d) under the null that each d is symmetric about 0.

    Randomly flips the sign of each paired difference (exact in distribution under the
    null); ``p = (1 + #{resampled >= observed}) / (1 + n_resamples)``.
    """
    d = check_finite(d)
    if np.all(d == 0):
        return 1.0
    rng = np.random.default_rng(seed)
    signs = rng.integers(0, 2, size=(n_resamples, len(d)), dtype=np.int8) * 2 - 1
    null = signs @ d / len(d)
    scale = float(np.abs(d).mean())
    return float((1 + _hits(null, d.mean(), alternative, scale)) / (1 + n_resamples))


def permutation_p(a: NDArray[np.float64], b: NDArray[np.float64], alternative: str = "greater",
                  seed: int = 0, n_resamples: int = 9999) -> float:
    """Unpaired permutation p-value for ``mean(a) - mean(b)``: the documents' set labels are
    shuffled ``n_resamples`` times; ``p = (1 + #{permuted as extreme}) / (1 + n_resamples)``."""
    a, b = check_finite(a), check_finite(b)
    pooled = np.concatenate([a, b])
    rng = np.random.default_rng(seed)
    perms = rng.permuted(np.broadcast_to(pooled, (n_resamples, len(pooled))), axis=1)
    null = perms[:, :len(a)].mean(1) - perms[:, len(a):].mean(1)
    scale = float(np.abs(pooled - pooled.mean()).mean()) or float(np.abs(pooled).mean())
    return float((1 + _hits(null, a.mean() - b.mean(), alternative, scale)) / (1 + n_resamples))


def percentile_among(value: float, null: NDArray[np.float64]) -> float:
    """Percent of ``null`` values strictly below ``value``, ties counted half (0..100)."""
    null = np.asarray(null, dtype=np.float64)
    if len(null) == 0:
        return float("nan")
    return float(100 * (np.sum(null < value) + 0.5 * np.sum(null == value)) / len(null))
