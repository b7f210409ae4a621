"""A short markdown summary of a run, for a PR comment or a CI job summary."""

from __future__ import annotations

from neurospec.evidence.record import Record
from neurospec.evidence.results import optional
from neurospec.report.format import fmt
from neurospec.report.matrix import build_matrix, matrix_markdown
from neurospec.report.summary import counts_line
from neurospec.report.safe import visible


def _cell(text) -> str:
    # GitHub renders some raw HTML inside markdown: no "<" may open a tag (">" and "&"
    # cannot, and stay readable in a terminal).  Backslashes are doubled first so that a
    # cell ending in one cannot un-escape the next "|".
    return (visible(str(text)).replace("\\", "\\\\").replace("<", "&lt;")
            .replace("|", "\\|").replace("\n", " ").replace("\t", " "))


def summary(records: list[Record]) -> str:
    """Counts, a row per claim check, and the checkpoint matrix when there are several."""
    lines = [f"**neurospec**: {_cell(counts_line(records))}", "",
             "| verdict | claim | effect | 95% CI | needs | n | random pct | model |",
             "|---|---|---|---|---|---|---|---|"]
    for r in records:
        pct = optional(r, "percentile")
        verdict = r.verdict + (" (vacuous)" if optional(r, "vacuous") else "")
        lines.append(f"| {_cell(verdict)} | {_cell(r.claim)} | {_cell(fmt(r.effect))} | "
                     f"[{_cell(fmt(r.ci[0]))}, {_cell(fmt(r.ci[1]))}] | {_cell(r.direction)} "
                     f"{_cell(fmt(r.threshold))} | {_cell(r.n)} | "
                     f"{'' if pct is None else f'{pct:.0f}'} | {_cell(r.column)} |")
    text = "\n".join(lines) + "\n"
    if len({r.column for r in records}) > 1:
        text += "\n**Across models / checkpoints**\n\n" + matrix_markdown(build_matrix(records))
    return text


def run_notes(meta: dict, name: str = "") -> str:
    """Markdown lines a reader must see before the numbers: a run that had not finished when
    its results were written, and tests that skipped without checking their claims."""
    lines = []
    where = f" ({_cell(name)})" if name else ""
    if meta.get("complete") is False:
        lines.append(f"> **incomplete run**{where}: the results were written before the run "
                     f"ended (killed, or still running); later claims are missing.")
    skipped = meta.get("skipped") or []
    if skipped:
        lines.append(f"> **{len(skipped)} tests skipped**{where} without checking their claims:")
        lines += [f"> - {_cell(s.get('test', '?'))}: {_cell(s.get('reason', ''))}"
                  for s in skipped[:20] if isinstance(s, dict)]
        if len(skipped) > 20:
            lines.append(f"> - ... and {len(skipped) - 20} more")
    return "\n".join(lines) + ("\n\n" if lines else "")
