"""The session's records: from each test to the controller, into the results JSON, through
the run-wide correction, to the terminal summary.

Records travel from a test to the controller through ``report.user_properties`` (so they
reach it under pytest-xdist too) and stay frozen :class:`Record` objects from then on.  A
correction across the run (Holm) makes new records at the session's end; nothing renders
before then, so every view shows the final verdicts.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest

from neurospec.evidence.record import Record
from neurospec.plugin import options as o
from neurospec.plugin.fixtures import CHECKPOINT_FIXTURE, RECORDS

PROPERTY = "neurospec"


@dataclass
class State:
    """The run's records on the controller (in ``config.stash``)."""

    records: list[Record] = field(default_factory=list)  # in the order tests finished
    record_lines: list[str] = field(default_factory=list)  # the same, serialised once each
    demoted: list[Record] = field(default_factory=list)  # passes that Holm turned into fails
    json_path: Path | None = None
    is_worker: bool = False


STATE = pytest.StashKey[State]()


def attach_records(item: pytest.Item, report: pytest.TestReport) -> None:
    """Put the test's records on its call report (as dicts: they may cross to the
    controller), labelled with the ``--checkpoint`` the test ran on."""
    records = item.stash.get(RECORDS, [])
    if report.when != "call" or not records:
        return
    callspec = getattr(item, "callspec", None)
    label = callspec.params.get(CHECKPOINT_FIXTURE) if callspec is not None else None
    if label:
        records = [replace(r, checkpoint=label) for r in records]
    report.user_properties.append((PROPERTY, [r.to_dict() for r in records]))


def outcome_of(report: pytest.TestReport) -> str:
    return "xfailed" if hasattr(report, "wasxfail") and report.skipped else report.outcome


class Recorder:
    """Collects records as test reports arrive (on the controller under xdist), keeps the
    results JSON current, corrects for the run's number of claims at its end, and prints
    the terminal summary."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.state = config.stash[STATE]

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when != "call":
            return
        found = [value for key, value in report.user_properties if key == PROPERTY]
        if not found:
            return
        outcome = outcome_of(report)
        for value in found:
            self.state.records.extend(replace(Record.from_dict(d), outcome=outcome)
                                      for d in value)
        self.write()

    def write(self) -> None:
        """Rewrite the results file with every record so far (atomically): a run killed
        at any point leaves valid JSON with every claim that finished."""
        if self.state.json_path is None or self.state.is_worker:
            return
        from neurospec.evidence.jsonio import atomic_write_text, record_json, results_text

        lines = self.state.record_lines
        lines.extend(record_json(r.to_dict()) for r in self.state.records[len(lines):])
        atomic_write_text(self.state.json_path,
                          results_text(lines, meta={"seed": o.seed(self.config)}))

    @pytest.hookimpl(tryfirst=True)  # before pytest-html renders its summary
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self.config.getoption(o.CORRECT_OPTION) == "holm" and not self.state.is_worker:
            self.state.records, self.state.demoted = correct_holm(self.state.records, o.ALPHA)
            self.state.record_lines.clear()  # every record changed: serialise them afresh
            if self.state.demoted and session.exitstatus == 0:
                session.exitstatus = pytest.ExitCode.TESTS_FAILED
        self.write()

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        records = self.state.records
        if not records:
            return
        counts: dict[str, int] = {}
        for r in records:
            counts[r.verdict] = counts.get(r.verdict, 0) + 1
        text = ", ".join(f"{v} {k}" for k, v in sorted(counts.items()))
        terminalreporter.write_sep("-", f"neurospec: {len(records)} claim checks ({text})")
        for r in self.state.demoted:
            terminalreporter.write_line(f"FAILED after Holm correction: {r.test}: {r.claim} "
                                        f"(p={r.p:.3g}, adjusted {r.p_adjusted:.3g})")
        for r in records:
            if r.vacuous:
                v = r.details["vacuity"]
                terminalreporter.write_line(f"VACUOUS: {r.test}: {r.claim} (also holds for "
                                            f"{v['passed']} of {v['k']} random units)")
        if self.state.json_path is not None:
            terminalreporter.write_line(f"neurospec results: {self.state.json_path}")


def correct_holm(records: list[Record], alpha: float) -> tuple[list[Record], list[Record]]:
    """The records with Holm-adjusted p-values, and those of them that it demotes: a passing
    claim whose adjusted p exceeds ``alpha`` becomes a failure."""
    import numpy as np

    from neurospec.stats.multiple import holm

    def p_of(r: Record) -> float:
        return float(r.p) if isinstance(r.p, (int, float)) else float("nan")

    adjusted = holm([p_of(r) for r in records])
    tested = int(np.isfinite(adjusted).sum())
    out, demoted = [], []
    for r, adj in zip(records, adjusted):
        if np.isfinite(adj):
            r = replace(r, p_adjusted=float(adj))
            if r.verdict == "pass" and adj > alpha:
                r = replace(r, verdict="fail", missed=f"Holm-adjusted p={adj:.3g} > {alpha} "
                                                      f"across the run's {tested} claims")
                demoted.append(r)
        out.append(r)
    return out, demoted
