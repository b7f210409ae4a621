"""Every claim test's outcome reaches the results: a test that errored, was skipped, stated
no claim, or failed for a reason other than its claim gets a record of that outcome
(:func:`neurospec.evidence.record.outcome_record`) beside the records of the claims it
stated, so the summary, the report and ``neurospec compare`` show it instead of losing it.

A *claim test* is one that uses a model (the ``model`` fixture, a ``model`` marker, or a run
default), built an expectation, or emitted a record.  Other tests are left to pytest.

Two rules change what pytest alone would say about a claim test:

- an expectation built and never stated (``expect(u).ablated(...)`` without a claim, or
  ``expect(u).activates_more`` without the call) fails the test with
  :class:`~neurospec.errors.NoClaimStated`, naming the call that is missing;
- under ``xfail`` (without ``raises=``), only a failed assertion (a claim that did not hold)
  is the expected failure; an error (a mistyped corpus name, a missing model) fails the test
  as an error, never as an expected failure.
"""

from __future__ import annotations

from typing import Any

import pytest

from neurospec.evidence.record import ERROR, NO_CLAIM, SKIPPED, XFAIL_ERROR, Record, outcome_record
from neurospec.plugin.fixtures import (
    CHECKPOINT_FIXTURE,
    MODELS_OF_TEST,
    RECORDS,
    STATEMENTS,
    uses_model,
)

XFAILED_IN_ERROR = pytest.StashKey[bool]()  # an xfail test that errored (fix_xfail)
ATTACHED = pytest.StashKey[int]()  # how many of the test's records went out on a report
WHY_LIMIT = 2000  # characters of an error message kept in its record


def records_of(item: pytest.Item) -> list[Record]:
    return item.stash.setdefault(RECORDS, [])


def is_claim_test(item: pytest.Item) -> bool:
    return bool(uses_model(item.config, item, getattr(item, "fixturenames", ()))
                or item.stash.get(STATEMENTS, None) or item.stash.get(RECORDS, None))


def check_statements(item: pytest.Item) -> None:
    """Raise :class:`NoClaimStated` when the test built an expectation and stated nothing."""
    from neurospec.claims.statements import unstated
    from neurospec.errors import NoClaimStated

    missing = unstated(item.stash.get(STATEMENTS, []))
    if missing:
        raise NoClaimStated("; ".join(s.missing() for s in missing)
                            + ". A test that states no claim checks nothing")


def fix_xfail(item: pytest.Item, call: pytest.CallInfo, report: pytest.TestReport) -> None:
    """Under ``xfail`` without ``raises=``, an error is not the expected failure: only a
    failed assertion (``ClaimFailed`` is one) is.  Such a report becomes a failure."""
    if not (report.skipped and hasattr(report, "wasxfail")) or call.excinfo is None:
        return
    exc = call.excinfo.value
    if isinstance(exc, (AssertionError, pytest.xfail.Exception)):
        return
    if any(m.kwargs.get("raises") is not None for m in item.iter_markers("xfail")):
        return  # the user said which exception is expected; pytest already checked it
    report.outcome = "failed"
    reason = report.wasxfail
    del report.wasxfail
    item.stash[XFAILED_IN_ERROR] = True
    report.sections.append(("neurospec", (
        f"this test is marked xfail ({reason or 'no reason'}) but it errored with "
        f"{type(exc).__name__} instead of failing its claim: an error is never an expected "
        f"failure. Fix the error, or say which exception you expect with "
        f"xfail(raises=...)")))


