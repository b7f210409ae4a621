"""Progress of long measurements, as a few terminal lines rather than a flood.

Measurements wrap their long loops in :func:`progress`; nothing is shown unless a reporter is
installed with :func:`reporting` (the pytest plugin installs one that writes to the terminal).
The first line comes after ``FIRST_AFTER_S`` seconds and then at most one every ``EVERY_S``
seconds, so short steps print nothing and CI logs stay readable.
"""

from __future__ import annotations

import contextlib
import contextvars
import time
from collections.abc import Callable, Iterator

FIRST_AFTER_S = 5.0
EVERY_S = 15.0

_reporter: contextvars.ContextVar[Callable[[str], None] | None] = contextvars.ContextVar(
    "neurospec_progress", default=None)


@contextlib.contextmanager
def reporting(write: Callable[[str], None] | None) -> Iterator[None]:
    token = _reporter.set(write)
    try:
        yield
    finally:
        _reporter.reset(token)


class Progress:
    """Counts work done; call :meth:`advance` as it happens."""

    def __init__(self, what: str, total: int, unit: str,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.what, self.total, self.unit = what, total, unit
        self.clock = clock
        self.start = self.last = clock()
        self.done = 0
        self.lines = 0

    def advance(self, n: int = 1) -> None:
        self.done += n
        write = _reporter.get()
        if write is None:
            return
        now = self.clock()
        due = FIRST_AFTER_S if self.lines == 0 else EVERY_S
        if now - self.last < due and not (self.lines and self.done >= self.total):
            return
        elapsed = now - self.start
        left = elapsed / self.done * (self.total - self.done) if self.done else float("nan")
        write(f"neurospec: {self.what}: {self.done}/{self.total} {self.unit}, {elapsed:.0f} s"
              + (f", ~{left:.0f} s left" if self.done < self.total else ", done"))
        self.last = now
        self.lines += 1


def progress(what: str, total: int, unit: str) -> Progress:
    """A progress counter for ``total`` steps of ``unit``."""
    return Progress(what, total, unit)
