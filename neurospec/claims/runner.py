"""What every expectation shares: its unit, model and run context; building a record; the
underpowered check; and concluding a claim (vacuity check, then :func:`finish.end`)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from neurospec.claims import context
from neurospec.claims.finish import end
from neurospec.claims.rerun import Call, vacuity
from neurospec.claims.result import ClaimResult
from neurospec.claims.statements import Statement
from neurospec.evidence.record import Record


@dataclass(frozen=True)
class Runner:
    """The unit (a name for layer claims), model, context and SAE of one expectation."""

    unit: Any
    model: Any
    ctx: context.Context
    sae: Any = None
    statement: Statement | None = None  # what the test built; a verdict closes it

    @property
    def seed(self) -> int:
        return self.ctx.seed

    def record(self, **kw: Any) -> Record:
        unit = kw.pop("unit", None) or getattr(self.unit, "name", str(self.unit))
        return Record(unit=unit, model=self.model.info(), seed=self.ctx.seed,
                      test=self.ctx.test, **kw)

    def underpowered(self, claim: str, kind: str, sets: dict[str, int], data: dict,
                     unit: str | None = None) -> Record | None:
        """The record of an underpowered claim when a set has fewer than ``ctx.min_docs``
        documents (too few for a bootstrap CI to mean anything), else None."""
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

    def conclude(self, record: Record, call: Call | None = None) -> ClaimResult:
        """Check a passing unit claim for vacuity (when on), then end it."""
        __tracebackhide__ = True
        if self.statement is not None:
            self.statement.close()
        # "within" claims (off-target damage) are meant to hold for most units: not checked
        if call is not None and record.passed and self.ctx.vacuity > 0 \
                and record.direction != "within":
            record = vacuity(record, call, self.ctx.vacuity, self.ctx.seed, self.model,
                             self.ctx.strict, self.sae)
        return ClaimResult(end(record), call, self)
