"""A short markdown summary of a run, for a PR comment or a CI job summary."""

from __future__ import annotations

from neurospec.evidence.format import fmt
from neurospec.evidence.record import Record
from neurospec.evidence.results import by_attention, optional, state
from neurospec.report.escape import md_code, md_text
from neurospec.report.labels import ci_text, needs_text, p_text
from neurospec.report.matrix import build_matrix, matrix_markdown, needs_matrix
from neurospec.report.summary import counts_line, shorten


def summary(records: list[Record]) -> str:
    """Counts, then a row per claim check in reading order (failures, errors and tests that
    stated no claim or never ran first; caught failures; skipped claims with their reasons;
    passes; expected failures last), and the checkpoint matrix when some claim ran on
    several checkpoints of one model.  Every text is escaped for markdown
    (:mod:`neurospec.report.escape`)."""
    lines = [f"**neurospec**: {md_text(counts_line(records))}", "",
             "| state | claim | effect | 95% CI | needs | n | p | random pct | model | test |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    rows = [_row(r) for r in by_attention(records)]
    text = "\n".join(lines + rows) + "\n"
    if needs_matrix(records):
        text += "\n**Across checkpoints**\n\n" + matrix_markdown(build_matrix(records))
    return text


def _row(r: Record) -> str:
    shown = state(r) + (" (vacuous)" if optional(r, "vacuous") else "")
    where = f"{md_text(r.column)} | {md_code(r.test)} |"
    if not r.is_claim:
        return (f"| {md_text(shown)} | {md_text(r.claim)}: {md_text(shorten(r.missed))} "
                f"| | | | | | | {where}")
    pct = optional(r, "percentile")
    return (f"| {md_text(shown)} | {md_text(r.claim)} | {md_text(fmt(r.effect))} | "
            f"{md_text(ci_text(r))} | {md_text(needs_text(r))} | {md_text(r.n)} | "
            f"{md_text(p_text(r))} | {'' if pct is None else f'{pct:.0f}'} | {where}")


def run_notes(meta: dict, name: str = "") -> str:
    """A line a reader must see before the numbers: the run had not finished when its
    results were written (skipped tests are listed by :func:`summary`)."""
    if meta.get("complete") is not False:
        return ""
    where = f" ({md_code(name, in_table=False)})" if name else ""
    return (f"> **incomplete run**{where}: the results were written before the run ended "
            f"(killed, or still running); later claims are missing.\n\n")
