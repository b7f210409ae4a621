"""Calibration rows for sequential mode: claims whose truth sits at their threshold, decided
by their confidence sequence after *every* batch (first look at 20 groups per set, batches
growing by 1.5, as the claims read), and the same draws decided by naive peeking at the
fixed-n CI after every batch (shown for comparison: it is what sequential mode replaces).

Power is measured beside the fixed-n test's at the same maximum n (:func:`power_rows`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from scipy.stats import norm

from neurospec.calibration_cases import Case, Pool, _centred, _passes, _split, _token_docs
from neurospec.claims.sequential import FIRST, RATIO
from neurospec.stats.cluster_t import satterthwaite_df
from neurospec.stats.clustered import _auc_se, _d_se, token_auroc_ci, token_d_ci
from neurospec.stats.inference import mean_ci, two_sample
from neurospec.stats.multiple import holm_levels
from neurospec.stats.proportion import share_ci
from neurospec.stats.sequential import (
    Look,
    SequenceResult,
    anytime_p,
    betting_bounds,
    decision,
    normal_bounds,
    running,
    schedule,
)
from neurospec.stats.sequential_stats import (
    MIN_UNITS,
    decided,
    estimate_se,
    sequence_on,
    student_factor,
)

Trial = Callable[[np.random.Generator, int], bool]
GROUP = "sequential (look after every batch)"


def _seq(metric: str, a: object, b: object, t: float) -> bool:
    return sequence_on(metric, a, b, threshold=t, first=FIRST, ratio=RATIO).verdict == "pass"


def _peek(metric: str, a: list | np.ndarray, b: list | np.ndarray | None, t: float,
          seed: int) -> bool:
    """Naive peeking: the fixed-n CI after every batch, stopping at the first pass."""
    big = max(len(a), len(b) if b is not None else 0)
    for size in schedule(big, FIRST, RATIO):
        pa = a[:max(2, round(len(a) * size / big))]
        pb = None if b is None else b[:max(2, round(len(b) * size / big))]
        if metric == "mean":
            est = mean_ci(np.asarray(pa), seed=seed, threshold=t)
        elif metric == "mean_diff":
            est = two_sample(np.asarray(pa), np.asarray(pb), seed=seed, threshold=t)
        else:
            fn = token_auroc_ci if metric == "token_auroc" else token_d_ci
            est = fn(list(pa), list(pb or []), seed=seed, null=t, n_resamples=500)
        if _passes(est, t):
            return True
    return False


def _draw(pool: Pool | None, metric: str, rng: np.random.Generator, n: int, size: float
          ) -> tuple[object, object, float]:
    """Data of a claim at its threshold: ``size`` SDs (a pool), an AUROC / d (tokens), or a
    lognormal paired change with its long tail against the claim (``pool`` None, mean)."""
    if metric in ("token_auroc", "token_d"):
        shift = float(norm.ppf(size) * np.sqrt(2)) if metric == "token_auroc" else size
        return _token_docs(rng, n, shift), _token_docs(rng, n, 0.0), size
    if pool is None:  # skew against the claim: rare large drops
        sigma = size
        x = 0.1 - (rng.lognormal(0.0, sigma, n) - float(np.exp(sigma ** 2 / 2)))
        return x, None, 0.1
    if pool.paired:
        x, sd = _centred(pool, rng, n)
        return x + size * sd, None, size * sd
    values = pool.units[rng.integers(len(pool.units))]
    a, b = _split(values, rng, n, n)
    shift = size * float(values.std(ddof=1))
    return a + shift, b, shift


def seq_case(pool: Pool | None, metric: str, n: int, size: float, naive: bool = False
             ) -> Trial:
    def trial(rng: np.random.Generator, seed: int) -> bool:
        a, b, t = _draw(pool, metric, rng, n, size)
        if naive:
            return _peek(metric, a, b, t, seed)  # type: ignore[arg-type]
        return _seq(metric, a, b, t)
    return trial


def share_case(p: float, n: int, naive: bool = False) -> Trial:
    """A share of ``n`` i.i.d. draws whose true rate equals the claimed ``p``."""
    def trial(rng: np.random.Generator, seed: int) -> bool:
        x = (rng.random(n) < p).astype(np.float64)
        sizes = schedule(n, 2 * FIRST, RATIO)
        if naive:
            return any(share_ci(int(x[:s].sum()), s, p).ci[0] >= p for s in sizes)
        lo, hi = betting_bounds(x)
        for s in sizes:
            d = decision(float(lo[s - 1]), float(hi[s - 1]), p, ">=")
            if d != "undecided":
                return d == "pass"
        return False
    return trial


def holm_seq_case(pool: Pool, m: int, n: int) -> Trial:
    """``m`` sequential paired claims at their threshold, Holm on their anytime p-values
    (each sequence re-decided at its adjusted level at the look where it stopped)."""
    def trial(rng: np.random.Generator, seed: int) -> bool:
        res = [sequence_on("mean", _centred(pool, rng, n)[0], threshold=0.0, first=FIRST,
                           ratio=RATIO) for _ in range(m)]
        p = np.array([anytime_p(r.looks, r.n_max, 0.0, ">=") for r in res])
        levels = holm_levels(p, 0.025)
        return bool(np.any(p <= levels))
    return trial


def sequential_cases(pools: dict[str, Pool]) -> list[Case]:
    act, loss = pools["activation_contrast"], pools["ablation_loss"]
    q = (600, 2000)
    rows = [
        Case("activation_contrast (difference of means), n=100 per set", GROUP,
             seq_case(act, "mean_diff", 100, 0.0), q),
        Case("activation_contrast, >= 0.3 SD at 0.3 SD, n=100 per set", GROUP,
             seq_case(act, "mean_diff", 100, 0.3), q),
        Case("activation_contrast, n=30 per set", GROUP, seq_case(act, "mean_diff", 30, 0.0), q),
        Case("ablation_loss (paired mean), n=100", GROUP, seq_case(loss, "mean", 100, 0.0), q),
        Case("ablation_loss, >= 0.3 SD at 0.3 SD, n=100", GROUP,
             seq_case(loss, "mean", 100, 0.3), q),
        Case("ablation_loss, n=30", GROUP, seq_case(loss, "mean", 30, 0.0), q),
        Case("paired, lognormal sigma 1 against the claim, n=100", GROUP,
             seq_case(None, "mean", 100, 1.0), q),
        Case("paired, lognormal sigma 1 against the claim, n=30", GROUP,
             seq_case(None, "mean", 30, 1.0), q),
        Case("paired, lognormal sigma 2 against the claim, n=100", GROUP,
             seq_case(None, "mean", 100, 2.0), q),
        Case("token AUROC >= 0.7 at 0.7, 60 docs per set", GROUP,
             seq_case(None, "token_auroc", 60, 0.7), (300, 1000)),
        Case("token d >= 0.5 at 0.5, 60 docs per set", GROUP,
             seq_case(None, "token_d", 60, 0.5), (300, 1000)),
        Case("share >= 0.9 at 0.9, 200 prompts (betting)", GROUP, share_case(0.9, 200), q),
        Case("share >= 0.5 at 0.5, 60 prompts (betting)", GROUP, share_case(0.5, 60), q),
        Case("Holm, 5 sequential claims at their threshold, n=100", GROUP,
             holm_seq_case(loss, 5, 100), (300, 1000)),
    ]
    naive = "naive peeking at the fixed-n CI after every batch (same schedule)"
    rows += [
        Case(f"activation_contrast, n=100 per set: {naive}", GROUP,
             seq_case(act, "mean_diff", 100, 0.0, naive=True), (300, 1000), target=False),
        Case(f"ablation_loss, n=100: {naive}", GROUP, seq_case(loss, "mean", 100, 0.0, True),
             (300, 1000), target=False),
        Case(f"share >= 0.9 at 0.9, 200 prompts: {naive}", GROUP, share_case(0.9, 200, True),
             (600, 2000), target=False),
    ]
    return rows


def power_rows(pools: dict[str, Pool], reps: int, seed: int, ds: tuple[float, ...] = (0.5, 0.8),
               n: int = 100) -> list[tuple[str, float, float, float, float]]:
    """(kind, d, sequential power, fixed-n power, mean share of documents read by sequential
    claims) at planted effects of ``ds`` SDs and at most ``n`` documents per set."""
    out = []
    for kind, d in ((k, d) for k in ("activation_contrast", "ablation_loss") for d in ds):
        pool = pools[kind]
        rng = np.random.default_rng([seed, 77, len(kind), int(100 * d)])
        seq = fixed = 0
        used = []
        for i in range(reps):
            a, b, _ = _draw(pool, "mean" if pool.paired else "mean_diff", rng, n, d)
            metric = "mean" if pool.paired else "mean_diff"
            r = sequence_on(metric, a, b, threshold=0.0, first=FIRST, ratio=RATIO)
            seq += r.verdict == "pass"
            used.append(r.last.n / r.n_max)
            est = (mean_ci(np.asarray(a), seed=i) if b is None
                   else two_sample(np.asarray(a), np.asarray(b), seed=i))
            fixed += _passes(est, 0.0)
        out.append((kind, d, seq / reps, fixed / reps, float(np.mean(used))))
    return out


def _pool_look(up: Any, metric: str, ia: np.ndarray, ib: np.ndarray
               ) -> tuple[float, float, bool]:
    """(estimate, se, decidable) of ``metric`` on documents ``ia`` / ``ib`` of a real pool
    (:class:`neurospec.calibration_real.UnitPool`), from its pair counts and sums."""
    if metric == "mean_diff":
        a, b = up.means
        est, se, _, ok = estimate_se("mean_diff", a[ia], b[ib])
        return est, se, ok
    if metric == "token_auroc":
        stat_se, influence = _auc_se(up.pairs[np.ix_(ia, ib)], up.na[ia], up.nb[ib])
    else:
        stat_se, influence = _d_se(up.sa[:, ia], up.sb[:, ib])
    th_se = stat_se(np.ones((1, len(ia))), np.ones((1, len(ib))))
    est = float(th_se[0][0])
    se = float(th_se[1][0]) * student_factor(satterthwaite_df(influence()))
    return est, se, min(len(ia), len(ib)) >= MIN_UNITS and math.isfinite(se) and se > 0


def real_contrast_case(up: Any, metric: str, n: int) -> Trial:
    """"``up``'s unit activates more on A than on B with ``metric`` >= its pool value",
    read sequentially from random orders of ``n`` documents per set."""
    truth = up.truth(metric)

    def trial(rng: np.random.Generator, seed: int) -> bool:
        ia = rng.choice(len(up.na), size=n, replace=False)
        ib = rng.choice(len(up.nb), size=n, replace=False)
        looks: tuple[Look, ...] = ()
        for size in schedule(n, FIRST, RATIO):
            est, se, ok = _pool_look(up, metric, ia[:size], ib[:size])
            lo, hi = normal_bounds(est, se, 2 * size, 2 * n, logit=metric == "token_auroc")
            looks = running(looks, 2 * size, est, se, lo, hi, ok)
            if decided(looks, truth, ">="):
                break
        return SequenceResult(looks, 2 * n, truth, ">=", "").verdict == "pass"
    return trial


def real_loss_case(delta: np.ndarray, n: int) -> Trial:
    """"Raises loss by >= its pool mean", read sequentially from ``n`` random documents."""
    truth = float(delta.mean())

    def trial(rng: np.random.Generator, seed: int) -> bool:
        x = delta[rng.choice(len(delta), size=n, replace=False)]
        return sequence_on("mean", x, threshold=truth, first=FIRST, ratio=RATIO
                           ).verdict == "pass"
    return trial


def real_sequential_rows(ups: list[Any], delta: np.ndarray, reps: tuple[int, int]
                         ) -> list[Case]:
    """Sequential rows on the bundled model's real activations and loss changes."""
    group = "real: sequential (look after every batch)"
    label = {"token_auroc": "token AUROC", "token_d": "token d", "mean_diff": "difference of means"}
    rows = [Case(f"{up.name}, {label[m]}, n={n} per set", f"{group}: {up.pool}",
                 real_contrast_case(up, m, n), reps)
            for up in ups for m in ("token_auroc", "token_d", "mean_diff") for n in (30, 100)]
    rows += [Case(f"L0N125 mean-ablated, raises loss by >= its pool mean, German, n={n}",
                  group, real_loss_case(delta, n), reps) for n in (30, 100)]
    return rows
