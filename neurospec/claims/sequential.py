"""Sequential mode: a claim reads its documents in a seeded random order, in growing
batches, and stops as soon as its anytime-valid confidence sequence decides
(:mod:`neurospec.stats.sequential`) or the documents run out.

- **Groups, not documents, are ordered**: near-copies and declared groups
  (:func:`~neurospec.data.near_duplicates.corpus_groups`) are read together, so a sequence
  never sees half a group, and each group counts as one unit, as in the fixed-n CIs.
- **Each batch is measured once**: a batch is a corpus of its new documents only, so the
  forward passes of a claim that stops after ``n`` of ``N`` documents are those of ``n``
  documents; random-unit reruns of activation claims on the same batches read the cached
  layer passes of those batches.
- **Batches grow** by :data:`RATIO` (1.5) from :data:`FIRST` groups per set; a model that
  reads remotely (``narrow_reads``) doubles them, so a claim costs few large requests.
- **Reruns** (random-unit baselines, the vacuity check) run fixed-n on every document: a
  rank test compares units on the same fixed documents (see :func:`is_on`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from neurospec.data.corpus import Corpus
from neurospec.data.near_duplicates import corpus_groups
from neurospec.evidence.payloads import SequenceChart, Sequential
from neurospec.stats.sequential import (
    ALPHA,
    Look,
    SequenceResult,
    anytime_p,
    betting_bounds,
    betting_p,
    schedule,
)
from neurospec.stats.sequential_stats import MIN_UNITS, decided, look_at

FIRST = MIN_UNITS  # groups per set at the first look
RATIO = 1.5
RATIO_REMOTE = 2.0
ASYMPTOTIC = ("asymptotic confidence sequence (normal mixture, Waudby-Smith et al. 2021), "
              "95%, looks after every batch")
BETTING = ("betting confidence sequence (hedged capital, Waudby-Smith & Ramdas 2023), 95%, "
           "looks after every batch")
NOT_COVERED = ("fixed-n: sequential mode covers activates_more, raises_loss and fires_on "
               "(share < 1); this statistic has no confidence sequence here")


def is_on(scope: Any, asked: bool | None) -> bool:
    """Whether a claim reads sequentially: its own ``sequential=`` argument, else the run's
    (``--neurospec-sequential``); never in a rerun for another unit."""
    if scope.rerun:
        return False
    return bool(scope.ctx.sequential if asked is None else asked)


def fixed_n(why: str = NOT_COVERED) -> Sequential:
    """The record's note for a claim that stays fixed-n under sequential mode."""
    return {"mode": "fixed-n", "why": why}


@dataclass(frozen=True)
class Reading:
    """One corpus in its reading order: documents of a group adjacent, groups shuffled."""

    corpus: Corpus
    order: NDArray[np.int64]  # document indices in reading order
    groups: NDArray[np.int64]  # group id of each document, in reading order
    ends: NDArray[np.int64]  # documents read after the first 1, 2, ... groups

    @property
    def n_groups(self) -> int:
        return len(self.ends)

    def docs_after(self, groups: int) -> int:
        return int(self.ends[groups - 1]) if groups > 0 else 0

    def batch(self, start: int, stop: int) -> Corpus:
        """Documents ``start .. stop-1`` of the reading order as a corpus of their own (its
        own hash: measured and cached once)."""
        idx = self.order[start:stop]
        c = self.corpus
        return Corpus(name=c.name, texts=tuple(c.texts[i] for i in idx),
                      ids=tuple(c.ids[i] for i in idx), source=c.source,
                      file_hash=c.file_hash,
                      groups=tuple(c.groups[i] for i in idx) if c.groups else ())


def reading(corpus: Corpus, seed: int, salt: int = 0) -> Reading:
    """``corpus`` in a seeded random order of its resampling groups."""
    g = np.asarray(corpus_groups(corpus))
    labels = np.unique(g)
    rng = np.random.default_rng([seed, 31, salt])
    shuffled = labels[rng.permutation(len(labels))]
    order = np.concatenate([np.flatnonzero(g == lab) for lab in shuffled]).astype(np.int64)
    sizes = np.array([int((g == lab).sum()) for lab in shuffled])
    return Reading(corpus, order, g[order], np.cumsum(sizes).astype(np.int64))


