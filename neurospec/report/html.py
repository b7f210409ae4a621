"""Rendering records as HTML: one evidence card per record, a run summary, a checkpoint
matrix, and a standalone page.  Jinja2 with autoescape; charts are inline SVG; no script
anywhere (pytest-html inserts extras without running scripts); no torch, no pytest.
"""

from __future__ import annotations

import math
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from neurospec.evidence.format import fmt, number
from neurospec.evidence.payloads import Charts
from neurospec.evidence.record import Record
from neurospec.evidence.results import EXPECTED_FAIL, by_attention, optional, state
from neurospec.report import labels, svg
from neurospec.report.escape import html as html_text
from neurospec.report.matrix import build_matrix, matrix_html, needs_matrix
from neurospec.report.safe import displayable
from neurospec.report.summary import badges, summary_table
from neurospec.report.svg_sequence import confidence_sequence

__all__ = ["fmt", "render_fragment", "render_page", "render_record", "stylesheet",
           "summary_table"]

_SKIP_DETAILS = {"units_label", "vacuity", "matched_negative", "sequential",
                 "path_edges"}  # own rows


@lru_cache(maxsize=1)
def _env() -> Environment:
    env = Environment(loader=PackageLoader("neurospec.report", "templates"),
                      autoescape=select_autoescape(["html", "j2"], default=True),
                      trim_blocks=True, lstrip_blocks=True)
    env.globals.update(fmt=fmt, labels=labels, badges=badges, state=state)
    return env


@lru_cache(maxsize=1)
def stylesheet() -> str:
    return resources.files("neurospec.report").joinpath("templates/style.css").read_text()


def _effect_marks(r: Record) -> svg.Marks:
    """The threshold (and tolerance band) on the effect's own axis."""
    t = number(r.threshold)
    if t is None:
        return svg.Marks()
    if r.direction == "within":
        return svg.Marks(lines=((-abs(t), f"tolerance edge -{abs(t):.4g}"),
                                (abs(t), f"tolerance edge +{abs(t):.4g}")),
                         band=(-abs(t), abs(t)))
    return svg.Marks(lines=((t, f"threshold: effect {r.direction} {t:.4g}"),))


def _bars_marks(r: Record, items: list[dict]) -> svg.Marks | None:
    """Bars share the effect's axis when one of them is the effect (an ablation's loss
    change, a difference bar): the threshold is drawn there.  Path patching's bars are in
    nats: the path must recover the threshold's share of the total effect."""
    if r.kind == "path_patching":
        t, total = number(r.threshold), number(r.details.get("total_effect"))
        if t is None or total is None:
            return None
        return svg.Marks(lines=((t * total, f"threshold: through path must reach {t:.0%} of "
                                            f"the total effect ({t * total:+.4g})"),))
    e = number(r.effect)
    if e is None or not any(math.isclose(_f(it.get("mean")), e, rel_tol=1e-9, abs_tol=1e-12)
                            for it in items):  # (a mean of exactly 0 is a mean too)
        return None
    return _effect_marks(r)


def _histogram_marks(r: Record, sets: dict) -> svg.Marks | None:
    """An activation contrast's threshold on the histogram's axis: where the first set's
    mean must reach, the second set's mean plus the threshold (for Cohen's d, plus the
    threshold times the pooled standard deviation of the shown values)."""
    t = number(r.threshold)
    if t is not None and r.kind in ("transcoder_edge", "transcoder_path"):  # per-document
        return svg.Marks(lines=((t, f"threshold: the mean per token must reach {t:.4g}"),))
    if t is None or len(sets) != 2 or r.metric not in ("mean_diff", "cohens_d"):
        return None
    (on_name, on), (than_name, than) = ((k, np.asarray(v, float)) for k, v in sets.items())
    if not len(on) or not len(than):
        return None
    base = float(than.mean())
    if r.metric == "cohens_d":
        pooled = math.sqrt(((len(on) - 1) * on.var(ddof=1) + (len(than) - 1) * than.var(ddof=1))
                           / max(len(on) + len(than) - 2, 1)) if len(on) + len(than) > 2 else 0
        return svg.Marks(lines=((base + t * pooled, f"threshold: {on_name} mean must reach "
                                                   f"{than_name} mean + d {t:.4g} x pooled sd"),))
    return svg.Marks(lines=((base + t, f"threshold: {on_name} mean must reach {than_name} "
                                       f"mean + {t:.4g}"),))


def _null_cut(r: Record, values: list[float]) -> tuple[float, str] | None:
    """The percentile of the random units the claimed unit is judged against."""
    finite = [v for v in values if number(v) is not None]
    if not finite:
        return None
    asked = number(r.details.get("required_percentile"))  # beats_random_units(percentile=)
    q = 95.0 if asked is None else asked
    if r.direction == "<=":
        q = 100 - q
    return float(np.percentile(finite, q)), f"{q:.0f}th percentile of the random units"


