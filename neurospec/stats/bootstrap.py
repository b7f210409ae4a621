"""Bootstrap engines behind every CI and p-value (numpy / scipy only, seeded).

Two engines, each a resampled distribution that can be asked for a bound at any level and
*inverted*: the p-value of "the statistic is >= t" is the smallest one-sided level whose
bound still clears ``t``, so a claim passes at level ``alpha`` exactly when ``p <= alpha``.

- :class:`Studentized` (bootstrap-t) for means and differences of means.  A resample whose
  values are all equal has no standard error: its t is infinite (towards its own side; both
  sides when it sits exactly on the estimate).  Such resamples are never dropped, so they
  can only widen a bound; where more than ``alpha`` of them fall in one tail the bootstrap-t
  bound of that side is undefined and the more conservative of the percentile and Student-t
  bounds is used instead (``mean_ci([0] * 9 + [1])``: upper bound 0.33, not 2.5e7).
- :class:`Percentile` (BCa when its jackknife is finite, else plain percentile) for any
  other statistic (Cohen's d).  A NaN resample counts against the claim on either side
  (below every lower bound, above every upper bound), an infinite one stays infinite: a
  non-finite resample never shrinks a CI, and a bound that lands on one is undefined.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import stats

N_RESAMPLES = 4000
CHUNK = 1 << 22  # resampled values held at once


def resamples_for(alpha: float) -> int:
    """Enough resamples that the ``alpha`` tail holds at least 20 of them."""
    return max(N_RESAMPLES, math.ceil(20 / max(alpha, 1e-9)))


def _side(values: NDArray[np.float64], side: str) -> NDArray[np.float64]:
    """NaN pushed to the end that works against a bound on ``side`` ('lo' or 'hi')."""
    return np.where(np.isnan(values), -np.inf if side == "lo" else np.inf, values)


def _tail(values: NDArray[np.float64], q: float) -> float:
    """The ``q`` quantile by the 'lower' order statistic rule, infinities kept."""
    s = np.sort(values)
    i = min(len(s) - 1, max(0, int(math.floor(q * len(s)))))
    return float(s[i])


@dataclass(frozen=True)
class Studentized:
    """Bootstrap-t of a mean (one set) or a difference of means (two sets, Welch SE)."""

    estimate: float
    se: float
    t: NDArray[np.float64]  # resampled (estimate* - estimate) / se*, infinite where se* = 0
    shifted: NDArray[np.float64]  # resampled estimate*: the percentile fallback
    df: int

    def bound(self, side: str, alpha: float) -> float:
        """Lower ('lo') or upper ('hi') one-sided bound at level ``alpha``."""
        t = _side(self.t, "hi" if side == "lo" else "lo")
        q = _tail(t, 1 - alpha) if side == "lo" else _tail(t, alpha)
        if math.isfinite(q):
            return self.estimate - q * self.se
        return self._fallback(side, alpha)

    def _fallback(self, side: str, alpha: float) -> float:
        student: float = stats.t.ppf(1 - alpha, self.df) * self.se  # scipy is untyped
        if side == "lo":
            return min(_tail(self.shifted, alpha), self.estimate - student)
        return max(_tail(self.shifted, 1 - alpha), self.estimate + student)

    def p_value(self, threshold: float, side: str) -> float:
        """Smallest one-sided level at which the ``side`` bound clears ``threshold``
        ('lo': estimate >= threshold; 'hi': estimate <= threshold)."""
        b = len(self.t)
        t_obs = (self.estimate - threshold) / self.se
        t = _side(self.t, "hi" if side == "lo" else "lo")
        extreme = np.sum(t >= t_obs) if side == "lo" else np.sum(t <= t_obs)
        p_t = (1 + extreme) / (1 + b)
        infinite = np.sum(np.isposinf(t)) if side == "lo" else np.sum(np.isneginf(t))
        frac = infinite / b
        if frac > 0:  # below this level the fallback bound decides
            grid = np.unique(np.concatenate([[frac], np.geomspace(1 / (b + 1), frac, 40)]))
            ok = [a for a in grid if _clears(self._fallback(side, a), threshold, side)]
            if ok:
                return float(min(ok))
        return float(p_t)


@dataclass(frozen=True)
class Percentile:
    """Percentile / BCa bootstrap of a general statistic."""

    estimate: float
    values: NDArray[np.float64]  # resampled statistic
    z0: float = 0.0
    accel: float = 0.0
    bca: bool = False

    def _level(self, alpha: float) -> float:
        if not self.bca:
            return alpha
        z = self.z0 + stats.norm.ppf(alpha)
        return float(stats.norm.cdf(self.z0 + z / (1 - self.accel * z)))

    def bound(self, side: str, alpha: float) -> float:
        if not math.isfinite(self.estimate):
            return -math.inf if side == "lo" else math.inf
        values = _side(self.values, side)
        return _tail(values, self._level(alpha)) if side == "lo" \
            else _tail(values, self._level(1 - alpha))

    def p_value(self, threshold: float, side: str) -> float:
        if not math.isfinite(self.estimate):
            return 1.0
        b = len(self.values)
        values = _side(self.values, side)
        frac = (1 + (np.sum(values <= threshold) if side == "lo" else
                     np.sum(values >= threshold))) / (1 + b)
        if not self.bca:
            return float(min(1.0, frac))
        # invert alpha -> BCa level(alpha) = Phi(z0 + y / (1 - a y)), y = z0 + z_alpha
        target = min(max(frac if side == "lo" else 1 - frac, 1e-12), 1 - 1e-12)
        u = stats.norm.ppf(target) - self.z0
        if 1 + self.accel * u <= 0:
            return 1.0
        z = u / (1 + self.accel * u) - self.z0
        return float(min(1.0, stats.norm.cdf(z) if side == "lo" else stats.norm.sf(z)))


def claim_p(one_sided: Callable[[float, str], float], threshold: float, direction: str
            ) -> float:
    """The p of the claim "statistic ``direction`` ``threshold``" from a one-sided p
    ``one_sided(t, side)`` ('lo': statistic >= t; 'hi': statistic <= t); a "within
    ±threshold" claim takes the larger of its two one-sided p (TOST)."""
    if direction == ">=":
        return one_sided(threshold, "lo")
    if direction == "<=":
        return one_sided(threshold, "hi")
    return max(one_sided(-threshold, "lo"), one_sided(threshold, "hi"))


