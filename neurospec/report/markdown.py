"""A short markdown summary of a run, for a PR comment or a CI job summary."""

from __future__ import annotations

from markupsafe import escape

from neurospec.evidence.record import Record
from neurospec.report.html import fmt, visible


def _cell(text: str) -> str:
    # GitHub renders some raw HTML inside markdown: escape it, as in the HTML report.
    return str(escape(visible(str(text)))).replace("|", "\\|").replace("\n", " ")


def summary(records: list[Record]) -> str:
    counts: dict[str, int] = {}
    for r in records:
        counts[r.verdict] = counts.get(r.verdict, 0) + 1
    lines = [f"**neurospec**: {len(records)} claim checks — "
             + ", ".join(f"{v} {k}" for k, v in sorted(counts.items())), "",
             "| verdict | claim | effect | 95% CI | needs | n |", "|---|---|---|---|---|---|"]
    for r in records:
        lines.append(f"| {r.verdict} | {_cell(r.claim)} | {fmt(r.effect)} | "
                     f"[{fmt(r.ci[0])}, {fmt(r.ci[1])}] | {r.direction} {fmt(r.threshold)} | {r.n} |")
    return "\n".join(lines) + "\n"
