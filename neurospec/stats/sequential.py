"""Anytime-valid confidence sequences: bounds that hold at every look at once, so a claim may
look after every batch of documents and stop as soon as its sequence decides.

Two kinds, chosen by what the statistic is (measured in ``python -m neurospec.calibrate``,
rows "sequential: ..."):

- **Shares** (a claim that a share of prompts fires): the one-sided *betting* confidence
  sequence for a mean in [0, 1] (Waudby-Smith & Ramdas 2023, hedged capital with the
  predictable plug-in bet): for each candidate share ``m`` a gambler bets on every new
  observation, ``K_t(m) = prod_i (1 + lambda_i (x_i - m))``; Ville's inequality says a true
  ``m`` reaches capital ``1 / alpha`` with chance at most ``alpha`` *ever*, so the shares whose
  capital never got there form the sequence.  Exact for any sample size: nothing asymptotic.
- **Means and AUROC-like statistics of documents** (a difference of document means, a paired
  mean loss change, token AUROC, token d, all asymptotically linear in the documents): the
  *asymptotic* confidence sequence of Waudby-Smith, Arnold, Wu, Howard & Ramdas (2021, Thm 2.2):
  the Robbins normal-mixture boundary applied to the studentized estimate,
  ``estimate +/- se * c(u)`` with ``c(u) = sqrt(2 (u + 1) / u * log(sqrt(u + 1) / alpha))``,
  ``u = rho^2 t``, and ``rho`` tuned so the sequence is narrowest after a quarter of the
  documents (:data:`TUNED_FOR`): there ``c = 3.03``, and ``3.13`` at all of them, where a
  fixed-n 95% CI has ``1.96``: the price of looking as often as one likes is a CI 1.55-1.6
  times as wide.  Betting
  sequences need a known range; document means and loss changes have none, and the AUROC of
  tokens clustered in documents is a ratio of document sums, not a mean of bounded values.

Every look's bounds are intersected with the previous looks' (a running intersection is
still a confidence sequence), so the bounds only shrink.  A sequence recomputed at a smaller
``alpha`` at the look where the claim stopped stays valid (the stopping time is a stopping
time whatever level chose it), which is how a Holm correction re-decides a sequential claim.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray

from neurospec.errors import InvalidArgument

ALPHA = 0.05  # two-sided, as the fixed-n 95% CIs: each side fails at most 2.5% (measured)
GRID = 2000  # candidate shares of the betting sequence
# The normal mixture is tuned to be narrowest after this share of the documents: a claim
# that is clear of its threshold should stop about there (the 3x saving sequential mode aims
# at).  Measured on the multiplier: tuned for all documents it is 4.7 SEs at a twentieth of
# them and 3.03 at all; tuned for a quarter, 3.36 and 3.13.
TUNED_FOR = 0.25


def mixture_multiplier(n: float, n_max: float, alpha: float = ALPHA) -> float:
    """``c`` of the normal-mixture boundary ``estimate +/- c * se`` after ``n`` of at most
    ``n_max`` units (documents, groups), ``rho`` tuned for ``TUNED_FOR * n_max``.

    Example:
        >>> round(mixture_multiplier(25, 100), 2)
        3.03
    """
    if not 0 < alpha < 1:
        raise InvalidArgument(f"alpha={alpha!r}: expected a level in (0, 1), e.g. 0.05",
                              value=alpha)
    if n <= 0 or n_max <= 0:
        return math.inf
    l2 = -2 * math.log(alpha)
    u = (l2 + math.log(l2 + 1)) * n / (n_max * TUNED_FOR)
    return math.sqrt(2 * (u + 1) / u * math.log(math.sqrt(u + 1) / alpha))


def _logit(p: float) -> float:
    return math.log(p / (1 - p))


def _expit(z: float) -> float:
    return 1 / (1 + math.exp(-z)) if z > -700 else 0.0


def normal_bounds(estimate: float, se: float, n: float, n_max: float, alpha: float = ALPHA,
                  logit: bool = False) -> tuple[float, float]:
    """The asymptotic sequence's bounds at one look (before the running intersection);
    ``logit``: the statistic is a probability (AUROC), bounded on the logit scale with the
    delta-method SE, as the fixed-n CIs do."""
    if not (math.isfinite(estimate) and math.isfinite(se)):
        return -math.inf, math.inf
    c = mixture_multiplier(n, n_max, alpha)
    if not logit:
        return estimate - c * se, estimate + c * se
    p = min(max(estimate, 1e-9), 1 - 1e-9)
    z, s = _logit(p), se / (p * (1 - p))
    return _expit(z - c * s), _expit(z + c * s)


@dataclass(frozen=True)
class Look:
    """One look: ``n`` units (documents or groups, both sets together) seen, the estimate,
    its SE (NaN for the betting sequence) and the running bounds after it."""

    n: int
    estimate: float
    se: float
    lo: float
    hi: float
    decidable: bool = True  # False: a guard (skew, too few units) kept this look from stopping


def decision(lo: float, hi: float, threshold: float, direction: str) -> str:
    """``pass`` when the sequence clears the threshold, ``fail`` when it lies wholly on the
    wrong side (the claim is shown false: stop too), else ``undecided``."""
    if direction == ">=":
        return "pass" if lo >= threshold else "fail" if hi < threshold else "undecided"
    if direction == "<=":
        return "pass" if hi <= threshold else "fail" if lo > threshold else "undecided"
    if direction == "within":
        if -threshold <= lo and hi <= threshold:
            return "pass"
        return "fail" if (lo > threshold or hi < -threshold) else "undecided"
    raise InvalidArgument(f"direction={direction!r}: use '>=', '<=' or 'within'",
                          value=direction)


def running(looks: Sequence[Look], n: int, estimate: float, se: float, lo: float, hi: float,
            decidable: bool = True) -> tuple[Look, ...]:
    """``looks`` with a new look whose bounds are intersected with the last look's."""
    if looks:
        lo, hi = max(lo, looks[-1].lo), min(hi, looks[-1].hi)
    return (*looks, Look(n, estimate, se, lo, hi, decidable))


