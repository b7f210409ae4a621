"""Rendering records as HTML: one evidence card per record, a run summary, a checkpoint
matrix, and a standalone page.  Jinja2 with autoescape; charts are inline SVG; no script
anywhere (pytest-html inserts extras without running scripts); no torch, no pytest.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup, escape

from neurospec.evidence.record import Record
from neurospec.evidence.results import optional
from neurospec.report import svg
from neurospec.report.format import fmt
from neurospec.report.matrix import build_matrix, matrix_html
from neurospec.report.safe import displayable, visible
from neurospec.report.summary import summary_table

__all__ = ["fmt", "render_fragment", "render_page", "render_record", "stylesheet",
           "summary_table"]

_SKIP_DETAILS = {"units_label", "vacuity", "matched_negative"}  # these have their own rows


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


def render_record(record: Record | dict, with_style: bool = True, anchor: str = "") -> str:
    """One record as an evidence card (HTML); with its stylesheet unless told not to.

    Args:
        record: a :class:`Record` or its dict.
        with_style: prepend the ``<style>`` block (for a card shown alone, e.g. in Jupyter).
        anchor: the card's HTML id (the summary's links point at ``ns-card-<i>``).
    """
    r = displayable(record if isinstance(record, Record) else Record.from_dict(record))
    body = _env().get_template("record.html.j2").render(
        r=r, charts=_charts(r), token_blocks=_token_blocks(r), details=_details(r),
        token_tables=_token_tables(r), anchor=anchor, percentile=optional(r, "percentile"),
        vacuous=optional(r, "vacuous"))
    return (f"<style>{stylesheet()}</style>" if with_style else "") + body


def run_overview(records: list[Record], links: bool = False) -> str:
    """The summary, and the checkpoint matrix when the run measured several columns."""
    out = summary_table(records, links=links)
    if len({r.column for r in records}) > 1:
        out += matrix_html(build_matrix(records))
    return out


def render_fragment(records: list[Record], max_cards: int | None = None) -> str:
    """Style, overview and evidence cards as one HTML fragment (what Jupyter shows)."""
    shown = records if max_cards is None else records[:max_cards]
    cards = "\n".join(render_record(r, with_style=False, anchor=f"ns-card-{i}")
                      for i, r in enumerate(shown))
    more = (f"<p>{len(records) - len(shown)} more cards not shown (neurospec report "
            f"--max-cards N shows more).</p>"
            if len(shown) < len(records) else "")
    return (f"<style>{stylesheet()}</style><div class=\"ns-root\">{run_overview(records, True)}"
            f"{cards}{more}</div>")


MAX_CARDS = 1000  # a page of ~15 MB; the summary table still lists every claim


def render_page(records: list[Record], title: str = "neurospec report",
                max_cards: int | None = MAX_CARDS) -> str:
    """A standalone, offline HTML page: the summary (and matrix), then the records' cards
    (the first ``max_cards``; ``None`` for all)."""
    return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            f"<meta name='viewport' content='width=device-width'><title>{escape(visible(title))}</title>"
            f"</head><body><h1 class='ns-title'>{escape(visible(title))}</h1>"
            f"{render_fragment(records, max_cards)}</body></html>")
