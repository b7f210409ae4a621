"""The run summary at the top of a report: counts, then one row per claim check that sorts
and filters with CSS alone (radio buttons and ``order``), so it works where scripts do not
run: pytest-html's report, a Jupyter output cell, a file opened offline.

Rows come in reading order (:func:`neurospec.evidence.results.attention`): unexpected
failures, errors, tests that stated no claim or never ran; then vacuous or Holm-demoted
claims and failures the test caught; skipped claims with their reasons; passes; expected
failures.  Each row carries its rank under every sort key as a CSS
custom property; the checked radio button picks which one the rows' ``order`` reads.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter

from markupsafe import Markup, escape

from neurospec.evidence.format import fmt
from neurospec.evidence.format import number as _num
from neurospec.evidence.record import Record
from neurospec.evidence.results import STATES, by_attention, optional, state
from neurospec.report.labels import ci_text, needs_text, p_text
from neurospec.report.safe import displayable

# (key, header, numeric): numeric keys sort both ways, the others ascending only.
SORT_KEYS = [("v", "state", False), ("c", "claim", False), ("e", "effect", True),
             ("l", "95% CI", True), ("r", "rand. pct", True), ("p", "p", True),
             ("m", "model", False), ("t", "test", False)]
_ids = itertools.count()


def slug(s: str) -> str:
    """A state as a CSS class or id part: a known state readable (``'expected fail'`` ->
    ``'expected-fail'``); any other (a results file may hold any verdict string) as ``x`` and
    the hex of its bytes, so that it cannot leave the attribute it is written into."""
    if s in STATES:
        return s.replace(" ", "-")
    return "x" + s.encode("utf-8", "surrogatepass").hex()


# The order states are counted in (skipped tests last, as they are not claim checks).
COUNT_ORDER = ("fail", "error", "errored xfail", "no claim", "not run", "underpowered",
               "unexpected pass", "caught", "pass", "expected fail", "skipped")


def counts_line(records: list[Record]) -> str:
    """``'86 claim checks: 3 fail · 1 error · 40 pass · 43 expected fail · 10 skipped; 3
    vacuous'``: every state counted apart (errors, tests that stated no claim or never ran,
    failures the test caught, expected failures under ``xfail``, skipped claim tests).  The
    total counts the claims that reached a verdict; the records of tests that did not
    (errors, skips ...) are counted after it."""
    counts = Counter(state(r) for r in records)
    checks = sum(r.is_claim for r in records)
    text = f"{checks} claim checks: " + " \u00b7 ".join(
        f"{counts[s]} {s}" for s in sorted(
            counts, key=lambda s: COUNT_ORDER.index(s) if s in COUNT_ORDER else 2))
    vac = sum(optional(r, "vacuous") is True for r in records)
    if vac:
        text += f"; {vac} vacuous (random units pass too)"
    columns = list(dict.fromkeys(r.column for r in records if r.is_claim or r.column))
    if len(columns) > 1:
        text += f"; {len(columns)} models / checkpoints"
    return text


def _state_rank(s: str) -> int:
    return STATES.index(s) if s in STATES else len(STATES)


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


def badges(r: Record) -> str:
    s = state(r)
    out = f'<span class="ns-badge ns-badge-{slug(s)}">{escape(s)}</span>'
    if optional(r, "vacuous"):
        out += ('<span class="ns-badge ns-badge-vacuous" title="random units of the same '
                'layer pass this claim too">vacuous</span>')
    return out


def summary_table(records: list[Record], links: bool | int = False) -> str:
    """Counts and a sortable, filterable row per claim check (state, claim, effect, CI, the
    size it needed, n, p, random-unit percentile, model / checkpoint, test) and per test
    that errored, was skipped, stated no claim or never ran (with why), in reading order.

    Args:
        records: the run's records.
        links: make each claim a link to its evidence card (``#ns-card-<i>``, ``i`` its
            place in reading order: :func:`render_fragment` numbers the cards so); a number
            links only the first that many (the cards a capped page holds).
    """
    uid = f"ns{next(_ids)}"
    rows = [displayable(r) for r in by_attention(records)]
    keys = {k: [] for k, _, _ in SORT_KEYS}
    for x in rows:
        keys["v"].append(_state_rank(state(x)) - (0.5 if optional(x, "vacuous") else 0))
        keys["c"].append(x.claim.lower())
        keys["e"].append(_num(x.effect))
        keys["l"].append(_num(x.ci[0]))
        keys["r"].append(_num(optional(x, "percentile")))
        keys["p"].append(_num(x.p))
        keys["m"].append(x.column)
        keys["t"].append(x.test)
    props: list[list[str]] = [[] for _ in rows]
    for key, _, numeric in SORT_KEYS:
        up, down = _ranks(keys[key], numeric)
        for i in range(len(rows)):
            props[i].append(f"--{key}:{up[i]}")
            if numeric:
                props[i].append(f"--{key.upper()}:{down[i]}")
    out = [f'<div class="ns-summary-box" id="{uid}"><h3 class="ns-counts">neurospec: '
           f"{escape(counts_line(rows))}</h3>"]
    out.append(f'<input type="radio" class="ns-s ns-s-0" name="{uid}-s" id="{uid}-s0" checked>')
    for key, _, numeric in SORT_KEYS:
        out.append(f'<input type="radio" class="ns-s ns-s-{key}" name="{uid}-s" id="{uid}-s{key}">')
        if numeric:
            out.append(f'<input type="radio" class="ns-s ns-s-{key.upper()}" name="{uid}-s" '
                       f'id="{uid}-s{key.upper()}">')
    present = sorted({state(r) for r in rows}, key=_state_rank)
    for s in present:
        out.append(f'<input type="checkbox" class="ns-f ns-f-{slug(s)}" id="{uid}-f{slug(s)}" '
                   f"checked>")
    out.append('<div class="ns-controls">show: ' + " ".join(
        f'<label for="{uid}-f{slug(s)}" class="ns-fl ns-fl-{slug(s)}">{escape(s)}</label>'
        for s in present) + f' &middot; <label for="{uid}-s0" class="ns-sl ns-l-0">reading '
        f"order</label></div>")
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
    for card, r in enumerate(rows):
        style = ";".join(props[card])
        claim = escape(r.claim)
        if links is True or (links is not False and card < links):
            claim = f'<a href="#ns-card-{card}">{claim}</a>'
        if not r.is_claim:  # an error, a skip ...: why, instead of numbers
            claim = Markup(f'{claim} <span class="ns-reason" title="{escape(r.missed)}">'
                           f"{escape(shorten(r.missed))}</span>")
            out.append(
                f'<div class="ns-row ns-{slug(state(r))}" role="row" style="{style}">'
                f"<span>{badges(r)}</span><span>{claim}</span>"
                f"<span></span><span></span><span></span><span></span><span></span><span></span>"
                f"<span>{escape(r.column)}</span><span>{escape(r.test)}</span></div>")
            continue
        pct = optional(r, "percentile")
        out.append(
            f'<div class="ns-row ns-{slug(state(r))}" role="row" style="{style}">'
            f"<span>{badges(r)}</span><span>{claim}</span><span>{escape(fmt(r.effect))}</span>"
            f"<span>{escape(ci_text(r))}</span><span>{escape(needs_text(r))}</span>"
            f"<span>{escape(r.n)}</span><span>{escape(p_text(r))}</span>"
            f'<span>{"" if _num(pct) is None else f"{_num(pct):.0f}"}</span>'
            f"<span>{escape(r.column)}</span><span>{escape(r.test)}</span></div>")
    out.append("</div></div>")
    return "".join(out)


def shorten(text: str, limit: int = 200) -> str:
    """``text`` cut to ``limit`` characters (the whole text is its tooltip, and stays in the
    results file)."""
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "\u2026"


def reason_head(reason: str, limit: int = 160) -> str:
    """A skip reason's first clause for the summary row (the whole text is its tooltip and
    stays in the results file): up to its first ': ', or ``limit`` characters."""
    head = reason.split(": ", 1)[0]
    return head if len(head) <= limit else head[:limit - 1].rstrip() + "\u2026"
