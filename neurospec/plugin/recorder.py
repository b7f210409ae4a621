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

from neurospec.evidence.record import NO_CLAIM, SKIPPED, Record
from neurospec.evidence.results import BROKEN, CAUGHT, state
from neurospec.plugin import options as o
from neurospec.plugin.fixtures import MODEL_TEST
from neurospec.stats.multiple import holm_records

PROPERTY = "neurospec"


@dataclass
class State:
    """The run's records on the controller (in ``config.stash``)."""

    records: list[Record] = field(default_factory=list)  # in the order tests finished
    record_lines: list[str] = field(default_factory=list)  # the same, serialised once each
    demoted: list[Record] = field(default_factory=list)  # passes that Holm turned into fails
    failed: set[str] = field(default_factory=set)  # tests that failed or errored
    excused: list[str] = field(default_factory=list)  # failures the checkpoint verdict excuses
    regressions: list[str] = field(default_factory=list)
    model_tests: set[str] = field(default_factory=set)  # tests that use a model
    collected: list[str] = field(default_factory=list)  # every test id the run collected
    claim_tests: set[str] | None = None  # those that are claim tests (None: unknown, xdist)
    deselected: int = 0
    reported: set[str] = field(default_factory=set)  # tests whose teardown was reported
    write_error: str = ""  # the last failed write of the results file ("" when none)
    html_error: str = ""  # a failed write of pytest-html's page
    complete: bool = False  # set when the session ends: the results file says so
    stopped: str = ""  # why the session ended before running every test ("" when it did not)
    finished: int = 0  # tests whose teardown was reported
    json_path: Path | None = None
    is_worker: bool = False
    notes: list[str] = field(default_factory=list)  # said at the end (a symlinked output)

    @property
    def checked(self) -> list[Record]:
        """Records of claims that reached a verdict (not of errors, skips ...)."""
        return [r for r in self.records if r.is_claim]


STATE = pytest.StashKey[State]()


def outcome_of(report: pytest.TestReport) -> str:
    """pytest's outcome, with ``xfailed`` / ``xpassed`` for tests under ``xfail`` (a strict
    XPASS is reported as failed, with ``[XPASS(strict)]`` as its reason) and ``error`` for
    a failure while setting up or tearing down the test."""
    if hasattr(report, "wasxfail"):
        return "xfailed" if report.skipped else "xpassed"
    if report.failed and str(report.longrepr).startswith("[XPASS(strict)]"):
        return "xpassed"
    if report.failed and report.when != "call":
        return "error"
    return report.outcome


