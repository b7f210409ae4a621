"""How every claim ends, in one place: the claim's scope (unit, model, run settings, SAE,
the test's statement), its record, the underpowered check, and concluding it.

A claim method reads top to bottom: check its arguments, measure, compute its statistic,
build one record (:meth:`Scope.record`), and :func:`conclude` it.  Concluding a claim:

1. closes the test's statement (a claim was stated: :mod:`neurospec.claims.statements`);
2. checks a passing unit claim for vacuity when the run asks (random units of its layer,
   :func:`neurospec.claims.rerun.vacuity`);
3. emits the record (kept for the report) and raises when it did not hold
   (:class:`~neurospec.errors.Underpowered` for too few documents, else
   :class:`~neurospec.errors.ClaimFailed`).

A follow-up that tightens a claim already concluded (a random-unit baseline, a matched
negative) concludes its updated record in place of the old one (:func:`conclude_followup`).
A rerun of a claim for another unit (a baseline, the vacuity check) is never concluded: its
scope says so (``rerun=True``) and the claim's record is only read.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from neurospec.claims import context
from neurospec.claims.statements import Statement
from neurospec.claims.verdict import failure_message
from neurospec.errors import ClaimFailed, Underpowered
from neurospec.evidence.payloads import Charts, Data, Details
from neurospec.evidence.record import Record
from neurospec.evidence.sink import emit, replace_record

if TYPE_CHECKING:
    from neurospec.claims.rerun import Call
    from neurospec.claims.result import ClaimResult
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
        name = unit or getattr(self.unit, "name", str(self.unit))
        return Record(claim=claim, kind=kind, unit=name, model=self.model.info(), data=dict(data),
                      n=n, effect=effect, ci=ci, p=p, threshold=threshold, direction=direction,
                      metric=metric, verdict=verdict, seed=self.ctx.seed, method=method,
                      missed=missed, details=dict(details or {}), charts=dict(charts or {}),
                      test=self.ctx.test, percentile=percentile)

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


def conclude(scope: Scope, record: Record, call: Call | None = None) -> ClaimResult:
    """End a claim: close its statement, check a passing unit claim for vacuity (when the
    run asks), emit its record and raise when it does not hold.

    Returns:
        the passing claim's result (with its follow-ups).
    """
    __tracebackhide__ = True
    from neurospec.claims.rerun import vacuity
    from neurospec.claims.result import ClaimResult

    if scope.statement is not None:
        scope.statement.close()
    # "within" claims (off-target damage) are meant to hold for most units: not checked
    if (call is not None and record.passed and scope.ctx.vacuity > 0
            and record.direction != "within"):
        record = vacuity(record, call, scope.ctx.vacuity, scope.ctx.seed, scope.model,
                         scope.ctx.strict, scope.sae)
    _emit_and_raise(record)
    return ClaimResult(record, call, scope)


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