def _clears(bound: float, threshold: float, side: str) -> bool:
    return bound >= threshold if side == "lo" else bound <= threshold


def studentized(a: NDArray[np.float64], b: NDArray[np.float64] | None, seed: int,
                n_resamples: int = N_RESAMPLES) -> Studentized | None:
    """Bootstrap-t of ``mean(a)`` or ``mean(a) - mean(b)``; None when the data have no spread
    or fewer than 3 values per set."""
    sets = [a] if b is None else [a, b]
    if any(len(x) < 3 for x in sets):
        return None
    centred = [x - x.mean() for x in sets]
    var = sum(_var(x) / len(x) for x in centred)
    if not var > 0:
        return None
    est = float(a.mean() - (b.mean() if b is not None else 0.0))
    rng = np.random.default_rng(seed)
    step = max(1, CHUNK // sum(len(x) for x in sets))
    ts, shifted = [], []
    for start in range(0, n_resamples, step):
        m = min(step, n_resamples - start)
        e, v, flat = np.zeros(m), np.zeros(m), np.ones(m, bool)
        for sign, x in zip((1, -1), centred):
            r = x[rng.integers(0, len(x), (m, len(x)))]
            e += sign * r.mean(-1)
            # a resample of equal values has no spread: exactly 0, not float residue
            same = r.max(-1) == r.min(-1)
            v += np.where(same, 0.0, _var(r) / len(x))
            flat &= same
        s = np.sqrt(v)
        with np.errstate(divide="ignore", invalid="ignore"):
            t = np.where(flat, np.where(e == 0, np.nan, np.sign(e) * np.inf), e / s)
        ts.append(t)
        shifted.append(est + e)
    df = min(len(x) for x in sets) - 1
    return Studentized(est, float(math.sqrt(var)), np.concatenate(ts), np.concatenate(shifted),
                       df)


def _var(x: NDArray[np.float64]) -> NDArray[np.float64]:
    """Two-pass variance (ddof=1) along the last axis: no s2 - s1^2/n cancellation."""
    d = x - x.mean(-1, keepdims=True)
    # einsum is Any in numpy's stubs (an array, or a scalar for a 1-d ``x``)
    var: NDArray[np.float64] = np.einsum("...i,...i->...", d, d) / (x.shape[-1] - 1)
    return var


def percentile(statistic: Callable[..., NDArray[np.float64]],
               sets: Sequence[NDArray[np.float64]], seed: int, n_resamples: int = N_RESAMPLES,
               jackknife: Callable[..., NDArray[np.float64]] | None = None) -> Percentile:
    """Bootstrap of ``statistic(*sets)`` resampling each set's documents (its first axis)
    independently; ``statistic`` takes arrays with a leading batch axis ``[B, n, ...]``.
    BCa (bias and jackknife acceleration) when both are finite, else plain percentile.
    ``jackknife(*sets)`` gives the leave-one-out values in closed form (each set's
    documents in turn); without it they are recomputed in chunks (O(n^2) time)."""
    sets = [np.asarray(s, dtype=np.float64) for s in sets]
    with np.errstate(all="ignore"):
        est = float(statistic(*[s[None] for s in sets])[0])
        rng = np.random.default_rng(seed)
        step = max(1, CHUNK // sum(s.size for s in sets))
        chunks = []
        for start in range(0, n_resamples, step):
            m = min(step, n_resamples - start)
            chunks.append(statistic(*[s[rng.integers(0, len(s), (m, len(s)))] for s in sets]))
        values = np.concatenate(chunks).astype(np.float64)
        if not math.isfinite(est) or not np.all(np.isfinite(values)):
            return Percentile(est, values)
        jack = (jackknife(*sets) if jackknife is not None else np.concatenate(
            [statistic(*block) for k in range(len(sets)) for block in _leave_one_out(sets, k)]))
    below = (np.sum(values < est) + 0.5 * np.sum(values == est)) / len(values)
    if not (np.all(np.isfinite(jack)) and 0 < below < 1):
        return Percentile(est, values)
    d = jack.mean() - jack
    denom = 6 * np.sum(d ** 2) ** 1.5
    accel = float(np.sum(d ** 3) / denom) if denom > 0 else 0.0
    return Percentile(est, values, float(stats.norm.ppf(below)), accel, True)


def _leave_one_out(sets: list[NDArray[np.float64]], k: int
                   ) -> Iterator[list[NDArray[np.float64]]]:
    """Batches ``[rows, ...]`` of the sets with one document of set ``k`` left out per row,
    a chunk of rows at a time (at most ``CHUNK`` values held)."""
    n = len(sets[k])
    rows = max(1, CHUNK // max(1, sum(s.size for s in sets)))
    for start in range(0, n, rows):
        drop = np.arange(start, min(start + rows, n))
        keep = np.arange(n)[None, :] != drop[:, None]
        yield [np.broadcast_to(s, (len(drop),) + s.shape)[keep].reshape(
                   (len(drop), n - 1) + s.shape[1:]) if j == k
               else np.broadcast_to(s, (len(drop),) + s.shape) for j, s in enumerate(sets)]
