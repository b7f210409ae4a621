"""A ratio of document sums (an effect summed over a document's tokens, over its token count)
with the studentized bootstrap over documents of :mod:`neurospec.stats.cluster_t`: the
corpus's mean per token, ``R = sum_d s_d / sum_d t_d``, the statistic of ``drives()`` and of
path claims between transcoder features.

The SE is cluster-robust (the delta method over documents): each document's influence is
``(s_d - R t_d) / sum t``.  The bound is no narrower than Student's t with Satterthwaite df or
the two-sided 99% Student bound with ``n - 1`` df (the engine's floors, as for token
statistics): the percentile bootstrap it replaces passed 4.3% of claims set exactly at the
pool value at n = 10 (``python -m neurospec.calibrate``, transcoder edge rows).
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from neurospec.stats.bootstrap import claim_p
from neurospec.stats.cluster_t import cluster_t
from neurospec.stats.inference import CONFIDENCE, Estimate

N_RESAMPLES = 2000
WHAT = "mean per token (document sums over their tokens)"


def ratio_ci(sums: NDArray[np.float64], tokens: NDArray[np.float64], *, seed: int = 0,
             threshold: float = 0.0, direction: str = ">=", confidence: float = CONFIDENCE,
             n_resamples: int = N_RESAMPLES) -> Estimate:
    """``sum(sums) / sum(tokens)`` with its CI resampling documents; undefined (NaN CI, a
    reason) for non-finite values, fewer than 2 documents or no spread."""
    s, t = np.asarray(sums, float), np.asarray(tokens, float)
    n = len(s)
    with np.errstate(divide="ignore", invalid="ignore"):
        est = float(s.sum() / t.sum())

    def undefined(why: str) -> Estimate:
        return Estimate(est, (math.nan, math.nan), math.nan, n, WHAT,
                        f"the CI of the {WHAT} is undefined: {why}")
    if not (np.isfinite(s).all() and np.isfinite(t).all()) or not math.isfinite(est):
        return undefined("a value is not finite, or no document has a counted token")
    if n < 2:
        return undefined("fewer than 2 documents")

    def stat_se(wa: NDArray[np.float64], wb: NDArray[np.float64]
                ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        with np.errstate(divide="ignore", invalid="ignore"):
            total = wa @ t
            r = (wa @ s) / total
            psi = (s[None] - r[:, None] * t[None]) / total[:, None]
            var = np.einsum("mi,mi->m", wa, psi * psi) * n / (n - 1)
        return r, np.sqrt(var)

    def influence() -> list[NDArray[np.float64]]:
        psi = (s - est * t) / t.sum()
        return [psi, np.zeros(n)]  # the engine's second set: none (zero influence)

    engine = cluster_t(stat_se, influence, n, n, seed=seed, n_resamples=n_resamples)
    if engine is None:
        return undefined("no spread (every document alike)")
    alpha = (1 - confidence) / 2
    lo, hi = engine.bound("lo", alpha), engine.bound("hi", alpha)
    method = (f"{WHAT}; studentized bootstrap over documents, bound no narrower than Student's "
              f"t with Satterthwaite df ({engine.df:.1f}) or at the two-sided 97.5% level "
              f"({n - 1} df)")
    why = "" if math.isfinite(lo) and math.isfinite(hi) else (
        f"the CI of the {WHAT} is undefined: too many resamples without spread")
    return Estimate(est, (lo, hi), claim_p(engine.p_value, threshold, direction), n, method,
                    why)