@dataclass(frozen=True)
class Outcome:
    """What a sequential read gives the claim: the sequence, the measured items per set (in
    reading order), the documents read, and the record's note and chart."""

    result: SequenceResult
    items: list[list[Any]]
    read: list[Corpus]
    docs: int
    docs_of: int
    p: float

    def note(self) -> Sequential:
        r = self.result
        k = r.last
        return {"mode": "sequential", "stopped_after": k.n, "of": r.n_max,
                "documents": self.docs, "documents_of": self.docs_of, "looks": len(r.looks),
                "bounds": [k.lo, k.hi], "verdict": r.verdict, "sequence": r.method,
                "alpha": r.alpha}

    def chart(self, what: str) -> SequenceChart:
        r = self.result
        return {"title": f"95% confidence sequence of the {what} against units read "
                         f"(stopped after {r.last.n} of {r.n_max})",
                "points": [{"n": k.n, "estimate": _finite(k.estimate), "lo": _finite(k.lo),
                            "hi": _finite(k.hi)} for k in r.looks],
                "threshold": r.threshold, "n_max": r.n_max, "stopped": r.last.n}

    def missed(self) -> str:
        r = self.result
        k = r.last
        if r.verdict == "pass":
            return ""
        side = f"sequence [{k.lo:.4g}, {k.hi:.4g}] vs threshold {r.threshold:.4g}"
        if r.verdict == "fail":
            return f"the sequence shows the claim false after {k.n} of {r.n_max} units: {side}"
        return (f"undecided: the documents ran out ({k.n} of {r.n_max} units) before the "
                f"sequence cleared the threshold: {side}"
                + ("" if k.decidable else " (the last look was too skewed or too small to "
                   "stop on)"))


def _finite(x: float) -> float:
    return float(x) if math.isfinite(x) else float("nan")


def read_sets(sets: list[Corpus], measure: Callable[[int, Corpus], list[Any]], metric: str,
              threshold: float, direction: str, seed: int, remote: bool = False,
              prefetch: Callable[[list[Corpus]], None] | None = None) -> Outcome:
    """Read ``sets`` (one, or two compared) batch by batch, measuring each new batch with
    ``measure(set_index, batch) -> one item per document`` (a number, or a token array for
    token metrics), and look after each batch; stop once the sequence decides.
    ``prefetch(batches)``: measure a look's new batches of every set at once first (a remote
    model: one request per look)."""
    readings = [reading(c, seed, i) for i, c in enumerate(sets)]
    big = max(r.n_groups for r in readings)
    n_max = sum(r.n_groups for r in readings)
    items: list[list[Any]] = [[] for _ in sets]
    done = [0 for _ in sets]  # documents read per set
    looks: tuple[Look, ...] = ()
    for size in schedule(big, FIRST, RATIO_REMOTE if remote else RATIO):
        batches: dict[int, Corpus] = {}
        for i, r in enumerate(readings):
            groups = r.n_groups if size >= big else max(1, round(r.n_groups * size / big))
            upto = r.docs_after(min(groups, r.n_groups))
            if upto > done[i]:
                batches[i] = r.batch(done[i], upto)
                done[i] = upto
        if prefetch is not None and len(batches) > 1:
            prefetch(list(batches.values()))
        for i, batch in batches.items():
            items[i].extend(measure(i, batch))
        gs = [r.groups[:d] for r, d in zip(readings, done)]
        looks = look_at(looks, metric, items[0], items[1] if len(sets) > 1 else None,
                        (gs[0], gs[1] if len(sets) > 1 else None), n_max, ALPHA, direction)
        if decided(looks, threshold, direction):
            break
    result = SequenceResult(looks, n_max, threshold, direction, ASYMPTOTIC)
    p = anytime_p(looks, n_max, threshold, direction, logit=metric == "token_auroc")
    read = [r.batch(0, d) for r, d in zip(readings, done)]
    return Outcome(result, items, read, sum(done), sum(len(c) for c in sets), p)


def read_shares(hits: Callable[[int, int], NDArray[np.bool_]], n: int, threshold: float,
                remote: bool = False) -> Outcome:
    """A share claim on ``n`` i.i.d. draws: ``hits(start, stop)`` measures draws
    ``start .. stop-1`` (True: the draw counts); the betting sequence looks after each batch
    and stops once its lower bound clears ``threshold`` or its upper bound falls below it."""
    x: list[bool] = []
    looks: tuple[Look, ...] = ()
    for size in schedule(n, 2 * FIRST, RATIO_REMOTE if remote else RATIO):
        x.extend(bool(v) for v in hits(len(x), size))
        arr = np.asarray(x, dtype=np.float64)
        lo, hi = betting_bounds(arr)
        looks = (*looks, Look(size, float(arr.mean()), math.nan, float(lo[-1]), float(hi[-1])))
        if decided(looks, threshold, ">="):
            break
    arr = np.asarray(x, dtype=np.float64)
    result = SequenceResult(looks, n, threshold, ">=", BETTING)
    return Outcome(result, [x], [], len(x), n, betting_p(arr, threshold))
