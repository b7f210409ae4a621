"""Run-to-run comparison of two results files, for a PR comment or a CI job summary.

Claims are matched by test id (checkpoint parameter removed) and position within the test
(see :func:`neurospec.evidence.results.claim_ids`), and by model / checkpoint column when
the runs share columns.  Two single-model runs match whatever their models: comparing
``step150`` with ``step3000`` is the point of running both.

A claim that passed on the base is a regression on the head when it fails there, errors,
is skipped, states no claim, or has no record at all, unless the head removed its test on
purpose.  A test is taken as removed on purpose only when the head run says it could have
seen it and did not: the head's results list every test it collected (``meta.collected``),
the head run was complete, selected no subset (no ``-k`` / ``-m`` / ``--lf``, no
deselected tests, the same paths or more), and no file of the head failed to collect.
Anything else is "not run": a regression.  A head run with an error, a test that stated no
claim, or a test that never ran is never green either, whatever the base held.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from neurospec.evidence.format import fmt
from neurospec.evidence.format import number as _num
from neurospec.evidence.record import Record
from neurospec.evidence.results import BROKEN, Results, base_test_id, claim_ids, optional, state
from neurospec.report.agreement import KINDS, Mismatch, agreement, disagreements  # noqa: F401
from neurospec.report.escape import md_code, md_text, workflow_data, workflow_property
from neurospec.report.labels import ci_text
from neurospec.report.summary import counts_line

FAIL_ON = ("regression", "change", "never")


@dataclass(frozen=True)
class Change:
    """One claim in both runs (or one of them): its id, column, the two records, and for a
    claim the head lacks, why (``why``)."""

    claim_id: str
    column: str
    base: Record | None
    head: Record | None
    why: str = ""

    @property
    def record(self) -> Record:
        """The head's record, or the base's for a claim the head lacks."""
        either = self.head or self.base
        assert either is not None, "a change has a record in one run at least"
        return either

    @property
    def claim(self) -> str:
        return self.record.claim


@dataclass(frozen=True)
class Comparison:
    newly_failing: list[Change] = field(default_factory=list)  # passed, and no longer passes
    not_run: list[Change] = field(default_factory=list)  # passed, and has no head record
    broken: list[Change] = field(default_factory=list)  # head errors / no claim / not run
    newly_passing: list[Change] = field(default_factory=list)
    new: list[Change] = field(default_factory=list)
    removed: list[Change] = field(default_factory=list)  # test removed on purpose
    moved: list[Change] = field(default_factory=list)  # effect outside the other run's CI
    vacuity: list[Change] = field(default_factory=list)
    unchanged: int = 0
    base_count: int = 0
    head_count: int = 0

    @property
    def regressed(self) -> bool:
        """A claim that held no longer holds, or the head run is broken."""
        return bool(self.newly_failing or self.not_run or self.broken)

    @property
    def changed(self) -> bool:
        return self.regressed or any((self.newly_passing, self.new, self.removed, self.moved,
                                      self.vacuity))

    def exit_code(self, fail_on: str = "regression") -> int:
        """1 when a claim that passed now fails, errors or did not run, or the head has
        errors (``fail_on='regression'``), or on any change (``'change'``); 0 otherwise or
        with ``'never'``."""
        if fail_on not in FAIL_ON:
            raise ValueError(f"fail_on={fail_on!r}: expected one of {', '.join(FAIL_ON)}")
        if fail_on == "regression":
            return int(self.regressed)
        if fail_on == "change":
            return int(self.changed)
        return 0


def _keyed(records: list[Record], by_column: bool) -> dict[tuple[str, str], Record]:
    return {(cid, r.column if by_column else ""): r
            for cid, r in zip(claim_ids(records), records)}


def sequential(r: Record) -> bool:
    """The claim stopped on its confidence sequence (``--neurospec-sequential``)."""
    note = r.details.get("sequential") if isinstance(r.details, dict) else None
    return isinstance(note, dict) and note.get("mode") == "sequential"


def moved_beyond_ci(base: Record, head: Record) -> bool:
    """The head's effect lies outside the base run's 95% CI (a measured change, not noise
    the base run already allowed for).

    A sequential run and a fixed-n run of the same claim are comparable: they measure the
    same quantity on the same corpus, the sequential one on fewer documents with a wider
    interval.  Their effects differ by the noise of those fewer documents, so the pair
    counts as moved only when the two intervals share no value (no effect size is
    consistent with both runs); the same verdict is expected, and a different one is listed
    as newly failing or passing as for any pair."""
    if sequential(base) or sequential(head):
        blo, bhi, hlo, hhi = (_num(x) for x in (*base.ci, *head.ci))
        if None in (blo, bhi, hlo, hhi):
            return False
        return bool(hhi < blo or hlo > bhi)  # type: ignore[operator]
    e, lo, hi = _num(head.effect), _num(base.ci[0]), _num(base.ci[1])
    if e is None or lo is None or hi is None:
        return False
    return e < lo or e > hi


def why_missing(test: str, base: list[Record], head: list[Record]) -> str:
    """Why the head has no record of a claim of ``test``: "" when its test was removed on
    purpose (see the module's docstring), else the reason it counts as not run."""
    meta_b = getattr(base, "meta", {}) or {}
    meta_h = getattr(head, "meta", {}) or {}
    collected = head.collected if isinstance(head, Results) else None
    mine = [r for r in head if base_test_id(r) == test]
    broke = [r for r in mine if state(r) in (*BROKEN, "skipped")]
    if broke:
        return f"its test on the head: {state(broke[0])}: {broke[0].missed[:160]}"
    if mine:
        return ""  # the test ran whole and states fewer claims now: edited on purpose
    if collected is None:
        return ""  # an older results file: it cannot say (shown as removed)
    if meta_h.get("complete") is False:
        return "the head run stopped before it ran"
    sel_h, sel_b = meta_h.get("selection") or {}, meta_b.get("selection") or {}
    if sel_h.get("filtered"):
        return "the head run selected a subset of the tests (-k / -m / --lf / deselected)"
    if not set(sel_b.get("args", [])) <= set(sel_h.get("args", [])):
        return (f"the head run was given other paths ({', '.join(sel_h.get('args', []))}) "
                f"than the base ({', '.join(sel_b.get('args', []))})")
    if test in collected:
        return "the head collected the test but has no record of it"
    file = test.split("::", 1)[0]
    if any(not r.is_claim and r.verdict == "error" and r.test and file.startswith(r.test)
           for r in head):
        return "its file failed to collect on the head"
    return ""


def compare(base: list[Record], head: list[Record]) -> Comparison:
    """Sort every claim of two runs into: newly failing (passed on the base, not on the
    head), not run (passed on the base, no record on the head and not removed on purpose),
    broken on the head (errors, no claim stated, not run), newly passing, new, removed on
    purpose, effect moved beyond the base CI, and vacuity changed (one claim can be in
    several)."""
    single = len({r.column for r in base}) <= 1 and len({r.column for r in head}) <= 1
    b, h = _keyed(base, not single), _keyed(head, not single)
    groups: dict[str, list[Change]] = {name: [] for name in (
        "newly_failing", "not_run", "broken", "newly_passing", "new", "removed", "moved",
        "vacuity")}
    unchanged = 0
    for key in list(b) + [k for k in h if k not in b]:
        rb, rh = b.get(key), h.get(key)
        column = key[1] or Change(key[0], "", rb, rh).record.column
        if rh is not None and state(rh) in BROKEN:
            groups["broken"].append(Change(key[0], column, rb, rh))
        if rh is None:
            assert rb is not None  # the key came from one run or the other
            why = why_missing(base_test_id(rb), base, head)
            if rb.passed and why:
                groups["not_run"].append(Change(key[0], column, rb, None, why))
            else:
                groups["removed"].append(Change(key[0], column, rb, None, why))
            continue
        if rb is None:
            groups["new"].append(Change(key[0], column, None, rh))
            continue
        ch = Change(key[0], column, rb, rh)
        found = []
        if rb.passed and not rh.passed:
            found.append("newly_failing")
        elif rh.passed and not rb.passed:
            found.append("newly_passing")
        if rb.is_claim and rh.is_claim and moved_beyond_ci(rb, rh):
            found.append("moved")
        vb, vh = optional(rb, "vacuous"), optional(rh, "vacuous")
        if vb is not None and vh is not None and vb != vh:
            found.append("vacuity")
        for name in found:
            groups[name].append(ch)
        unchanged += not found and state(rh) not in BROKEN
    return Comparison(**groups, unchanged=unchanged, base_count=sum(r.is_claim for r in base),
                      head_count=sum(r.is_claim for r in head))


def _state(r: Record | None, why: str = "") -> str:
    if r is None:
        return f"no record ({why})" if why else "–"
    if not r.is_claim:
        return f"{state(r)}: {r.missed}"
    vac = " (vacuous)" if optional(r, "vacuous") else ""
    return f"{state(r)}{vac} {fmt(r.effect)} {ci_text(r)}"


def _counts(records: list[Record]) -> str:
    """``'43 pass · 43 expected fail'``: the run's states, each counted apart."""
    return counts_line(records).split(": ", 1)[1]


def _model(records: list[Record]) -> str:
    cols = [c for c in dict.fromkeys(r.column for r in records) if c]
    prints = list(dict.fromkeys(str(r.model.get("fingerprint", ""))[:12] for r in records))
    prints = [p for p in prints if p]
    return ", ".join(cols) + (f" (weights {', '.join(prints)})" if prints else "")


def compare_markdown(c: Comparison, base: list[Record], head: list[Record],
                     base_name: str = "base", head_name: str = "head",
                     environment: Sequence[str] = ()) -> str:
    """The comparison as markdown: a headline, a warning when the two runs' environments
    differ (``environment``: one ``key: a -> b`` line each), then a table per non-empty
    category.  Every name and text is escaped for markdown (:mod:`neurospec.report.escape`)."""
    parts = [f"{len(c.newly_failing)} newly failing", f"{len(c.not_run)} not run",
             f"{len(c.broken)} broken on the head", f"{len(c.newly_passing)} newly passing",
             f"{len(c.new)} new", f"{len(c.removed)} removed",
             f"{len(c.moved)} effects moved beyond their CI"]
    if c.vacuity:
        parts.append(f"{len(c.vacuity)} vacuity changes")
    mark = ":x:" if c.regressed else ":white_check_mark:"
    bn, hn = md_code(base_name, in_table=False), md_code(head_name, in_table=False)
    lines = [f"### {mark} neurospec: " + ", ".join(parts), ""]
    if environment:
        lines += [":warning: **The two runs differ in their environment** (numbers may move for "
                  "that reason alone): " + "; ".join(md_text(e) for e in environment), ""]
    lines += [f"base {bn}: {c.base_count} claim checks on {md_text(_model(base))} "
              f"({md_text(_counts(base))})  ",
              f"head {hn}: {c.head_count} claim checks on {md_text(_model(head))} "
              f"({md_text(_counts(head))})  ",
              f"{c.unchanged} unchanged.", ""]
    sections = [("Newly failing (passed on the base)", c.newly_failing),
                ("Not run on the head (passed on the base)", c.not_run),
                ("Broken on the head (errors, no claim stated, not run)", c.broken),
                ("Newly passing", c.newly_passing),
                ("Effect moved beyond the base run's 95% CI", c.moved),
                ("Vacuity changed", c.vacuity), ("New claims", c.new),
                ("Removed claims (tests removed from the suite)", c.removed)]
    for title, items in sections:
        if not items:
            continue
        lines += [f"#### {title} ({len(items)})", "",
                  "| claim | model | base | head | test |", "|---|---|---|---|---|"]
        for ch in items:
            lines.append(f"| {md_text(ch.claim)} | {md_text(ch.column)} | "
                         f"{md_text(_state(ch.base))} | {md_text(_state(ch.head, ch.why))} | "
                         f"{md_code(ch.claim_id)} |")
        lines.append("")
    return "\n".join(lines)


def github_annotations(c: Comparison) -> str:
    """``::error::`` lines for claims that regressed and for a broken head (shown on the
    PR's checks); every piece of data escaped for workflow commands."""
    out = []
    for title, items in (("neurospec claim now fails", c.newly_failing),
                         ("neurospec claim not run", c.not_run),
                         ("neurospec test broken", c.broken)):
        for ch in items:
            text = f"{ch.claim} ({ch.column}): {_state(ch.base)} -> {_state(ch.head, ch.why)}"
            out.append(f"::error title={workflow_property(title)}::{workflow_data(text)}\n")
    return "".join(out)
