"""Inline SVG charts from plain numbers: histograms, bars with CI whiskers, and a null
distribution with the unit marked.  Every text goes through ``escape``; hover values are
``<title>`` elements (pytest-html runs no scripts inside extras).

Every chart that shows an effect also shows what decides its verdict: the threshold (an
element of class ``threshold``), the ±tolerance band of a "within" claim (``tolerance``) and
zero (``zero``).  Axis ticks fall on 1-2-5 steps and include zero; titles wrap; legends sit
below the plot; each role has one colour on every card (:data:`ROLE_COLOURS`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from markupsafe import Markup, escape

# One colour per role across all cards: the set a claim is about ("on"), the set it is
# compared with ("than"), and any further set.
ROLE_COLOURS = {"on": "#e07b24", "than": "#2b6cb0", "other": "#7a7a7a"}
UNIT_COLOUR = "#c0392b"  # the claimed unit among random ones
W, PAD_L, PAD_R, PLOT_H = 440, 46, 22, 110
TITLE_CHARS = 56  # a title line's characters at bold font-size 11 (wide letters, '_', 'm')
LEGEND_CHARS = 62  # a legend line's characters at font-size 10, right of its swatch


@dataclass(frozen=True)
class Marks:
    """What decides a verdict, in the chart's units: threshold lines (value, label) and
    the tolerance band of a "within" claim."""

    lines: tuple[tuple[float, str], ...] = ()
    band: tuple[float, float] | None = None


def role_colour(k: int) -> str:
    return ROLE_COLOURS[("on", "than")[k]] if k < 2 else ROLE_COLOURS["other"]


def nice_ticks(lo: float, hi: float, target: int = 5) -> list[float]:
    """Ticks on a 1-2-5 step that cover ``[lo, hi]`` and include zero."""
    lo, hi = min(lo, 0.0), max(hi, 0.0)
    span = hi - lo
    if not math.isfinite(span) or span <= 0:
        return [-1.0, 0.0, 1.0] if span == 0 else [0.0]
    raw = span / max(target - 1, 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)
    first, last = math.floor(lo / step + 1e-9), math.ceil(hi / step - 1e-9)
    return [round(i * step, 12) for i in range(first, last + 1)]


def tick_label(t: float) -> str:
    return "0" if t == 0 else f"{t:.6g}"


def wrap(text: str, chars: int) -> list[str]:
    """``text`` in lines of at most ``chars`` characters, broken at spaces (a longer word
    is split); nothing is cut."""
    lines, line = [], ""
    words = [w[i:i + chars] for w in str(text).split() for i in range(0, len(w), chars)]
    for word in words:
        if line and len(line) + 1 + len(word) > chars:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    return lines + [line]


def wrapped_title(title: str, x: float = 4, y: float = 13,
                  chars: int = TITLE_CHARS) -> tuple[str, float]:
    """The title as ``<text>`` lines of at most ``chars`` characters (never cut), and the
    y below it."""
    lines = wrap(title, chars)
    spans = "".join(f'<tspan x="{x}" dy="{0 if i == 0 else 13}">{escape(s)}</tspan>'
                    for i, s in enumerate(lines))
    return (f'<text x="{x}" y="{y}" font-size="11" font-weight="bold" class="ns-ctitle">'
            f"{spans}</text>"), y + 13 * (len(lines) - 1) + 10


class _Scale:
    """Data values to x pixels over ticks that include zero."""

    def __init__(self, values: list[float], x0: float, x1: float) -> None:
        finite = [v for v in values if v is not None and math.isfinite(v)] or [0.0]
        self.ticks = nice_ticks(min(finite), max(finite))
        self.lo, self.hi = self.ticks[0], self.ticks[-1]
        self.x0, self.x1 = x0, x1

    def __call__(self, v: float) -> float:
        return self.x0 + (v - self.lo) / ((self.hi - self.lo) or 1) * (self.x1 - self.x0)


def _axis(s: _Scale, y0: float, unit: str) -> str:
    parts = [f'<line x1="{s.x0}" y1="{y0}" x2="{s.x1}" y2="{y0}" stroke="#444"/>']
    for t in s.ticks:
        x = s(t)
        parts.append(f'<line x1="{x:.1f}" y1="{y0}" x2="{x:.1f}" y2="{y0 + 4}" stroke="#444"/>'
                     f'<text x="{x:.1f}" y="{y0 + 15}" font-size="10" text-anchor="middle">'
                     f"{escape(tick_label(t))}</text>")
    if unit:
        parts.append(f'<text x="{s.x1}" y="{y0 + 28}" font-size="10" text-anchor="end" '
                     f'class="ns-axis-unit">{escape(unit)}</text>')
    return "".join(parts)


def _marks(s: _Scale, marks: Marks | None, y_top: float, y_bottom: float) -> str:
    """Zero, the tolerance band and the threshold lines, drawn under the data."""
    out = [f'<line class="zero" x1="{s(0):.1f}" y1="{y_top}" x2="{s(0):.1f}" y2="{y_bottom}" '
           f'stroke="#999"><title>zero</title></line>']
    if marks is None:
        return "".join(out)
    if marks.band is not None and all(math.isfinite(v) for v in marks.band):
        a, b = s(marks.band[0]), s(marks.band[1])
        out.append(f'<rect class="tolerance" x="{a:.1f}" y="{y_top}" width="{max(b - a, 1):.1f}" '
                   f'height="{y_bottom - y_top}" fill="#5cb85c" fill-opacity="0.15">'
                   f"<title>tolerance: within ±{marks.band[1]:.4g}</title></rect>")
    for value, label in marks.lines:
        if not math.isfinite(value):  # no threshold to draw (e.g. an underpowered claim)
            continue
        x = s(value)
        out.append(f'<line class="threshold" x1="{x:.1f}" y1="{y_top - 4}" x2="{x:.1f}" '
                   f'y2="{y_bottom}" stroke="#111" stroke-width="1.5" stroke-dasharray="5,3">'
                   f"<title>{escape(label)}</title></line>")
    return "".join(out)


def _legend(entries: list[tuple[str, str, str]], y: float) -> tuple[str, float]:
    """Legend rows below the plot: (kind 'box' | 'line' | 'dash', colour, text)."""
    out = []
    yy = y - 14
    for kind, colour, text in entries:
        yy += 14
        if kind == "box":
            out.append(f'<rect x="{PAD_L}" y="{yy}" width="10" height="9" fill="{colour}" '
                       f'fill-opacity="0.6"/>')
        else:
            dash = ' stroke-dasharray="5,3"' if kind == "dash" else ""
            out.append(f'<line x1="{PAD_L}" y1="{yy + 5}" x2="{PAD_L + 10}" y2="{yy + 5}" '
                       f'stroke="{colour}" stroke-width="2"{dash}/>')
        lines = wrap(text, LEGEND_CHARS)
        spans = "".join(f'<tspan x="{PAD_L + 15}" dy="{0 if i == 0 else 12}">{escape(line)}'
                        f"</tspan>" for i, line in enumerate(lines))
        out.append(f'<text x="{PAD_L + 15}" y="{yy + 9}" font-size="10" class="ns-legend">'
                   f"{spans}</text>")
        yy += 12 * (len(lines) - 1)
    return "".join(out), yy + 14 if entries else y


def _svg(body: list[str], height: float, title: str) -> Markup:
    return Markup(f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{height:.0f}" '
                  f'class="ns-chart" role="img"><title>{escape(title)}</title>'
                  + "".join(body) + "</svg>")


def _mark_legend(marks: Marks | None) -> list[tuple[str, str, str]]:
    if marks is None:
        return []
    out = [("dash", "#111", label) for _, label in marks.lines[:1]]
    if marks.band is not None and all(math.isfinite(v) for v in marks.band):
        out.append(("box", "#5cb85c", f"tolerance: within ±{marks.band[1]:.4g}"))
    return out


def histogram(sets: dict[str, list[float]], title: str, bins: int = 24,
              marks: Marks | None = None, unit: str = "") -> Markup:
    """Overlaid histograms (as fractions of each set) with the set means marked."""
    values = [np.asarray(v, float) for v in sets.values()]
    values = [v[np.isfinite(v)] for v in values]  # non-finite values have no bin
    allv = np.concatenate(values) if values else np.zeros(1)
    extra = [v for v, _ in marks.lines] if marks else []
    head, top_y = wrapped_title(title)
    x0, x1 = PAD_L, W - PAD_R
    s = _Scale([float(allv.min()), float(allv.max())] + extra, x0, x1)
    y_top, y0 = top_y + 8, top_y + 8 + PLOT_H
    edges = np.linspace(float(allv.min()), float(allv.max()) or 1.0, bins + 1)
    if edges[-1] <= edges[0]:
        edges = np.linspace(edges[0] - 0.5, edges[0] + 0.5, bins + 1)
    fracs = [np.histogram(v, edges)[0] / max(len(v), 1) for v in values]
    top = max((float(f.max()) for f in fracs), default=1.0) or 1.0
    out = [head, _marks(s, marks, y_top, y0)]
    legend = []
    for k, (name, f) in enumerate(zip(sets, fracs)):
        colour = role_colour(k)
        for i, v in enumerate(f):
            if v == 0:
                continue
            h = v / top * (y0 - y_top)
            a, b = s(edges[i]), s(edges[i + 1])
            out.append(f'<rect x="{a:.1f}" y="{y0 - h:.1f}" width="{max(b - a - 1, 1):.1f}" '
                       f'height="{h:.1f}" fill="{colour}" fill-opacity="0.45">'
                       f'<title>{escape(name)}: {v:.1%} of docs in [{edges[i]:.3g}, '
                       f'{edges[i + 1]:.3g})</title></rect>')
        mean = float(np.mean(values[k])) if len(values[k]) else float("nan")
        if math.isfinite(mean):
            out.append(f'<line x1="{s(mean):.1f}" y1="{y_top}" x2="{s(mean):.1f}" y2="{y0}" '
                       f'stroke="{colour}" stroke-width="2"><title>mean of {escape(name)}: '
                       f"{mean:.3g}</title></line>")
        legend.append(("box", colour, f"{name} (n={len(values[k])} docs; line: mean)"))
    out.append(_axis(s, y0, unit))
    text, bottom = _legend(legend + _mark_legend(marks), y0 + 34)
    out.append(text)
    return _svg(out, bottom + 4, title)


def bars(items: list[dict], title: str, unit: str = "", marks: Marks | None = None) -> Markup:
    """Horizontal bars (mean) with CI whiskers, one per set, zero and threshold marked."""
    head, top_y = wrapped_title(title)
    x0, x1 = 120, W - PAD_R
    vals = [v for it in items for v in (it["ci"][0], it["ci"][1], it["mean"])]
    extra = [v for v, _ in marks.lines] if marks else []
    band = list(marks.band) if marks and marks.band else []
    s = _Scale(vals + extra + band, x0, x1)
    y_top = top_y + 8
    y0 = y_top + 24 * max(len(items), 1) + 4
    out = [head, _marks(s, marks, y_top, y0)]
    for k, it in enumerate(items):
        y = y_top + 24 * k
        colour = role_colour(k)
        mean, (lo, hi), n = it["mean"], it["ci"], it.get("n")
        tip = (f'{it["set"]}: {mean:+.4g} {unit}, 95% CI [{lo:.4g}, {hi:.4g}]'
               + (f", n={n}" if n is not None else ""))
        out.append(f'<text x="{x0 - 6}" y="{y + 13}" font-size="10" text-anchor="end">'
                   f'{escape(_short(it["set"], 20))}<title>{escape(it["set"])}</title></text>')
        if math.isfinite(mean):
            a, b = sorted((s(0), s(mean)))
            out.append(f'<rect x="{a:.1f}" y="{y + 3}" width="{max(b - a, 1):.1f}" height="14" '
                       f'fill="{colour}" fill-opacity="0.6"><title>{escape(tip)}</title></rect>')
        if math.isfinite(lo) and math.isfinite(hi):  # an undefined CI draws no whiskers
            c0, c1 = s(lo), s(hi)
            out.append(f'<g stroke="#222"><line x1="{c0:.1f}" y1="{y + 10}" x2="{c1:.1f}" '
                       f'y2="{y + 10}"/><line x1="{c0:.1f}" y1="{y + 5}" x2="{c0:.1f}" '
                       f'y2="{y + 15}"/><line x1="{c1:.1f}" y1="{y + 5}" x2="{c1:.1f}" '
                       f'y2="{y + 15}"/><title>{escape(tip)}</title></g>')
    out.append(_axis(s, y0, unit))
    legend = [("line", "#222", "whiskers: 95% CI")] + _mark_legend(marks)
    text, bottom = _legend(legend, y0 + 34)
    out.append(text)
    return _svg(out, bottom + 4, title)


def _short(text: str, chars: int) -> str:
    text = str(text)
    return text if len(text) <= chars else text[:chars - 1] + "\u2026"


def null_distribution(values: list[float], unit_value: float, units: list[str], title: str,
                      cut: tuple[float, str] | None = None, unit_name: str = "claimed unit",
                      unit: str = "") -> Markup:
    """Dots for random units' values, the claimed unit as a red line, and the percentile cut
    (``(value, label)``) the unit is judged against."""
    head, top_y = wrapped_title(title)
    x0, x1 = PAD_L, W - PAD_R
    s = _Scale(list(values) + [unit_value] + ([cut[0]] if cut else []), x0, x1)
    y_top, y0 = top_y + 8, top_y + 8 + 60
    out = [head, f'<line class="zero" x1="{s(0):.1f}" y1="{y_top}" x2="{s(0):.1f}" '
                 f'y2="{y0}" stroke="#999"><title>zero</title></line>']
    if cut is not None:
        out.append(f'<line class="threshold ns-cut" x1="{s(cut[0]):.1f}" y1="{y_top}" '
                   f'x2="{s(cut[0]):.1f}" y2="{y0}" stroke="#111" stroke-width="1.5" '
                   f'stroke-dasharray="5,3"><title>{escape(cut[1])}</title></line>')
    for i, (v, name) in enumerate(zip(values, units)):
        if not math.isfinite(v):  # a unit that could not be measured has no dot
            continue
        jitter = y_top + 8 + (i * 7919 % 37)
        out.append(f'<circle cx="{s(v):.1f}" cy="{jitter}" r="3" fill="{ROLE_COLOURS["than"]}" '
                   f'fill-opacity="0.6"><title>{escape(name)}: {v:+.4g}</title></circle>')
    if math.isfinite(unit_value):
        xu = s(unit_value)
        out.append(f'<line class="ns-unit" x1="{xu:.1f}" y1="{y_top}" x2="{xu:.1f}" y2="{y0}" '
                   f'stroke="{UNIT_COLOUR}" stroke-width="2"><title>{escape(unit_name)}: '
                   f"{unit_value:+.4g}</title></line>")
    out.append(_axis(s, y0, unit))
    legend = [("line", UNIT_COLOUR, f"{unit_name}: {unit_value:+.4g}"),
              ("box", ROLE_COLOURS["than"], f"{len(values)} random units of the layer")]
    if cut is not None:
        legend.append(("dash", "#111", cut[1]))
    text, bottom = _legend(legend, y0 + 34)
    out.append(text)
    return _svg(out, bottom + 4, title)


def token_color(value: float, scale: float) -> str:
    """Background colour for a token: red for positive, blue for negative, alpha by size."""
    if not math.isfinite(value) or scale <= 0:
        return "transparent"
    a = min(1.0, abs(value) / scale)
    return f"rgba(217,83,79,{a:.2f})" if value >= 0 else f"rgba(51,122,183,{a:.2f})"
def attention_heatmap(tokens: list[str], pattern: list[list[float]], title: str) -> Markup:
    """Query (rows) x key (columns) attention weights; hover a cell for the pair and weight.

    Only the causal triangle is drawn (a query attends to itself and earlier keys), one
    colour with the weight as opacity, so a 24-token pattern stays near 30 KB."""
    n = len(tokens)
    cell = max(8, min(18, 360 // max(n, 1)))
    w = 90 + cell * n + 10
    head, title_bottom = wrapped_title(title, chars=max(16, int(TITLE_CHARS * w / W)))
    left, top = 90, title_bottom + 70
    h = top + cell * n + 10
    shown = [escape(repr(t)[1:-1]) for t in tokens]
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h:.0f}" '
           f'class="ns-chart" role="img"><title>{escape(title)}</title>', head,
           f'<rect x="{left}" y="{top}" width="{cell * n}" height="{cell * n}" fill="#f7f7f7"/>']
    for j, t in enumerate(shown):
        x = left + j * cell + cell / 2
        out.append(f'<text transform="translate({x:.1f},{top - 4}) rotate(-60)" font-size="9">'
                   f"{t}</text>")
    out.append('<g fill="#337ab7">')
    for i, t in enumerate(shown):
        y = top + i * cell
        out.append(f'<text x="{left - 4}" y="{y + cell - 4}" font-size="9" text-anchor="end" '
                   f'fill="#222">{t}</text>')
        for j in range(min(i + 1, n)):
            v = min(1.0, max(0.0, float(pattern[i][j])))
            out.append(f'<rect x="{left + j * cell}" y="{y}" width="{cell - 1}" '
                       f'height="{cell - 1}" fill-opacity="{v:.2f}"><title>{t} \u2192 {shown[j]}: '
                       f"{v:.3f}</title></rect>")
    out.append("</g></svg>")
    return Markup("".join(out))
