"""A run's records as one object: a list of :class:`Record` that also knows each claim's
identity across checkpoints and runs, and turns into a pandas DataFrame (in Jupyter it renders
as the report does, through :mod:`neurospec.report.notebook`).

Example::

    runs = neurospec.read_results("reports/run.json")
    df = runs.to_frame()                     # one row per claim check
    df.pivot(index="claim_id", columns="column", values="effect")
"""

from __future__ import annotations

import math
from typing import Any

from neurospec.evidence.record import ERROR, NO_CLAIM, NOT_RUN, SKIPPED, XFAIL_ERROR, Record

FRAME_COLUMNS = ["claim_id", "test", "claim", "kind", "unit", "column", "model", "checkpoint",
                 "fingerprint", "verdict", "state", "outcome", "effect", "ci_low", "ci_high", "p",
                 "threshold", "direction", "metric", "n", "percentile", "vacuous", "seed",
                 "method", "missed"]


def optional(record: Record, name: str) -> Any:
    """A record field that older (or newer) results files may lack: ``None`` when absent.

    ``percentile`` falls back to ``details['random_percentile']`` (where ablation claims with
    ``against_random`` kept it before it became a field)."""
    value = getattr(record, name, None)
    if value is None and name == "percentile":
        value = record.details.get("random_percentile")
    if isinstance(value, str):  # JSON stores NaN as "nan"
        try:
            value = float(value)
        except ValueError:
            return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def base_test_id(record: Record) -> str:
    """The record's test id without its checkpoint parameter: ``t.py::f[step150]`` and
    ``t.py::f[step3000]`` are the same claim measured on two checkpoints.  The label is
    matched as a whole parameter (``[label]``, ``[label-...]``, ``[...-label]``), whatever
    brackets the other parameters hold."""
    test, label = record.test, record.checkpoint
    if not label or not test.endswith("]"):
        return test
    if test.endswith(f"[{label}]"):
        return test[:-len(label) - 2]
    if test.endswith(f"-{label}]"):
        return test[:-len(label) - 2] + "]"
    at = test.rfind(f"[{label}-")
    if at >= 0:
        return test[:at + 1] + test[at + len(label) + 2:]
    return test


def claim_ids(records: list[Record]) -> list[str]:
    """A stable id per record: its test (checkpoint parameter removed) and its position among
    the checks of that test on the same column (``t.py::f#1`` for a test's second check).

    Claim texts can embed measured numbers (an ablation's mean value), so they are shown,
    not matched on."""
    seen: dict[tuple[str, str], int] = {}
    out = []
    for r in records:
        base = base_test_id(r) or r.claim
        k = seen.get((base, r.column), 0)
        seen[(base, r.column)] = k + 1
        out.append(base if k == 0 else f"{base}#{k}")
    return out


EXPECTED_FAIL = "expected fail"
UNEXPECTED_PASS = "unexpected pass"
CAUGHT = "caught"
# Most urgent first: what the reader must look at (failures, errors, tests that stated no
# claim or never ran), then failures the test itself caught, skipped claims, what holds, and
# deliberately false claims that failed as expected.
STATES = ("fail", ERROR, XFAIL_ERROR, NO_CLAIM, NOT_RUN, "underpowered", UNEXPECTED_PASS, CAUGHT,
          SKIPPED, "pass", EXPECTED_FAIL)
# States that leave the run without a verdict it can stand on (never green).
BROKEN = (ERROR, XFAIL_ERROR, NO_CLAIM, NOT_RUN)


def state(record: Record) -> str:
    """The record's state: its verdict, except that a failure under ``xfail`` is an
    ``'expected fail'``, a pass under ``xfail`` an ``'unexpected pass'``, and a claim that
    failed inside a test that passed (the test caught its ``ClaimFailed``) is ``'caught'``.
    A record of a test's outcome (an error, a skip, no claim stated, not run) has that
    outcome as its state."""
    if record.outcome == "xfailed" and not record.passed and record.verdict not in BROKEN:
        return EXPECTED_FAIL
    if record.outcome == "xpassed" and record.passed:
        return UNEXPECTED_PASS
    if demoted(record):
        return "fail"
    if (record.outcome == "passed" and record.is_claim
            and record.verdict in ("fail", "underpowered")):
        return CAUGHT
    return record.verdict


def demoted(record: Record) -> bool:
    """A claim that passed on its own and failed after the correction across the run."""
    return record.verdict == "fail" and record.missed.startswith("Holm-adjusted")


def attention(record: Record) -> int:
    """Where a record goes in a report read top-down: 0 unexpected failures, errors, tests
    that stated no claim or never ran (and unexpected passes), 1 vacuous or Holm-demoted
    claims and failures the test caught, 2 skipped claims, 3 passes, 4 expected failures."""
    s = state(record)
    if s == EXPECTED_FAIL:
        return 4
    if s == SKIPPED:
        return 2
    if s == CAUGHT or demoted(record) or (optional(record, "vacuous") and s == "pass"):
        return 1
    return 3 if s == "pass" else 0


def by_attention(records: list[Record]) -> list[Record]:
    """The records in reading order (see :func:`attention`), run order within each group."""
    return sorted(records, key=attention)


class Results(list):
    """The records of a run, in the order they finished; ``meta`` holds the file's metadata."""

    def __init__(self, records: list[Record] = (), meta: dict | None = None) -> None:
        super().__init__(records)
        self.meta = dict(meta or {})

    @property
    def incomplete(self) -> list[str]:
        """The runs whose results were written before they ended (killed, interrupted):
        their names as given in ``meta["incomplete"]`` ("" for this one file), else []."""
        if "incomplete" in self.meta:
            return [str(name) for name in self.meta["incomplete"]]
        return [""] if self.meta.get("complete") is False else []

    @property
    def skipped(self) -> list[Record]:
        """The records of the run's skipped claim tests (their reason in ``missed``)."""
        return [r for r in self if state(r) == SKIPPED]

    @property
    def collected(self) -> list[str] | None:
        """The ids of every test the run collected (None when the file does not say:
        results written before neurospec recorded them)."""
        ids = self.meta.get("collected")
        return [str(i) for i in ids] if isinstance(ids, list) else None

    @property
    def columns(self) -> list[str]:
        """The models / checkpoints measured, in order of first appearance."""
        return list(dict.fromkeys(r.column for r in self))

    def to_frame(self):
        """One row per claim check (pandas ``DataFrame``; columns in ``FRAME_COLUMNS``)."""
        import pandas as pd

        rows = []
        for cid, r in zip(claim_ids(self), self):
            rows.append({
                "claim_id": cid, "test": r.test, "claim": r.claim, "kind": r.kind, "unit": r.unit,
                "column": r.column, "model": r.model.get("name"),
                "checkpoint": r.checkpoint or r.model.get("checkpoint"),
                "fingerprint": r.model.get("fingerprint"), "verdict": r.verdict,
                "state": state(r), "outcome": r.outcome, "effect": _float(r.effect), "ci_low": _float(r.ci[0]),
                "ci_high": _float(r.ci[1]), "p": _float(r.p), "threshold": _float(r.threshold),
                "direction": r.direction, "metric": r.metric, "n": r.n,
                "percentile": optional(r, "percentile"), "vacuous": optional(r, "vacuous"),
                "seed": r.seed, "method": r.method, "missed": r.missed})
        return pd.DataFrame(rows, columns=FRAME_COLUMNS)


def _float(x: Any) -> float:
    try:
        return float(x)
    except (TypeError, ValueError):
        return math.nan
