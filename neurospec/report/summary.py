"""The run summary at the top of a report: counts, then one row per claim check that sorts
and filters with CSS alone (radio buttons and ``order``), so it works where scripts do not
run: pytest-html's report, a Jupyter output cell, a file opened offline.

Each row carries its rank under every sort key as a CSS custom property; the checked radio
button picks which one the rows' ``order`` reads.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter

from markupsafe import escape

from neurospec.evidence.record import Record
from neurospec.evidence.results import optional
from neurospec.report.safe import displayable
from neurospec.evidence.format import fmt, number as _num

# (key, header, numeric): numeric keys sort both ways, the others ascending only.
SORT_KEYS = [("v", "verdict", False), ("c", "claim", False), ("e", "effect", True),
             ("l", "95% CI", True), ("r", "rand. pct", True), ("p", "p", True),
             ("m", "model", False), ("t", "test", False)]
VERDICT_ORDER = {"fail": 0, "underpowered": 1, "pass": 3}
_ids = itertools.count()


def counts_line(records: list[Record]) -> str:
    """``'30 claim checks: 20 pass, 8 fail, 2 underpowered; 3 vacuous'``."""
    counts = Counter(r.verdict for r in records)
    text = f"{len(records)} claim checks: " + ", ".join(
        f"{counts[v]} {v}" for v in sorted(counts, key=lambda v: VERDICT_ORDER.get(v, 2)))
    vac = sum(optional(r, "vacuous") is True for r in records)
    if vac:
        text += f"; {vac} vacuous (random units pass too)"
    columns = list(dict.fromkeys(r.column for r in records))
    if len(columns) > 1:
        text += f"; {len(columns)} models / checkpoints"
    return text


def _ranks(values: list, numeric: bool) -> tuple[list[int], list[int]]:
    """Ascending and descending ranks; missing numbers go last both ways."""
    def key(i: int, sign: int):
        v = values[i]
        if numeric:
            missing = v is None or not math.isfinite(v)
            return (missing, 0.0 if missing else sign * v, i)
        return (v, i)

    idx = range(len(values))
    up, down = [0] * len(values), [0] * len(values)
    for rank, i in enumerate(sorted(idx, key=lambda i: key(i, 1))):
        up[i] = rank
    if numeric:
        for rank, i in enumerate(sorted(idx, key=lambda i: key(i, -1))):
            down[i] = rank
    return up, down


def summary_table(records: list[Record], links: bool = False) -> str:
    """Counts and a sortable, filterable row per claim check: verdict, claim, effect, CI,
    the size it needed, n, p, random-unit percentile, model / checkpoint and test.

    Args:
        records: the run's records.
        links: make each claim a link to its evidence card (``#ns-card-<i>``), for pages
            that hold the cards (not pytest-html's report, where they sit in collapsed rows).
    """
    uid = f"ns{next(_ids)}"
    records = [displayable(r) for r in records]
    keys = {
        "v": [VERDICT_ORDER.get(r.verdict, 2) - (0.5 if optional(r, "vacuous") else 0)
              for r in records],
        "c": [r.claim.lower() for r in records], "e": [_num(r.effect) for r in records],
        "l": [_num(r.ci[0]) for r in records], "r": [_num(optional(r, "percentile"))
                                                     for r in records],
        "p": [_num(r.p) for r in records], "m": [r.column for r in records],
        "t": [r.test for r in records]}
    props: list[list[str]] = [[] for _ in records]
    for key, _, numeric in SORT_KEYS:
        up, down = _ranks(keys[key], numeric)
        for i in range(len(records)):
            props[i].append(f"--{key}:{up[i]}")
            if numeric:
                props[i].append(f"--{key.upper()}:{down[i]}")
    out = [f'<div class="ns-summary-box" id="{uid}"><h3 class="ns-counts">neurospec: '
           f"{escape(counts_line(records))}</h3>"]
    out.append(f'<input type="radio" class="ns-s ns-s-0" name="{uid}-s" id="{uid}-s0" checked>')
    for key, _, numeric in SORT_KEYS:
        out.append(f'<input type="radio" class="ns-s ns-s-{key}" name="{uid}-s" id="{uid}-s{key}">')
        if numeric:
            out.append(f'<input type="radio" class="ns-s ns-s-{key.upper()}" name="{uid}-s" '
                       f'id="{uid}-s{key.upper()}">')
    present = sorted({r.verdict for r in records}, key=lambda v: VERDICT_ORDER.get(v, 2))
    for v in present:
        out.append(f'<input type="checkbox" class="ns-f ns-f-{escape(v)}" id="{uid}-f{escape(v)}" '
                   f"checked>")
    out.append('<div class="ns-controls">show: ' + " ".join(
        f'<label for="{uid}-f{escape(v)}" class="ns-fl ns-fl-{escape(v)}">{escape(v)}</label>'
        for v in present) + f' &middot; <label for="{uid}-s0" class="ns-sl ns-l-0">run order'
        f"</label></div>")
    out.append('<div class="ns-rows" role="table"><div class="ns-row ns-hrow" role="row">')
    headers = {key: (name, numeric) for key, name, numeric in SORT_KEYS}
    for key in ("v", "c", "e", "l", "needs", "n", "p", "r", "m", "t"):
        if key not in headers:
            out.append(f'<span role="columnheader">{key}</span>')
            continue
        name, numeric = headers[key]
        cell = (f'<label for="{uid}-s{key}" class="ns-sl ns-l-{key}" title="sort by {name}">'
                f'{name}{" &#9650;" if numeric else ""}</label>')
        if numeric:
            cell += (f'<label for="{uid}-s{key.upper()}" class="ns-sl ns-l-{key.upper()}" '
                     f'title="sort by {name}, largest first">&#9660;</label>')
        out.append(f'<span role="columnheader">{cell}</span>')
    out.append("</div>")
    for i, r in enumerate(records):
        vac = optional(r, "vacuous")
        pct = optional(r, "percentile")
        claim = escape(r.claim)
        if links:
            claim = f'<a href="#ns-card-{i}">{claim}</a>'
        badge = (f'<span class="ns-badge ns-badge-{escape(r.verdict)}">{escape(r.verdict)}</span>'
                 + ('<span class="ns-badge ns-badge-vacuous" title="random units of the same '
                    'layer pass this claim too">vacuous</span>' if vac else ""))
        out.append(
            f'<div class="ns-row ns-{escape(r.verdict)}" role="row" style="{";".join(props[i])}">'
            f"<span>{badge}</span><span>{claim}</span><span>{escape(fmt(r.effect))}</span>"
            f"<span>[{escape(fmt(r.ci[0]))}, {escape(fmt(r.ci[1]))}]</span>"
            f"<span>{escape(r.direction)} {escape(fmt(r.threshold))}</span><span>{escape(r.n)}</span>"
            f'<span>{"" if _num(r.p) is None else f"{_num(r.p):.2g}"}</span>'
            f'<span>{"" if _num(pct) is None else f"{_num(pct):.0f}"}</span>'
            f"<span>{escape(r.column)}</span><span>{escape(r.test)}</span></div>")
    out.append("</div></div>")
    return "".join(out)
