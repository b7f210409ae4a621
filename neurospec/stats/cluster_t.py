"""A studentized bootstrap over documents for statistics of clustered tokens (token AUROC,
token d; a corpus's mean direct effect per token): the engine behind
:mod:`neurospec.stats.clustered` and :mod:`neurospec.stats.ratio`.

A statistic is given as a closed form of the two sets' document weights: for resample weights
``wa [m, n_a]`` and ``wb [m, n_b]`` (how often each document is drawn) it returns the
statistic and its cluster-robust standard error (the delta method over documents, each
document's influence squared, times ``n / (n - 1)``).  The bound on the transformed scale
``g`` (logit for an AUROC) is

    g(estimate) -/+ q * se_g,   q = max(q_boot, q_satt, q_floor)

- ``q_boot``: the bootstrap-t quantile (documents resampled, the SE recomputed in every
  resample); it follows the skew of the statistic as far as the sample shows it.  A resample
  without spread has an infinite t (it widens the bound, never shrinks it).
- ``q_satt``: Student's t with Satterthwaite degrees of freedom from the influence values,
  ``df = (sum u_i)^2 / sum u_i^2 - 1`` with ``u_i`` a document's squared influence: few
  documents that carry most of the variance (long documents, a rare genre) leave few degrees
  of freedom.
- ``q_floor``: Student's t with ``n - 1`` degrees of freedom for the smaller set, scaled by
  :func:`floor_scale` so that at the claims' level it is the two-sided 99% bound
  (:data:`TOKEN_FLOOR_TAIL`). Measured on the bundled corpora (``python -m
  neurospec.calibrate``, real-data rows): when a set mixes genres, the documents that pull the
  statistic against the claim are rare, most samples of 10-100 documents hold none, and those
  samples look tame -- no quantity computed from them can widen the bound (Bahadur and Savage
  1956).  The false-pass rate is carried by exactly those samples (0.035-0.057 with
  ``q_boot`` and ``q_satt`` alone for the German neuron's token AUROC); the floor is the
  measured margin that brings it to the nominal 0.025.  At the two-sided 97.5% bound (the
  floor of the means) the German neuron's token AUROC still passed 0.035 of boundary claims
  on 20 texts drawn from a 200-text mixed pool (3000 claims) and 0.042 on 12 German against
  60 French man pages (600 claims); at 99% (the full table, 2000 and 600 claims): 0.018
  and 0.022, and no token row above 0.022 (L1N221's token d apart, where no bound computed
  from a sample holds: see ``docs/calibration.md``), held-out pools and units included.  Its
  price: token CIs 15-21% wider than at 97.5% where the floor binds.

The p-value of "statistic >= t" is the largest of the three one-sided p-values, so a claim
passes at level ``alpha`` exactly when its bound clears the threshold.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import stats

# resample weights ``wa [m, n_a]``, ``wb [m, n_b]`` -> the statistic ``[m]`` and its SE ``[m]``
StatSE = Callable[[NDArray[np.float64], NDArray[np.float64]],
                  tuple[NDArray[np.float64], NDArray[np.float64]]]
# each set's documents' influence values on the statistic (on the data themselves)
Influence = Callable[[], list[NDArray[np.float64]]]


@dataclass(frozen=True)
class Scale:
    """A monotone transform and its derivative (the scale the t interval is built on)."""

    name: str
    g: Callable[[NDArray[np.float64]], NDArray[np.float64]]
    dg: Callable[[NDArray[np.float64]], NDArray[np.float64]]
    inverse: Callable[[NDArray[np.float64]], NDArray[np.float64]]


IDENTITY = Scale("identity", lambda x: x, lambda x: np.ones_like(x), lambda y: y)


def logit_scale(eps: float) -> Scale:
    """The logit, with values clipped to ``[eps, 1 - eps]`` (an AUROC of exactly 0 or 1)."""
    def clip(x: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.clip(x, eps, 1 - eps)
    return Scale("logit", lambda x: np.log(clip(x) / (1 - clip(x))),
                 lambda x: 1 / (clip(x) * (1 - clip(x))), lambda y: 1 / (1 + np.exp(-y)))


def counts(rng: np.random.Generator, m: int, n: int) -> NDArray[np.float64]:
    """``[m, n]`` how often each of ``n`` documents is drawn in each of ``m`` resamples."""
    idx = rng.integers(0, n, (m, n)) + n * np.arange(m)[:, None]
    return np.bincount(idx.ravel(), minlength=m * n).reshape(m, n).astype(np.float64)


NOMINAL_ALPHA = 0.025  # the claims' one-sided level, at which the floor is the 97.5% bound
MEAN_FLOOR_TAIL = NOMINAL_ALPHA / 2  # means: the two-sided 97.5% Student bound
TOKEN_FLOOR_TAIL = 0.005  # token AUROC and token d: the two-sided 99% Student bound


def floor_scale(n: int, tail: float = MEAN_FLOOR_TAIL) -> float:
    """How much wider than Student's t with ``n - 1`` df the floor is: ``t(1 - tail) /
    t(0.975)``, so that at the claims' level it is Student's bound at one-sided ``tail``
    (for means the two-sided 97.5% bound: 1.19 at n = 10, 1.16 at 30, 1.15 at 100; for token
    statistics the two-sided 99% bound: 1.44, 1.35, 1.32); at another level (Holm's) the same
    scale."""
    df = max(n - 1, 1)
    return float(stats.t.ppf(1 - tail, df) / stats.t.ppf(1 - NOMINAL_ALPHA, df))


def satterthwaite_df(influence: list[NDArray[np.float64]]) -> float:
    """``(sum u)^2 / sum u^2 - 1`` over every document's ``u = psi^2 n / (n - 1)``: the
    degrees of freedom of a cluster-robust variance whose terms are each one document's;
    at least 1."""
    u = np.concatenate([p * p * len(p) / (len(p) - 1) for p in influence])
    total, square = float(u.sum()), float((u * u).sum())
    return max(1.0, total * total / square - 1) if square > 0 else 1.0


def statistic_skewness(influence: list[NDArray[np.float64]]) -> float:
    """Estimated skewness of the statistic's sampling distribution from its documents'
    influence values (the unbiased third and second moments, sets added): ``k3 / se^3``;
    NaN without spread."""
    m2 = m3 = 0.0
    for p in influence:
        n = len(p)
        if n < 3:
            return math.nan
        m2 += float(np.dot(p, p)) * n / (n - 1)
        m3 += float(np.dot(p * p, p)) * n * n / ((n - 1) * (n - 2))
    return m3 / m2 ** 1.5 if m2 > 0 else math.nan


@dataclass(frozen=True)
class ClusterT:
    """The resampled quantities of one statistic, ready to give bounds and p-values."""

    estimate: float
    se: float  # on the statistic's own scale
    t: NDArray[np.float64]  # bootstrap-t values on the transformed scale
    df: float  # Satterthwaite degrees of freedom
    n_min: int  # documents (groups) in the smaller set
    scale: Scale

    @property
    def se_g(self) -> float:
        return float(self.se * self.scale.dg(np.array(self.estimate)))

    def _q(self, side: str, alpha: float) -> float:
        t = np.where(np.isnan(self.t), np.inf if side == "lo" else -np.inf, self.t)
        s = np.sort(t)
        if side == "lo":  # the upper alpha tail of t bounds the statistic from below
            boot = float(s[min(len(s) - 1, int(math.floor((1 - alpha) * len(s))))])
        else:
            boot = -float(s[max(0, int(math.floor(alpha * len(s))))])
        satt = float(stats.t.ppf(1 - alpha, self.df))
        df = max(self.n_min - 1, 1)
        floor = floor_scale(self.n_min, TOKEN_FLOOR_TAIL) * float(stats.t.ppf(1 - alpha, df))
        return max(boot, satt, floor)

    def bound(self, side: str, alpha: float) -> float:
        """One-sided bound ('lo' or 'hi') at level ``alpha`` on the statistic's scale."""
        q = self._q(side, alpha)
        if not math.isfinite(q):
            return -math.inf if side == "lo" else math.inf
        centre = float(self.scale.g(np.array(self.estimate)))
        return float(self.scale.inverse(np.array(centre - q * self.se_g if side == "lo"
                                                 else centre + q * self.se_g)))

    def p_value(self, threshold: float, side: str) -> float:
        """'lo': p of "statistic >= threshold"; 'hi': of "statistic <= threshold"."""
        g = self.scale.g
        t_obs = float((g(np.array(self.estimate)) - g(np.array(threshold))) / self.se_g)
        if side == "hi":
            t_obs = -t_obs
        t = np.where(np.isnan(self.t), np.inf if side == "lo" else -np.inf, self.t)
        extreme = np.sum(t >= t_obs) if side == "lo" else np.sum(-t >= t_obs)
        p_boot = (1 + extreme) / (1 + len(t))
        p_satt = float(stats.t.sf(t_obs, self.df))
        p_floor = float(stats.t.sf(t_obs / floor_scale(self.n_min, TOKEN_FLOOR_TAIL),
                                    max(self.n_min - 1, 1)))
        return float(max(p_boot, p_satt, p_floor))


def cluster_t(stat_se: StatSE, influence: Influence, n_a: int, n_b: int, *, seed: int,
              n_resamples: int, scale: Scale = IDENTITY) -> ClusterT | None:
    """Resample the documents of both sets ``n_resamples`` times (seeded) and studentize;
    None when the statistic or its SE is not finite and positive on the data themselves."""
    th0, se0 = stat_se(np.ones((1, n_a)), np.ones((1, n_b)))
    est, se = float(th0[0]), float(se0[0])
    if not (math.isfinite(est) and math.isfinite(se) and se > 0):
        return None
    rng = np.random.default_rng([seed, 13])
    ts = []
    step = max(1, (1 << 22) // max(1, n_a * n_b))
    centre = scale.g(np.array(est))
    for start in range(0, n_resamples, step):
        m = min(step, n_resamples - start)
        th, s = stat_se(counts(rng, m, n_a), counts(rng, m, n_b))
        with np.errstate(all="ignore"):
            t = (scale.g(th) - centre) / (s * scale.dg(th))
            # no spread in a resample: infinitely far on its own side (NaN: on both sides)
            t = np.where(np.isfinite(th) & ~(s > 0),
                         np.where(th == est, np.nan, np.sign(th - est) * np.inf), t)
            t = np.where(np.isfinite(th), t, np.nan)
        ts.append(t)
    df = satterthwaite_df(influence())
    return ClusterT(est, se, np.concatenate(ts), df, min(n_a, n_b), scale)
