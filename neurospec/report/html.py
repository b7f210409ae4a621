"""Rendering records as HTML: one evidence card per record, a run summary, and a
standalone page.  Jinja2 with autoescape; charts are inline SVG; no torch, no pytest.
"""

from __future__ import annotations

import dataclasses
import math
import re
import unicodedata
from functools import lru_cache
from importlib import resources

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup, escape

from neurospec.evidence.record import Record
from neurospec.report import svg

_SKIP_DETAILS = {"units_label"}


@lru_cache(maxsize=1)
def _hidden() -> re.Pattern:
    # Characters that are invisible or reorder what follows them (bidi overrides and
    # isolates, zero-width and other format characters, NUL and other controls, lone
    # surrogates, line and paragraph separators).  HTML escaping leaves them in effect, so
    # they are shown as escapes such as \u202e.  Built on first use (~0.4 s).
    return re.compile("[" + "".join(
        re.escape(chr(c)) for c in range(0x110000)
        if unicodedata.category(chr(c)) in ("Cc", "Cf", "Cs", "Zl", "Zp")
        and chr(c) not in "\t\n") + "]")


def visible(text: str) -> str:
    """``text`` with every invisible or reordering character written as an escape."""
    return _hidden().sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def _visible_all(value):
    """``value`` (nested dicts / lists of JSON data) with :func:`visible` applied to strings."""
    if isinstance(value, str):
        return visible(value)
    if isinstance(value, dict):
        return {_visible_all(k): _visible_all(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_visible_all(v) for v in value)
    return value


def displayable(r: Record) -> Record:
    """A copy of ``r`` whose every string is safe to show as text (see :func:`visible`);
    HTML escaping itself is left to the templates and ``escape``."""
    return dataclasses.replace(r, **{f.name: _visible_all(getattr(r, f.name))
                                     for f in dataclasses.fields(r)})


def fmt(x) -> str:
    if isinstance(x, str):
        return x
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "n/a"
    return f"{x:+.4g}" if abs(x) >= 1e-3 or x == 0 else f"{x:+.2e}"


@lru_cache(maxsize=1)
def _env() -> Environment:
    env = Environment(loader=PackageLoader("neurospec.report", "templates"),
                      autoescape=select_autoescape(["html", "j2"], default=True),
                      trim_blocks=True, lstrip_blocks=True)
    env.globals["fmt"] = fmt
    return env


@lru_cache(maxsize=1)
def stylesheet() -> str:
    return resources.files("neurospec.report").joinpath("templates/style.css").read_text()


def _charts(r: Record) -> list[Markup]:
    out = []
    c = r.charts
    if "histogram" in c:
        out.append(svg.histogram(c["histogram"]["sets"], c["histogram"]["title"]))
    if "bars" in c:
        out.append(svg.bars(c["bars"]["items"], c["bars"]["title"], c["bars"].get("unit", "")))
    if "attention" in c:
        a = c["attention"]
        out.append(svg.attention_heatmap(a["tokens"], a["pattern"], a["title"]))
    if "null" in c:
        n = c["null"]
        out.append(svg.null_distribution(n["values"], n["unit_value"], n["units"], n["title"]))
    return out


def _token_blocks(r: Record) -> list[dict]:
    blocks = []
    for key in ("contexts", "token_deltas"):
        if key not in r.charts:
            continue
        items = r.charts[key]["items"]
        scale = max((abs(v) for it in items for v in it["values"]), default=1.0) or 1.0
        rows = []
        for it in items:
            toks = [{"text": t, "value": f"{v:+.4g}", "color": svg.token_color(v, scale)}
                    for t, v in zip(it["tokens"], it["values"])]
            rows.append({"set": it["set"], "doc": it["doc"], "max": it["max"], "tokens": toks})
        blocks.append({"title": r.charts[key]["title"], "rows": rows})
    return blocks


def _token_tables(r: Record) -> list[dict]:
    t = r.charts.get("token_table")
    if not t:
        return []
    scale = max((abs(x["value"]) for x in t["top"] + t["bottom"]), default=1.0) or 1.0
    cols = []
    labels = t.get("labels", ["writes most", "writes least"])
    for name, label in zip(("top", "bottom"), labels):
        cols.append({"name": label, "rows": [
            {**x, "width": int(60 * abs(x["value"]) / scale), "shown": fmt(x["value"])}
            for x in t[name]]})
    return [{"title": t["title"], "cols": cols}]


def _details(r: Record) -> list[tuple[str, str]]:
    out = []
    for k, v in r.details.items():
        if k in _SKIP_DETAILS:
            continue
        if isinstance(v, float):
            v = f"{v:.4g}"
        elif isinstance(v, dict):
            v = ", ".join(f"{a}: {b:.4g}" if isinstance(b, float) else f"{a}: {b}"
                          for a, b in v.items())
        out.append((k, str(v)))
    return out


def render_record(record: Record | dict, with_style: bool = True) -> str:
    """One record as an evidence card (HTML); with its stylesheet unless told not to."""
    r = displayable(record if isinstance(record, Record) else Record.from_dict(record))
    body = _env().get_template("record.html.j2").render(
        r=r, charts=_charts(r), token_blocks=_token_blocks(r), details=_details(r),
        token_tables=_token_tables(r))
    return (f"<style>{stylesheet()}</style>" if with_style else "") + body


def _percent(x) -> str:
    return f"{x:.0f}" if isinstance(x, (int, float)) and math.isfinite(x) else ""


def summary_table(records: list[Record]) -> str:
    """Counts and a row per claim: verdict, effect, CI, threshold, random percentile."""
    records = [displayable(r) for r in records]
    counts = {}
    for r in records:
        counts[r.verdict] = counts.get(r.verdict, 0) + 1
    rows = []
    for r in records:
        pct = r.details.get("random_percentile")
        rows.append(
            f'<tr class="ns-{escape(r.verdict)}"><td><span class="ns-badge ns-badge-'
            f'{escape(r.verdict)}">{escape(r.verdict)}</span></td><td>{escape(r.claim)}</td>'
            f"<td>{escape(fmt(r.effect))}</td><td>[{escape(fmt(r.ci[0]))}, "
            f"{escape(fmt(r.ci[1]))}]</td><td>{escape(r.direction)} {escape(fmt(r.threshold))}"
            f"</td><td>{escape(r.n)}</td><td>{_percent(pct)}</td>"
            f"<td>{escape(r.test)}</td></tr>")
    head = ", ".join(f"{v} {escape(k)}" for k, v in sorted(counts.items()))
    return (f'<div class="ns-summary-box"><h3>neurospec: {len(records)} claim checks ({head})'
            f'</h3><table class="ns-summary"><tr><th>verdict</th><th>claim</th><th>effect</th>'
            f"<th>95% CI</th><th>needs</th><th>n</th><th>random pct</th><th>test</th></tr>"
            + "".join(rows) + "</table></div>")


def render_page(records: list[Record], title: str = "neurospec report") -> str:
    """A standalone, offline HTML page: the summary, then every record's card."""
    cards = "\n".join(render_record(r, with_style=False) for r in records)
    title = visible(title)
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{escape(title)}</title>"
            f"<style>{stylesheet()}</style></head><body><h1>{escape(title)}</h1>"
            f"{summary_table(records)}{cards}</body></html>")
