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

from typing import TYPE_CHECKING

from neurospec.claims.scope import Scope, _emit_and_raise, conclude_followup
from neurospec.evidence.record import Record

if TYPE_CHECKING:
    from neurospec.claims.rerun import Call
    from neurospec.claims.result import ClaimResult

__all__ = ["Scope", "conclude", "conclude_followup"]


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