def _units_label(r: Record) -> str:
    """The record's units label for an axis: "(share)" -> "share"; only a matching pair of
    parentheses around it comes off, so a label is never shortened to nothing ("(" stays)."""
    label = str(r.details.get("units_label", ""))
    if len(label) >= 2 and label[0] == "(" and label[-1] == ")":
        return label[1:-1]
    return label


def _histogram_unit(r: Record) -> str:
    if r.metric in ("mean_diff", "cohens_d") and r.kind in ("activation_contrast", "sae_feature"):
        return "activation (mean per document)"
    return _units_label(r)


def _f(v) -> float:
    """A chart value as a float: NaN for anything missing or non-numeric (a results file
    stores non-finite numbers as the strings "nan", "inf", "-inf")."""
    x = number(v)
    return math.nan if x is None else x


def _numeric(charts: Charts) -> dict[str, Any]:
    """The chart data with every number a float, whatever JSON made of non-finite ones."""
    c: dict[str, Any] = dict(charts)
    if "bars" in c:
        c["bars"] = {**c["bars"], "items": [
            {**it, "mean": _f(it.get("mean")), "ci": [_f(x) for x in (it.get("ci") or (0, 0))]}
            for it in c["bars"]["items"]]}
    if "histogram" in c:
        h = c["histogram"]
        c["histogram"] = {**h, "sets": {k: [_f(v) for v in vals]
                                        for k, vals in h["sets"].items()}}
    if "edge_histograms" in c:
        c["edge_histograms"] = [{**h, "sets": {k: [_f(v) for v in vals]
                                               for k, vals in h["sets"].items()}}
                                for h in c["edge_histograms"]]
    if "null" in c:
        n = c["null"]
        c["null"] = {**n, "values": [_f(v) for v in n["values"]],
                     "unit_value": _f(n["unit_value"])}
    if "attention" in c:
        a = c["attention"]
        c["attention"] = {**a, "pattern": [[_f(v) for v in row] for row in a["pattern"]]}
    return c


def _verdict_chart(r: Record, unit: str) -> Markup:
    """The claim's own measure with its CI against the threshold (and the tolerance band),
    for a record whose charts are on another axis (a sweep's loss changes for a rank or a
    share, a token AUROC): every card shows what decides its verdict."""
    name = str(r.metric or "effect").replace("_", " ")
    item = {"set": name, "mean": _f(r.effect), "ci": [_f(x) for x in (r.ci or (0, 0))],
            "n": r.n}
    return svg.bars([item], f"{name}: the measured effect with its 95% CI against what the "
                            f"claim needs", unit, marks=_effect_marks(r))


def _charts(r: Record) -> list[Markup]:
    out = []
    c = _numeric(r.charts)
    unit = _units_label(r)
    marked = False  # some chart draws the threshold
    if "histogram" in c:
        h = c["histogram"]
        marks = _histogram_marks(r, h["sets"])
        marked |= marks is not None
        out.append(svg.histogram(h["sets"], h["title"], marks=marks,
                                 unit=h.get("unit") or _histogram_unit(r)))
    for h in c.get("edge_histograms", []):  # a path card: each edge against its threshold
        t = number(h.get("threshold"))
        out.append(svg.histogram(h["sets"], h["title"], unit=h.get("unit", ""), marks=svg.Marks(
            lines=((t, f"edge threshold: the mean per token must reach {t:.4g}"),))
            if t is not None else None))
    if "bars" in c:
        b = c["bars"]
        marks = _bars_marks(r, b["items"])
        marked |= marks is not None and r.kind != "path_patching"
        out.append(svg.bars(b["items"], b["title"], b.get("unit", ""), marks=marks))
    # a "within" claim's band is narrow next to other sets' bars: show it at its own scale too
    if out and (not marked or r.direction == "within") and number(r.threshold) is not None:
        out.insert(0, _verdict_chart(r, unit))
    if "attention" in c:
        a = c["attention"]
        out.append(svg.attention_heatmap(a["tokens"], a["pattern"], a["title"]))
    if "sequence" in c:
        q = c["sequence"]
        out.insert(0, confidence_sequence(
            [{k: _f(v) for k, v in p.items()} for p in q["points"]], _f(q["threshold"]),
            int(_f(q["n_max"])), int(_f(q["stopped"])), q["title"], unit))
    if "null" in c:
        n = c["null"]
        out.append(svg.null_distribution(
            n["values"], n["unit_value"], n["units"], n["title"], cut=_null_cut(r, n["values"]),
            unit_name=f"{r.unit}" + (f" (percentile {optional(r, 'percentile'):.0f})"
                                     if optional(r, "percentile") is not None else ""),
            unit=unit))
    return out


