"""A short markdown summary of a run, for a PR comment or a CI job summary."""

from __future__ import annotations

from neurospec.evidence.record import Record
from neurospec.report.html import fmt, visible


def _cell(text) -> str:
    # GitHub renders some raw HTML inside markdown: no "<" may open a tag (">" and "&"
    # cannot, and stay readable in a terminal).  Backslashes are doubled first so that a
    # cell ending in one cannot un-escape the next "|".
    return (visible(str(text)).replace("\\", "\\\\").replace("<", "&lt;")
            .replace("|", "\\|").replace("\n", " ").replace("\t", " "))


def summary(records: list[Record]) -> str:
    counts: dict[str, int] = {}
    for r in records:
        counts[r.verdict] = counts.get(r.verdict, 0) + 1
    lines = [f"**neurospec**: {len(records)} claim checks — "
             + ", ".join(f"{v} {_cell(k)}" for k, v in sorted(counts.items())), "",
             "| verdict | claim | effect | 95% CI | needs | n |", "|---|---|---|---|---|---|"]
    for r in records:
        lines.append(f"| {_cell(r.verdict)} | {_cell(r.claim)} | {_cell(fmt(r.effect))} | "
                     f"[{_cell(fmt(r.ci[0]))}, {_cell(fmt(r.ci[1]))}] | {_cell(r.direction)} "
                     f"{_cell(fmt(r.threshold))} | {_cell(r.n)} |")
    return "\n".join(lines) + "\n"
