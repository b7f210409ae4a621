"""A short markdown summary of a run, for a PR comment or a CI job summary."""

from __future__ import annotations

from neurospec.evidence.record import Record
from neurospec.evidence.results import optional
from neurospec.evidence.format import fmt
from neurospec.report.matrix import build_matrix, matrix_markdown
from neurospec.report.summary import counts_line
from neurospec.report.safe import markdown_cell as cell


def summary(records: list[Record]) -> str:
    """Counts, a row per claim check, and the checkpoint matrix when there are several."""
    lines = [f"**neurospec**: {cell(counts_line(records))}", "",
             "| verdict | claim | effect | 95% CI | needs | n | random pct | model |",
             "|---|---|---|---|---|---|---|---|"]
    for r in records:
        pct = optional(r, "percentile")
        verdict = r.verdict + (" (vacuous)" if optional(r, "vacuous") else "")
        lines.append(f"| {cell(verdict)} | {cell(r.claim)} | {cell(fmt(r.effect))} | "
                     f"[{cell(fmt(r.ci[0]))}, {cell(fmt(r.ci[1]))}] | {cell(r.direction)} "
                     f"{cell(fmt(r.threshold))} | {cell(r.n)} | "
                     f"{'' if pct is None else f'{pct:.0f}'} | {cell(r.column)} |")
    text = "\n".join(lines) + "\n"
    if len({r.column for r in records}) > 1:
        text += "\n**Across models / checkpoints**\n\n" + matrix_markdown(build_matrix(records))
    return text
