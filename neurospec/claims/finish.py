"""Where every claim ends: its record is kept for the report, then a claim that does not
hold raises (``Underpowered`` for too few documents, else ``ClaimFailed``)."""

from __future__ import annotations

from neurospec.claims.verdict import failure_message
from neurospec.errors import ClaimFailed, Underpowered
from neurospec.evidence.record import Record
from neurospec.evidence.sink import emit, replace_record


def end(record: Record, replaces: Record | None = None) -> Record:
    """Emit ``record`` (in place of ``replaces`` when a follow-up updated it) and raise
    when it did not pass; return it when it did."""
    __tracebackhide__ = True
    if replaces is None:
        emit(record)
    else:
        replace_record(replaces, record)
    if record.verdict == "underpowered":
        raise Underpowered(failure_message(record), record)
    if not record.passed:
        raise ClaimFailed(failure_message(record), record)
    return record
