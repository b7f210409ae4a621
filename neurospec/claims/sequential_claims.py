"""The sequential versions of the claims that have a confidence sequence: the activation
contrast (token AUROC, token d, difference of document means) and the ablation's loss
change (paired mean).  Each measures batch by batch through :func:`read_sets` and builds the
same record as its fixed-n version, with the sequence's bounds as its CI, its anytime p, the
note "stopped after n of N" and the sequence's chart."""

from __future__ import annotations

from typing import Any

import numpy as np

from neurospec.claims.sequential import Outcome, read_sets, read_shares
from neurospec.claims.sequential import is_on as sequential_on
from neurospec.data.corpus import Corpus
from neurospec.evidence.payloads import Charts, Data, Details
from neurospec.evidence.record import Record
from neurospec.measure.ablation import AblationEffect
from neurospec.measure.activations import UnitActivations

__all__ = ["contrast", "loss_change", "merged_acts", "read_shares", "sequential_on",
           "sequential_record"]


def merged_acts(parts: list[UnitActivations], read: Corpus) -> UnitActivations:
    """The activations of the batches read, as one measurement of the documents read."""
    return UnitActivations(parts[0].unit, read,
                           tuple(a for p in parts for a in p.per_token),
                           tuple(t for p in parts for t in p.tokens),
                           sum(p.truncated for p in parts))


def contrast(owner: Any, sets: tuple[Corpus, Corpus], metric: str, threshold: float
             ) -> tuple[Outcome, UnitActivations, UnitActivations]:
    """Read both sets of an activation contrast sequentially; the statistic looks at
    document means (``mean_diff``) or token arrays (token AUROC and d)."""
    parts: list[list[UnitActivations]] = [[], []]

    def measure(i: int, batch: Corpus) -> list[Any]:
        acts = owner._acts(batch)
        parts[i].append(acts)
        return list(acts.doc_means) if metric == "mean_diff" else list(acts.per_token)

    out = read_sets(list(sets), measure, metric, threshold, ">=", owner.ctx.seed,
                    remote=bool(owner.model.narrow_reads),
                    prefetch=getattr(owner, "_prefetch", None))  # remote: one request a look
    a, b = (merged_acts(p, r) for p, r in zip(parts, out.read))
    return out, a, b


def loss_change(owner: Any, corpus: Corpus, threshold: float, direction: str
                ) -> tuple[Outcome, AblationEffect]:
    """Read ``corpus`` sequentially for the ablation's paired loss change per document
    (``owner``: a chain of ablation claims, :class:`~neurospec.claims.column_ablation.
    ColumnAblated`, which imports this module)."""
    parts: list[AblationEffect] = []

    def measure(i: int, batch: Corpus) -> list[Any]:
        eff = owner._effect(batch)
        parts.append(eff)
        return [float(v) for v in eff.delta]

    out = read_sets([corpus], measure, "mean", threshold, direction, owner.scope.seed,
                    remote=bool(owner.model.narrow_reads))
    eff = AblationEffect(parts[0].ablation, out.read[0],
                         np.concatenate([p.clean for p in parts]),
                         np.concatenate([p.ablated for p in parts]),
                         tuple(t for p in parts for t in p.token_delta),
                         sum(p.truncated for p in parts))
    return out, eff


def sequential_record(owner: Any, out: Outcome, *, claim: str, kind: str, data: Data,
                      metric: str, what: str, details: Details, charts: Charts,
                      direction: str = ">=", method_note: str = "") -> Record:
    """The record of a sequential claim: the sequence decides, its bounds are the CI."""
    r = out.result
    k = r.last
    verdict = "pass" if r.verdict == "pass" else "fail"
    details["sequential"] = out.note()
    charts["sequence"] = out.chart(what)
    method = r.method + (f"; {method_note}" if method_note else "")
    record: Record = owner.scope.record(
        claim=claim, kind=kind, data=data, n=k.n, effect=k.estimate, ci=(k.lo, k.hi),
        p=out.p, threshold=r.threshold, direction=direction, metric=metric, verdict=verdict,
        method=method, missed=out.missed(), details=details, charts=charts)
    return record