def at_level(looks: Sequence[Look], n_max: int, alpha: float, logit: bool = False
             ) -> tuple[float, float]:
    """The asymptotic sequence's running bounds at the last of ``looks``, recomputed at level
    ``alpha`` (Holm: a smaller level at the same stopping time stays valid)."""
    lo, hi = -math.inf, math.inf
    for k in looks:
        a, b = normal_bounds(k.estimate, k.se, k.n, n_max, alpha, logit)
        lo, hi = max(lo, a), min(hi, b)
    return lo, hi


def betting_bounds(x: NDArray[np.float64], alpha: float = ALPHA, grid: int = GRID
                   ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Running lower and upper bounds of a mean in [0, 1] after each observation of ``x``
    (in order): the one-sided hedged-capital sequences of Waudby-Smith & Ramdas, each side at
    ``alpha / 2``.  The bounds are the candidate means (a grid of ``grid`` points, widened by
    one step) whose capital never reached ``2 / alpha``.

    Example:
        >>> lo, hi = betting_bounds(np.ones(50))
        >>> bool(lo[-1] > 0.85)
        True
    """
    x = np.asarray(x, dtype=np.float64)
    if len(x) == 0:
        return np.zeros(0), np.zeros(0)
    if np.any((x < 0) | (x > 1)) or not np.all(np.isfinite(x)):
        raise InvalidArgument("betting_bounds needs values in [0, 1]", value=float(x.max()))
    a = alpha / 2
    t = np.arange(1, len(x) + 1, dtype=np.float64)
    # predictable plug-in: mean and variance of the observations before each one
    mu_all = np.concatenate([[0.5], (0.5 + np.cumsum(x)) / (t + 1)])
    dev = np.concatenate([[0.0], np.cumsum((x - mu_all[:-1]) ** 2)[:-1]])
    var = (0.25 + dev) / t
    lam = np.sqrt(2 * math.log(1 / a) / (var * t * np.log(t + 1)))
    m = (np.arange(grid) + 0.5) / grid  # candidate means
    lo_out, hi_out = np.empty(len(x)), np.empty(len(x))
    # capital in logs, [len(x), grid]; chunks keep memory bounded
    up = np.zeros(grid)  # running max of log capital betting on "mean > m"
    down = np.zeros(grid)
    log_cap_up = np.zeros(grid)
    log_cap_down = np.zeros(grid)
    thresh = math.log(1 / a)
    for i in range(len(x)):
        lu = np.minimum(lam[i], 0.5 / m)
        ld = np.minimum(lam[i], 0.5 / (1 - m))
        log_cap_up += np.log1p(lu * (x[i] - m))
        log_cap_down += np.log1p(-ld * (x[i] - m))
        np.maximum(up, log_cap_up, out=up)
        np.maximum(down, log_cap_down, out=down)
        alive = (up < thresh) & (down < thresh)
        if alive.any():
            idx = np.flatnonzero(alive)
            lo_out[i] = max(0.0, m[idx[0]] - 1 / grid)
            hi_out[i] = min(1.0, m[idx[-1]] + 1 / grid)
        else:  # every candidate rejected (cannot happen for a true mean but for 1/alpha luck)
            lo_out[i] = hi_out[i] = float(x[: i + 1].mean())
    return np.maximum.accumulate(lo_out), np.minimum.accumulate(hi_out)


@dataclass(frozen=True)
class SequenceResult:
    """A sequential claim's outcome: its looks, where it stopped, and why.

    ``verdict`` is ``pass``/``fail`` when the sequence decided (stopped early or at the last
    look), ``undecided`` when the documents ran out first (the claim then fails: its data
    do not show it)."""

    looks: tuple[Look, ...]
    n_max: int
    threshold: float
    direction: str
    method: str
    alpha: float = ALPHA

    @property
    def last(self) -> Look:
        return self.looks[-1]

    @property
    def verdict(self) -> str:
        k = self.last
        d = decision(k.lo, k.hi, self.threshold, self.direction)
        return d if k.decidable or d == "fail" else "undecided"

    @property
    def stopped_early(self) -> bool:
        return self.last.n < self.n_max

    def summary(self) -> str:
        k = self.last
        return (f"stopped after {k.n} of {self.n_max} "
                f"({self.verdict}); sequence [{k.lo:.4g}, {k.hi:.4g}]")

    def with_look(self, look: Look) -> SequenceResult:
        return replace(self, looks=(*self.looks, look))


def schedule(n_max: int, first: int, ratio: float) -> list[int]:
    """Cumulative look sizes: ``first``, then growing by ``ratio``, ending at ``n_max``."""
    if n_max <= 0:
        return []
    if ratio <= 1:
        raise InvalidArgument(f"ratio={ratio!r}: batches must grow (ratio > 1), e.g. 1.5",
                              value=ratio)
    sizes, n = [], max(1, min(first, n_max))
    while n < n_max:
        sizes.append(n)
        n = max(n + 1, int(math.ceil(n * ratio)))
    sizes.append(n_max)
    return sizes


def anytime_p(looks: Sequence[Look], n_max: int, threshold: float, direction: str,
              logit: bool = False) -> float:
    """The p-value of the claim at the last look, in the fixed-n convention (the claim
    passes its 95% sequence exactly when p <= 0.025): half the smallest level ``alpha`` at
    which the running sequence at this look clears the threshold.  Valid at any stopping
    time, so Holm may use it."""
    def clears(alpha: float) -> bool:
        lo, hi = at_level(looks, n_max, alpha, logit)
        return decision(lo, hi, threshold, direction) == "pass"

    if not looks or not clears(1 - 1e-9):
        return 1.0
    lo_a, hi_a = 1e-12, 1 - 1e-9
    if clears(lo_a):
        return lo_a / 2
    for _ in range(50):
        mid = math.sqrt(lo_a * hi_a)
        lo_a, hi_a = (lo_a, mid) if clears(mid) else (mid, hi_a)
    return hi_a / 2


def betting_p(x: NDArray[np.float64], threshold: float) -> float:
    """The anytime p-value of "the mean of ``x`` exceeds ``threshold``" from the betting
    sequence's capital on the threshold (``1 / max capital``: each side of
    :func:`betting_bounds` bets at level 0.025, so a pass is p <= 0.025)."""
    x = np.asarray(x, dtype=np.float64)
    if len(x) == 0:
        return 1.0
    m = min(max(threshold, 1e-9), 1 - 1e-9)
    t = np.arange(1, len(x) + 1, dtype=np.float64)
    mu_all = np.concatenate([[0.5], (0.5 + np.cumsum(x)) / (t + 1)])
    dev = np.concatenate([[0.0], np.cumsum((x - mu_all[:-1]) ** 2)[:-1]])
    var = (0.25 + dev) / t
    # the bets of betting_bounds at level 0.05 (they do not depend on the level tested)
    lam = np.minimum(np.sqrt(2 * math.log(1 / (ALPHA / 2)) / (var * t * np.log(t + 1))), 0.5 / m)
    log_cap = np.cumsum(np.log1p(lam * (x - m)))
    return float(min(1.0, math.exp(-max(0.0, float(log_cap.max())))))
