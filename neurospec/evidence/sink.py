"""Where records go as claims finish: the current collector (set per test by the plugin),
or the session list of a notebook user."""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator

from neurospec.evidence.record import Record
from neurospec.evidence.results import Results

_collector: contextvars.ContextVar[list[Record] | None] = contextvars.ContextVar(
    "neurospec_collector", default=None)
_session: list[Record] = []


def emit(record: Record) -> None:
    """Keep ``record`` for the current test (or the interactive session)."""
    target = _collector.get()
    (target if target is not None else _session).append(record)


@contextlib.contextmanager
def collecting(into: list[Record] | None = None) -> Iterator[list[Record]]:
    """Collect every record emitted inside the block (into ``into`` when given)."""
    records: list[Record] = [] if into is None else into
    token = _collector.set(records)
    try:
        yield records
    finally:
        _collector.reset(token)


def replace_record(old: Record, new: Record) -> None:
    """Swap an emitted record for an updated one (e.g. after a random-unit baseline)."""
    target = _collector.get()
    target = target if target is not None else _session
    for i in range(len(target) - 1, -1, -1):
        if target[i] is old:
            target[i] = new
            return
    target.append(new)


def session_records() -> Results:
    """Records of claims run outside pytest in this process (e.g. in a notebook); in Jupyter
    they render as the report does (summary, then evidence cards)."""
    return Results(_session)