class Recorder:
    """Collects records as test reports arrive (on the controller under xdist), keeps the
    results JSON current, corrects for the run's number of claims at its end, and prints
    the terminal summary."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.state = config.stash[STATE]

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.failed:
            self.state.failed.add(report.nodeid)
        if report.when == "teardown":
            self.state.finished += 1
            self.state.reported.add(report.nodeid)
        if (MODEL_TEST, True) in report.user_properties:
            self.state.model_tests.add(report.nodeid)
        found = [value for key, value in report.user_properties if key == PROPERTY]
        if not found:
            return
        outcome = outcome_of(report)
        for value in found:
            self.state.records.extend(replace(Record.from_dict(d), outcome=outcome)
                                      for d in value)
        self.write()

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        """A file that fails to collect is an error in the results (its tests never ran)."""
        if not report.failed:
            return
        from neurospec.evidence.record import ERROR, outcome_record

        text = str(report.longrepr).strip().splitlines()
        why = " / ".join(line.strip() for line in text[-3:] if line.strip())
        self.state.records.append(outcome_record(
            report.nodeid, ERROR, f"collecting {report.nodeid or 'the tests'} failed: {why}",
            claim=f"collecting {report.nodeid or 'the tests'}", outcome="error"))
        self.write()

    def pytest_deselected(self, items: list[pytest.Item]) -> None:
        self.state.deselected += len(items)

    @pytest.hookimpl(trylast=True)
    def pytest_collection_finish(self, session: pytest.Session) -> None:
        from neurospec.plugin.outcomes import is_claim_test

        if session.items or not self.state.collected:
            self.state.collected = [i.nodeid for i in session.items]
            self.state.claim_tests = {i.nodeid for i in session.items if is_claim_test(i)}

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node: Any, ids: list[str]) -> None:
        if not self.state.collected:  # every worker collects the same tests
            self.state.collected = list(ids)

    def write(self) -> None:
        """Rewrite the results file with every record so far (atomically): a run killed
        at any point leaves valid JSON with every claim that finished."""
        if self.state.json_path is None or self.state.is_worker:
            return
        from neurospec.evidence.jsonio import atomic_write_text, record_json, results_text

        lines = self.state.record_lines
        lines.extend(record_json(r.to_dict()) for r in self.state.records[len(lines):])
        from neurospec.evidence.environment import environment

        env = environment([r.model or {} for r in self.state.records])
        # "complete" stays False until the session ends: a killed run's file says so.
        meta = {"seed": o.seed(self.config), "environment": env, "complete": self.state.complete,
                "collected": self.state.collected, "selection": self.selection()}
        from neurospec.errors import OutputError

        try:
            atomic_write_text(self.state.json_path, results_text(lines, meta=meta))
        except OutputError as exc:  # a full disk: keep running the tests, fail the run at the end
            self.state.write_error = str(exc)
        else:
            self.state.write_error = ""

    def selection(self) -> dict:
        """How the run chose its tests: a comparison must not read a test left out by
        ``-k``, ``-m`` or a narrower path as a test removed from the suite."""
        opt = self.config.option
        keyword, marks = getattr(opt, "keyword", "") or "", getattr(opt, "markexpr", "") or ""
        last = bool(getattr(opt, "lf", False) or getattr(opt, "failedfirst", False)
                    or getattr(opt, "stepwise", False))
        return {"args": [str(a) for a in self.config.args], "keyword": keyword,
                "markexpr": marks, "deselected": self.state.deselected,
                "filtered": bool(keyword or marks or last or self.state.deselected)}

    def _not_run(self, why: str) -> None:
        """A record for each collected claim test that never ran (the run stopped first)."""
        from neurospec.evidence.record import NOT_RUN, outcome_record

        claims = self.state.claim_tests
        if claims is None:  # under xdist: the files whose tests that ran were claim tests
            files = {r.test.split("::")[0] for r in self.state.records}
            files |= {t.split("::")[0] for t in self.state.model_tests}
            claims = {t for t in self.state.collected if t.split("::")[0] in files}
        for test in self.state.collected:
            if test in self.state.reported or test not in claims:
                continue
            self.state.records.append(outcome_record(
                test, NOT_RUN, f"the run stopped before this test ran ({why})",
                outcome="not run"))

    @pytest.hookimpl(tryfirst=True)  # before pytest-html renders its summary
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self.config.getoption(o.CORRECT_OPTION) == "holm" and not self.state.is_worker:
            # p-values are one-sided, against each claim's own threshold, from the bootstrap
            # that gives its CI: a 95% CI clears the threshold exactly when p <= ALPHA / 2
            self.state.records, self.state.demoted = holm_records(self.state.records,
                                                                  o.ALPHA / 2)
            self.state.record_lines.clear()  # every record changed: serialise them afresh
            if self.state.demoted and session.exitstatus == 0:
                session.exitstatus = pytest.ExitCode.TESTS_FAILED
        if not self.state.is_worker and self.config.getoption(o.CHECKPOINT_OPTION):
            self._checkpoint_verdict(session)
        # a run stopped early (Ctrl-C, -x / --maxfail) ends without its later claims
        ran, collected = self.state.finished, session.testscollected
        if ran < collected and not self.config.option.collectonly:
            why = session.shouldstop or session.shouldfail or (
                "interrupted" if session.exitstatus == pytest.ExitCode.INTERRUPTED else "")
            self.state.stopped = f"{why}; " * bool(why) + f"{ran} of {collected} tests ran"
            if not self.state.is_worker:
                self._not_run(self.state.stopped)
        self.state.complete = not self.state.stopped
        self.write()
        if self.state.is_worker:
            return
        broken = any(state(r) in BROKEN for r in self.state.records)
        nothing = bool(self.state.model_tests) and not self.state.checked
        if broken and session.exitstatus == pytest.ExitCode.OK:
            # an error a test caught, a collection error under --continue-on-collection-errors
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
        if (nothing or self.state.write_error) and session.exitstatus in (
                pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED):
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def _checkpoint_verdict(self, session: pytest.Session) -> None:
        """With several checkpoints, failures before a claim starts holding do not fail the
        run (unless ``--neurospec-checkpoint-verdict=every``)."""
        from neurospec.plugin.checkpoint_verdict import judge

        verdict = judge(self.state.records, self.config.getoption(o.CHECKPOINT_VERDICT_OPTION))
        self.state.regressions = list(verdict.regressions)
        excused = sorted(self.state.failed & verdict.excused)
        self.state.excused = excused
        if (excused and session.exitstatus == pytest.ExitCode.TESTS_FAILED
                and self.state.failed <= verdict.excused and not self.state.demoted):
            session.exitstatus = pytest.ExitCode.OK

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        from neurospec.report.escape import terminal
        from neurospec.report.summary import counts_line

        def say(text: str, **markup: bool) -> None:
            # claim, test and corpus names reach the log: one line each, control characters
            # and bidi overrides as escapes (a line starting "::" would be a CI command)
            terminalreporter.write_line(terminal(text), **markup)

        records = self.state.records
        if self.state.write_error:
            say(f"neurospec: could not write the results: {self.state.write_error}", red=True)
        if self.state.html_error:
            say(f"neurospec: could not write the HTML report: {self.state.html_error}", red=True)
            session = getattr(terminalreporter, "_session", None)
            if session is not None and session.exitstatus == pytest.ExitCode.OK:
                session.exitstatus = pytest.ExitCode.TESTS_FAILED
        if self.state.model_tests and not self.state.checked:
            n = len(self.state.model_tests)
            skipped = sum(r.verdict == SKIPPED for r in records)
            terminalreporter.write_sep(
                "-", f"neurospec: no claim was checked: {n} test{'s' * (n != 1)} using a model, "
                     f"{skipped} skipped (see the reasons above; {o.REQUIRE_OPTION} makes them "
                     f"fail), so the run fails", red=True)
        if all(r.verdict == SKIPPED for r in records):
            return  # nothing but skipped tests (a run of other tests): nothing to say
        terminalreporter.write_sep("-", "neurospec: " + terminal(counts_line(records)))
        if not self.state.complete:
            say(f"neurospec: incomplete run ({self.state.stopped}): later claims are missing",
                yellow=True)
        for r in self.state.demoted:
            say(f"FAILED after Holm correction: {r.test}: {r.claim} "
                f"(p={r.p:.3g}, adjusted {r.p_adjusted:.3g})")
        for r in records:
            if state(r) == CAUGHT:
                say(f"CAUGHT: {r.test}: {r.claim} failed, and the test caught the failure "
                    f"(the test passed; the claim did not hold)")
            elif state(r) == NO_CLAIM and r.outcome == "passed":
                say(f"NO CLAIM: {r.test}: {r.missed}", yellow=True)
        for r in records:
            if r.vacuous:
                v = r.details["vacuity"]
                say(f"VACUOUS: {r.test}: {r.claim} (also holds for "
                    f"{v['passed']} of {v['k']} random units)")
        mode = self.config.getoption(o.CHECKPOINT_VERDICT_OPTION)
        for line in self.state.regressions:
            say(f"REGRESSION across checkpoints: {line}")
        if self.state.excused:
            n = len(self.state.excused)
            say(f"neurospec: {n} failing {'test' if n == 1 else 'tests'} on checkpoints before "
                f"the claim starts to hold: not a failure of the run "
                f"({o.CHECKPOINT_VERDICT_OPTION}={mode})")
        for note in self.state.notes:
            say(f"neurospec: {note}")
        if self.state.json_path is not None:
            say(f"neurospec results: {self.state.json_path}")
