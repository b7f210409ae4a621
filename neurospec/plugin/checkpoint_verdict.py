"""A ``--checkpoint`` run's own verdict: claims are expected to start holding somewhere in
training, so failing on an early checkpoint need not fail the run.

``every``: each checkpoint must pass each claim (plain pytest).  ``final``: the last
checkpoint must.  ``no-regression``: a claim must hold from some checkpoint on, through the
last; one that held and then stopped holding at a later checkpoint is a regression.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from neurospec.evidence.record import Record
from neurospec.report.matrix import build_matrix


@dataclass(frozen=True)
class CheckpointVerdict:
    excused: frozenset[str] = frozenset()  # failing tests that do not fail the run
    regressions: tuple[str, ...] = ()  # "claim: held at a, fails at b" lines
    never: tuple[str, ...] = field(default=())  # claims that do not hold at the last column


def judge(records: list[Record], mode: str) -> CheckpointVerdict:
    """Which failing tests ``mode`` excuses, and the regressions it found."""
    if mode == "every" or len({r.column for r in records}) < 2:
        return CheckpointVerdict()
    m = build_matrix(records)
    ok_cells: set[int] = set()  # ids of failing records that are excused
    regressions, never = [], []
    for row in m.rows:
        cells = list(zip(m.columns, row.cells))
        last = cells[-1][1]
        if last is None or not last.passed:
            never.append(row.claim)
            continue
        failing = [(c, r) for c, r in cells if r is not None and not r.passed]
        held = [c for c, r in cells if r is not None and r.passed]
        if mode == "no-regression":
            first_pass = next(i for i, (_, r) in enumerate(cells) if r is not None and r.passed)
            later = [(c, r) for c, r in cells[first_pass:] if r is not None and not r.passed]
            if later:
                regressions.append(f"{row.claim}: holds at {held[0]}, fails at "
                                   f"{', '.join(c for c, _ in later)}")
                continue
        ok_cells.update(id(r) for _, r in failing)
    excused = set()
    by_test: dict[str, list[Record]] = {}
    for r in records:
        by_test.setdefault(r.test, []).append(r)
    for test, recs in by_test.items():
        bad = [r for r in recs if not r.passed]
        if bad and all(id(r) in ok_cells for r in bad):
            excused.add(test)
    return CheckpointVerdict(frozenset(excused), tuple(regressions), tuple(never))
