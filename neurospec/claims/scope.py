"""A claim's scope (what it is about, under which settings) and how a concluded claim's
record is emitted and raised: the parts of :mod:`neurospec.claims.conclude` that the claim
results (:mod:`neurospec.claims.result`) need too."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, cast

from neurospec.claims import context
from neurospec.claims.statements import Statement
from neurospec.claims.verdict import failure_message
from neurospec.errors import ClaimFailed, Underpowered
from neurospec.evidence.payloads import Charts, Data, Details, ModelInfo
from neurospec.evidence.record import Record
from neurospec.evidence.sink import emit, replace_record

if TYPE_CHECKING:
    from neurospec.models.protocol import ModelBackend


@dataclass(frozen=True)
class Scope:
    """What a claim is about and under which settings: the unit (a layer name for layer
    claims), the model, the run's context, the SAE of a feature, the test's statement, and
    whether this is a rerun for another unit (which keeps only the numbers: no charts of
    examples, no conclusion)."""

    unit: Any
    model: ModelBackend
    ctx: context.Context
    sae: Any = None
    statement: Statement | None = None
    rerun: bool = False

    @property
    def seed(self) -> int:
        return self.ctx.seed

    def for_rerun(self) -> Scope:
        """The same scope for a rerun: no statement, nothing concluded."""
        return replace(self, statement=None, rerun=True)

    def record(self, *, claim: str, kind: str, data: Data, n: int, effect: float,
               ci: tuple[float, float], p: float, threshold: float, direction: str,
               metric: str, verdict: str, method: str = "", missed: str = "",
               details: Details | None = None, charts: Charts | None = None,
               unit: str | None = None, percentile: float | None = None) -> Record:
        """The claim's record, with the unit, model, seed and test filled in."""
        name = unit or str(getattr(self.unit, "name", self.unit))
        details = details or Details()
        if self.ctx.sequential and not self.rerun and "sequential" not in details:
            from neurospec.claims.sequential import fixed_n

            details["sequential"] = fixed_n()  # a claim without a sequence says so
        return Record(claim=claim, kind=kind, unit=name, model=cast(ModelInfo, self.model.info()),
                      data=data, n=n, effect=effect, ci=ci, p=p, threshold=threshold,
                      direction=direction, metric=metric, verdict=verdict, seed=self.ctx.seed,
                      method=method, missed=missed, details=details,
                      charts=charts or Charts(), test=self.ctx.test, percentile=percentile)

    def underpowered(self, claim: str, kind: str, sets: dict[str, int], data: Data,
                     unit: str | None = None) -> Record | None:
        """The record of an underpowered claim when a set has fewer than ``ctx.min_docs``
        documents (too few for a CI to mean anything), else None."""
        few = {k: v for k, v in sets.items() if v < self.ctx.min_docs}
        if not few:
            return None
        why = ", ".join(f"{k} has {v}" for k, v in few.items())
        return self.record(
            claim=claim, kind=kind, unit=unit, data=data, n=sum(sets.values()),
            effect=math.nan, ci=(math.nan, math.nan), p=math.nan, threshold=math.nan,
            direction=">=", metric="", verdict="underpowered",
            missed=f"underpowered: {why} documents; a 95% CI needs at least "
                   f"{self.ctx.min_docs} per set (add documents, or lower --neurospec-min-docs)")


def conclude_followup(new: Record, replaces: Record) -> Record:
    """End a follow-up (a baseline, a matched negative): its record takes the place of the
    claim's own, and raises when the tightened claim does not hold."""
    __tracebackhide__ = True
    _emit_and_raise(new, replaces)
    return new


def _emit_and_raise(record: Record, replaces: Record | None = None) -> None:
    __tracebackhide__ = True
    if replaces is None:
        emit(record)
    else:
        replace_record(replaces, record)
    if record.verdict == "underpowered":
        raise Underpowered(failure_message(record), record)
    if not record.passed:
        raise ClaimFailed(failure_message(record), record)
