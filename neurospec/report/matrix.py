"""Checkpoint regression matrix: claims x checkpoints (or models), verdict and effect in
each cell, the effect's path across checkpoints as a small chart, and the checkpoint from
which a claim holds for good ("when did this neuron appear").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from markupsafe import Markup, escape

from neurospec.evidence.format import fmt
from neurospec.evidence.format import number as _num
from neurospec.evidence.record import Record
from neurospec.evidence.results import claim_ids, state
from neurospec.report.escape import md_text


@dataclass(frozen=True)
class MatrixRow:
    claim_id: str
    claim: str  # the text on the last column that has the claim
    cells: tuple[Record | None, ...]
    # first column from which every later column passes; None when it never holds at the
    # last column, or when the column before that start was not measured (it may have held
    # there already, so "from" would claim more than was seen)
    holds_from: str | None


@dataclass(frozen=True)
class Matrix:
    columns: tuple[str, ...]
    rows: tuple[MatrixRow, ...]
    same_weights: tuple[tuple[str, str, str], ...] = ()  # columns with identical fingerprints


def _natural(label: str) -> tuple:
    return tuple(int(t) if t.isdigit() else t for t in re.split(r"(\d+)", label))


def order_columns(labels: list[str]) -> list[str]:
    """Training checkpoints in training order (``step150`` before ``step1500``); other labels
    keep their order of appearance."""
    steps = [re.search(r"(\d+)$", lab) for lab in labels]
    if all(steps) and len({re.sub(r"\d+$", "", lab) for lab in labels}) == 1:
        return sorted(labels, key=_natural)
    return list(labels)


def build_matrix(records: list[Record]) -> Matrix:
    """Group records by claim (see :func:`claim_ids`) and column (model / checkpoint)."""
    columns = order_columns(list(dict.fromkeys(r.column for r in records)))
    by_claim: dict[str, dict[str, Record]] = {}
    for cid, r in zip(claim_ids(records), records):
        by_claim.setdefault(cid, {})[r.column] = r
    rows = []
    for cid, cells in by_claim.items():
        row = tuple(cells.get(c) for c in columns)
        holds = None
        for c, rec in zip(reversed(columns), reversed(row)):
            if rec is None:
                holds = None  # the start is unknown
                break
            if not rec.passed:
                break
            holds = c
        claim = next(rec.claim for rec in reversed(row) if rec is not None)
        rows.append(MatrixRow(cid, claim, row, holds))
    return Matrix(tuple(columns), tuple(rows), tuple(same_weights(records)))


def needs_matrix(records: list[Record]) -> bool:
    """Some claim ran on two or more checkpoints of the same model (a matrix of one cell per
    row says nothing a list does not)."""
    seen: dict[tuple[str, str], set[str]] = {}
    for cid, r in zip(claim_ids(records), records):
        cols = seen.setdefault((cid, str(r.model.get("name", ""))), set())
        cols.add(r.column)
        if len(cols) > 1:
            return True
    return False


def same_weights(records: list[Record]) -> list[tuple[str, str, str]]:
    """Pairs of columns whose weights have the same fingerprint: ``(a, b, fingerprint)``
    (some published checkpoint series serve identical weights under several names)."""
    prints: dict[str, str] = {}
    for r in records:
        fp = r.model.get("fingerprint")
        if fp:
            prints.setdefault(r.column, str(fp))
    columns = order_columns(list(prints))
    out = []
    for i, a in enumerate(columns):
        for b in columns[i + 1:]:
            if prints[a] == prints[b]:
                out.append((a, b, prints[a]))
    return out


def trajectory(cells: tuple[Record | None, ...], width_per: int = 26, height: int = 34) -> Markup:
    """The effect across columns with CI whiskers and the claimed threshold (dashed)."""
    pts = [(i, _num(r.effect), _num(r.ci[0]), _num(r.ci[1]), _num(r.threshold), r.verdict)
           for i, r in enumerate(cells) if r is not None and _num(r.effect) is not None]
    w = width_per * max(len(cells), 1)
    if not pts:
        return Markup(f'<svg width="{w}" height="{height}"></svg>')
    vals = [v for p in pts for v in p[1:5] if v is not None]
    lo, hi = min(vals + [0.0]), max(vals + [0.0])
    span = (hi - lo) or 1.0

    def y(v: float) -> float:
        return height - 3 - (v - lo) / span * (height - 6)

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{height}" '
           f'class="ns-traj" role="img"><line x1="0" x2="{w}" y1="{y(0):.1f}" y2="{y(0):.1f}" '
           f'stroke="#ccc"/>']
    thr = pts[-1][4]
    if thr is not None:
        out.append(f'<line x1="0" x2="{w}" y1="{y(thr):.1f}" y2="{y(thr):.1f}" stroke="#999" '
                   f'stroke-dasharray="3,2"><title>threshold {thr:.4g}</title></line>')
    xs = [width_per * (i + 0.5) for i, *_ in pts]
    out.append('<polyline fill="none" stroke="#337ab7" points="' + " ".join(
        f"{x:.1f},{y(p[1]):.1f}" for x, p in zip(xs, pts)) + '"/>')
    for x, (_, e, a, b, _, verdict) in zip(xs, pts):
        color = "#5cb85c" if verdict == "pass" else "#d9534f"
        if a is not None and b is not None:
            out.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{y(a):.1f}" y2="{y(b):.1f}" '
                       f'stroke="#222"/>')
        out.append(f'<circle cx="{x:.1f}" cy="{y(e):.1f}" r="2.5" fill="{color}"/>')
    out.append("</svg>")
    return Markup("".join(out))


def matrix_html(m: Matrix) -> str:
    """The matrix as an HTML table (no script): a cell per claim and column, coloured by
    verdict, showing the effect; hover for CI, p and n."""
    head = "".join(f"<th>{escape(c)}</th>" for c in m.columns)
    out = [f'<div class="ns-matrix-box"><h3>neurospec: {len(m.rows)} claims x {len(m.columns)} '
           f"models / checkpoints</h3>"]
    for a, b, fp in m.same_weights:
        out.append(f'<p class="ns-warning">{escape(a)} and {escape(b)} have identical weights '
                   f"(fingerprint {escape(fp)}): the series serves the same model under two "
                   f"names, so these columns cannot show a change.</p>")
    out.append(f'<table class="ns-matrix"><tr><th>claim</th>{head}'
               f"<th>effect across columns</th><th>holds from</th></tr>")
    for row in m.rows:
        tds = []
        prev = None
        for rec in row.cells:
            if rec is None:
                tds.append('<td class="ns-m-none" title="not run">&ndash;</td>')
                prev = None
                continue
            flip = " ns-m-flip" if prev is not None and prev != rec.passed else ""
            tip = (f"{rec.verdict}: effect {fmt(rec.effect)}, 95% CI [{fmt(rec.ci[0])}, "
                   f"{fmt(rec.ci[1])}], needs {rec.direction} {fmt(rec.threshold)}, n={rec.n}")
            tds.append(f'<td class="ns-m-{escape(rec.verdict)}{flip}" title="{escape(tip)}">'
                       f"{escape(fmt(rec.effect))}</td>")
            prev = rec.passed
        holds = escape(row.holds_from) if row.holds_from else "&ndash;"
        out.append(f'<tr><td class="ns-m-claim" title="{escape(row.claim_id)}">'
                   f'{escape(row.claim)}</td>{"".join(tds)}<td>{trajectory(row.cells)}</td>'
                   f"<td>{holds}</td></tr>")
    out.append("</table></div>")
    return "".join(out)


def matrix_markdown(m: Matrix) -> str:
    """The matrix as a markdown table: ``pass +0.068`` per cell (every text escaped)."""
    lines = [f"> warning: {md_text(a)} and {md_text(b)} have identical weights "
             f"(fingerprint {md_text(fp)})\n" for a, b, fp in m.same_weights]
    lines += ["| claim | " + " | ".join(md_text(c) for c in m.columns) + " | holds from |",
              "|---|" + "---|" * len(m.columns) + "---|"]
    for row in m.rows:
        cells = [md_text(f"{state(r)} {fmt(r.effect) if r.is_claim else ''}".strip())
                 if r is not None else "\u2013" for r in row.cells]
        claim = md_text(row.claim)
        lines.append(f"| {claim} | " + " | ".join(cells) + f" | {md_text(row.holds_from or '–')} |")
    return "\n".join(lines) + "\n"
