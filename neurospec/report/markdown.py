"""A short markdown summary of a run, for a PR comment or a CI job summary."""

from __future__ import annotations

from neurospec.evidence.format import fmt
from neurospec.evidence.record import Record
from neurospec.evidence.results import attention, by_attention, optional, state
from neurospec.report.labels import ci_text, needs_text, p_text
from neurospec.report.matrix import build_matrix, matrix_markdown, needs_matrix
from neurospec.report.safe import markdown_cell as cell
from neurospec.report.summary import counts_line, reason_head


def summary(records: list[Record], skipped: list[dict] | None = None) -> str:
    """Counts, then a row per claim check in reading order (what needs attention first,
    skipped claims with their reasons, passes, expected failures last), and the checkpoint
    matrix when some claim ran on several checkpoints of one model."""
    if skipped is None:
        skipped = list(getattr(records, "skipped", []))
    lines = [f"**neurospec**: {cell(counts_line(records, len(skipped)))}", "",
             "| state | claim | effect | 95% CI | needs | n | p | random pct | model |",
             "|---|---|---|---|---|---|---|---|---|"]
    ordered = by_attention(records)
    urgent = sum(attention(r) < 2 for r in ordered)
    rows = [_row(r) for r in ordered]
    rows[urgent:urgent] = [f"| skipped | {cell(s.get('test', ''))}: {cell(reason_head(str(s.get('reason', ''))))} "
                           f"| | | | | | | {cell(s.get('column', ''))} |" for s in skipped]
    text = "\n".join(lines + rows) + "\n"
    if needs_matrix(records):
        text += "\n**Across checkpoints**\n\n" + matrix_markdown(build_matrix(records))
    return text


def _row(r: Record) -> str:
    pct = optional(r, "percentile")
    shown = state(r) + (" (vacuous)" if optional(r, "vacuous") else "")
    return (f"| {cell(shown)} | {cell(r.claim)} | {cell(fmt(r.effect))} | {cell(ci_text(r))} | "
            f"{cell(needs_text(r))} | {cell(r.n)} | {cell(p_text(r))} | "
            f"{'' if pct is None else f'{pct:.0f}'} | {cell(r.column)} |")


def run_notes(meta: dict, name: str = "") -> str:
    """A line a reader must see before the numbers: the run had not finished when its
    results were written (skipped tests are listed by :func:`summary`)."""
    if meta.get("complete") is not False:
        return ""
    where = f" ({cell(name)})" if name else ""
    return (f"> **incomplete run**{where}: the results were written before the run ended "
            f"(killed, or still running); later claims are missing.\n\n")