def _token_blocks(r: Record) -> list[dict]:
    blocks = []
    for key in ("contexts", "token_deltas"):
        if key not in r.charts:
            continue
        items = r.charts[key]["items"]
        scale = max((abs(v) for it in items for v in map(_f, it["values"]) if math.isfinite(v)),
                    default=1.0) or 1.0
        rows = []
        for it in items:
            toks = [{"text": t, "value": f"{v:+.4g}", "color": svg.token_color(v, scale)}
                    for t, v in zip(it["tokens"], map(_f, it["values"]))]
            rows.append({"set": it["set"], "doc": it["doc"], "max": it["max"], "tokens": toks})
        blocks.append({"title": r.charts[key]["title"], "rows": rows})
    return blocks


def _token_tables(r: Record) -> list[dict]:
    t = r.charts.get("token_table")
    if not t:
        return []
    scale = max((abs(v) for x in t["top"] + t["bottom"] if math.isfinite(v := _f(x["value"]))),
                default=1.0) or 1.0
    cols = []
    names = t.get("labels", ["writes most", "writes least"])
    for rows, label in zip((t["top"], t["bottom"]), names):
        cols.append({"name": label, "rows": [
            {**x, "token": labels.token_text(str(x["token"])),
             "width": int(60 * abs(_f(x["value"])) / scale) if math.isfinite(_f(x["value"]))
             else 0, "shown": fmt(x["value"])}
            for x in rows]})
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


def run_overview(records: list[Record], links: bool | int = False) -> str:
    """The summary, and the checkpoint matrix when some claim ran on several checkpoints
    of one model."""
    out = summary_table(records, links=links)
    if needs_matrix(records):
        out += matrix_html(build_matrix(records))
    return out


INCOMPLETE = ("the results were written before the run ended (killed, interrupted, or still "
              "running); later claims are missing")


def incomplete_html(names: list[str]) -> str:
    """A note a reader must see before the numbers, one per run that had not ended."""
    return "".join(f'<p class="ns-incomplete" role="alert"><strong>incomplete run</strong>'
                   f'{f" ({html_text(n)})" if n else ""}: {INCOMPLETE}.</p>'
                   for n in names)


def render_fragment(records: list[Record], max_cards: int | None = None,
                    incomplete: list[str] | None = None, full_data: str = "") -> str:
    """Style, overview and evidence cards as one HTML fragment (what Jupyter shows).

    Cards come in the summary's reading order (what needs attention first); expected
    failures sit last, in a collapsed block; at most ``max_cards`` of them (``None``: all),
    and a note says how many were left out and where the full data is (``full_data``, e.g.
    "every record is in reports/run.json").  ``incomplete`` (names of runs that had not
    ended; "" for an unnamed one) defaults to the records' own (a
    :class:`~neurospec.evidence.results.Results` read from a file)."""
    if incomplete is None:
        incomplete = list(getattr(records, "incomplete", []))
    ordered = by_attention(records)
    shown = ordered if max_cards is None else ordered[:max_cards]
    cards: list[str] = []
    expected: list[str] = []
    for i, r in enumerate(shown):
        (expected if state(r) == EXPECTED_FAIL else cards).append(
            render_record(r, with_style=False, anchor=f"ns-card-{i}"))
    if expected:
        cards.append(f'<details class="ns-expected"><summary>{len(expected)} expected '
                     f"failures (claims marked xfail: deliberately false, and they failed)"
                     f"</summary>{''.join(expected)}</details>")
    more = ""
    if len(shown) < len(records):
        where = f"{html_text(full_data)}; " if full_data else ""
        more = (f'<p class="ns-more">{len(records) - len(shown)} of {len(records)} evidence '
                f"cards not shown (the summary above lists every claim; {where}neurospec "
                f"report RESULTS.json --max-cards 0 renders them all).</p>")
    return (f"<style>{stylesheet()}</style><div class=\"ns-root\">{incomplete_html(incomplete)}"
            f"{run_overview(records, len(shown))}{chr(10).join(cards)}{more}</div>")


MAX_CARDS = 1000  # a page of ~15 MB; the summary table still lists every claim


def render_page(records: list[Record], title: str = "neurospec report",
                max_cards: int | None = MAX_CARDS, full_data: str = "") -> str:
    """A standalone, offline HTML page: the summary (and matrix), then the records' cards
    (the first ``max_cards`` in reading order; ``None`` for all)."""
    return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            f'<meta name="generator" content="neurospec">'
            f"<meta name='viewport' content='width=device-width'><title>{html_text(title)}</title>"
            f"</head><body><h1 class='ns-title'>{html_text(title)}</h1>"
            f"{render_fragment(records, max_cards, full_data=full_data)}"
            f"</body></html>")