def outcome_records(item: pytest.Item, call: pytest.CallInfo,
                    report: pytest.TestReport) -> list[Record]:
    """The records this report adds for the test's outcome (none when the claims' own
    records say it all)."""
    from neurospec.errors import ClaimFailed, NoClaimStated

    records = records_of(item)
    when = report.when
    exc = call.excinfo.value if call.excinfo is not None else None
    if report.passed:
        if when == "call" and not records and not item.stash.get(STATEMENTS, None):
            return [_record(item, report, NO_CLAIM, (
                "this test uses a model but stated no claim (no expect(...) reached a "
                "verdict): it checked nothing; state a claim, or move a test that checks "
                "something else out of the claims suite"))]
        return []
    if report.skipped and not hasattr(report, "wasxfail"):
        return [_record(item, report, SKIPPED, _skip_reason(report))]
    if isinstance(exc, ClaimFailed) and any(r is exc.record for r in records):
        return []  # the claim's own record carries the failure
    if exc is None:  # a strict XPASS: the claims' records (passed) say it
        return []
    if isinstance(exc, NoClaimStated):
        return [_record(item, report, NO_CLAIM, str(exc))]
    if isinstance(exc, AssertionError) and any(r.is_claim and not r.passed for r in records):
        return []  # a claim that did not hold explains the failed assertion
    verdict = "fail" if isinstance(exc, (AssertionError, pytest.xfail.Exception)) else ERROR
    if verdict == ERROR and item.stash.get(XFAILED_IN_ERROR, False):
        verdict = XFAIL_ERROR
    where = {"setup": " while setting up the test", "teardown": " after the test"}.get(when, "")
    what = "pytest.xfail" if isinstance(exc, pytest.xfail.Exception) else type(exc).__name__
    return [_record(item, report, verdict, f"{what}{where}: {_text(exc)}")]


def _record(item: pytest.Item, report: pytest.TestReport, verdict: str, why: str) -> Record:
    from neurospec.claims.statements import unstated

    statements = item.stash.get(STATEMENTS, [])
    open_ = unstated(statements) or statements
    claim = open_[-1].text if open_ else ""
    if claim and why.startswith(claim + " "):
        why = why[len(claim) + 1:]  # "expect(...) states no claim: ...": said once
    models = item.stash.get(MODELS_OF_TEST, [])
    callspec = getattr(item, "callspec", None)
    label = callspec.params.get(CHECKPOINT_FIXTURE) if callspec is not None else None
    return outcome_record(item.nodeid, verdict, why[:WHY_LIMIT], claim=claim,
                          model=models[0].info() if models else None,
                          checkpoint=str(label or ""))


def _skip_reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    text = longrepr[2] if isinstance(longrepr, tuple) and len(longrepr) == 3 else str(longrepr)
    return text.removeprefix("Skipped: ")


def _text(exc: BaseException) -> str:
    text = str(exc).strip() or repr(exc)
    return text if len(text) <= WHY_LIMIT else text[:WHY_LIMIT - 1] + "\u2026"


def attach_new(item: pytest.Item, report: pytest.TestReport, property_name: str) -> None:
    """Put the test's records not yet sent on ``report`` (as dicts: they may cross to the
    controller under xdist), labelled with the ``--checkpoint`` the test ran on."""
    from dataclasses import replace

    records = records_of(item)
    start = item.stash.get(ATTACHED, 0)
    new = records[start:]
    item.stash[ATTACHED] = len(records)
    if not new:
        return
    callspec = getattr(item, "callspec", None)
    label = callspec.params.get(CHECKPOINT_FIXTURE) if callspec is not None else None
    if label:
        # only records measured on the test's own (checkpoint) model carry its label
        prints = {m.fingerprint for m in item.stash.get(MODELS_OF_TEST, [])}
        new = [replace(r, checkpoint=label) if not r.is_claim
               or r.model.get("fingerprint") in prints else r for r in new]
    report.user_properties.append((property_name, [r.to_dict() for r in new]))


def handle(item: pytest.Item, call: pytest.CallInfo, report: pytest.TestReport,
           property_name: str) -> Any:
    """Everything the plugin does with a test's report: fix an xfail that errored, add the
    records of the test's outcome, and send the new records with the report."""
    if is_claim_test(item):
        fix_xfail(item, call, report)
        records_of(item).extend(outcome_records(item, call, report))
    elif report.skipped and not hasattr(report, "wasxfail"):
        # any skipped test is listed: a claim skipped before it said so is still a claim
        records_of(item).append(_record(item, report, SKIPPED, _skip_reason(report)))
    attach_new(item, report, property_name)
    return report
