"""A short markdown summary of a run, for a PR comment or a CI job summary."""

from __future__ import annotations

from neurospec.evidence.record import Record
from neurospec.evidence.results import optional
from neurospec.report.format import fmt
from neurospec.report.matrix import build_matrix, matrix_markdown
from neurospec.report.summary import counts_line


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def summary(records: list[Record]) -> str:
    """Counts, a row per claim check, and the checkpoint matrix when there are several."""
    lines = [f"**neurospec**: {counts_line(records)}", "",
             "| verdict | claim | effect | 95% CI | needs | n | random pct | model |",
             "|---|---|---|---|---|---|---|---|"]
    for r in records:
        pct = optional(r, "percentile")
        verdict = r.verdict + (" (vacuous)" if optional(r, "vacuous") else "")
        lines.append(f"| {verdict} | {_cell(r.claim)} | {fmt(r.effect)} | "
                     f"[{fmt(r.ci[0])}, {fmt(r.ci[1])}] | {r.direction} {fmt(r.threshold)} | "
                     f"{r.n} | {'' if pct is None else f'{pct:.0f}'} | {_cell(r.column)} |")
    text = "\n".join(lines) + "\n"
    if len({r.column for r in records}) > 1:
        text += "\n**Across models / checkpoints**\n\n" + matrix_markdown(build_matrix(records))
    return text
