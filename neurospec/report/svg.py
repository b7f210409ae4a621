"""Inline SVG charts from plain numbers: histograms, bars with CI whiskers, and a null
distribution with the unit marked.  Every text goes through ``escape``; hover values are
``<title>`` elements (pytest-html runs no scripts inside extras).
"""

from __future__ import annotations

import math

import numpy as np
from markupsafe import Markup, escape

PALETTE = ["#d9534f", "#337ab7", "#5cb85c", "#f0ad4e", "#9b59b6", "#777777"]
W, H, PAD_L, PAD_B, PAD_T = 420, 170, 46, 30, 22


def _num(x: float) -> str:
    return f"{x:.3g}"


def _axis(lo: float, hi: float, y0: float, x0: float, x1: float) -> str:
    ticks = np.linspace(lo, hi, 5)
    parts = [f'<line x1="{x0}" y1="{y0}" x2="{x1}" y2="{y0}" stroke="#444"/>']
    for t in ticks:
        x = x0 + (t - lo) / (hi - lo or 1) * (x1 - x0)
        parts.append(f'<line x1="{x:.1f}" y1="{y0}" x2="{x:.1f}" y2="{y0 + 4}" stroke="#444"/>'
                     f'<text x="{x:.1f}" y="{y0 + 15}" font-size="10" text-anchor="middle">'
                     f'{escape(_num(t))}</text>')
    return "".join(parts)


def histogram(sets: dict[str, list[float]], title: str, bins: int = 24) -> Markup:
    """Overlaid histograms (as fractions of each set) with the set means marked."""
    values = [np.asarray(v, float) for v in sets.values()]
    allv = np.concatenate(values) if values else np.zeros(1)
    lo, hi = float(allv.min()), float(allv.max())
    if hi <= lo:
        lo, hi = lo - 0.5, hi + 0.5
    edges = np.linspace(lo, hi, bins + 1)
    x0, x1, y0 = PAD_L, W - 10, H - PAD_B
    fracs = [np.histogram(v, edges)[0] / max(len(v), 1) for v in values]
    top = max(float(f.max()) for f in fracs) or 1.0
    bw = (x1 - x0) / bins
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" '
           f'class="ns-chart" role="img"><title>{escape(title)}</title>',
           f'<text x="{x0}" y="13" font-size="11" font-weight="bold">{escape(title)}</text>']
    for k, (name, f) in enumerate(zip(sets, fracs)):
        color = PALETTE[k % len(PALETTE)]
        for i, v in enumerate(f):
            if v == 0:
                continue
            h = v / top * (y0 - PAD_T)
            out.append(f'<rect x="{x0 + i * bw:.1f}" y="{y0 - h:.1f}" width="{bw - 1:.1f}" '
                       f'height="{h:.1f}" fill="{color}" fill-opacity="0.45">'
                       f'<title>{escape(name)}: {v:.1%} of docs in [{_num(edges[i])}, '
                       f'{_num(edges[i + 1])})</title></rect>')
        mean = float(np.mean(values[k]))
        xm = x0 + (mean - lo) / (hi - lo) * (x1 - x0)
        out.append(f'<line x1="{xm:.1f}" y1="{PAD_T}" x2="{xm:.1f}" y2="{y0}" stroke="{color}" '
                   f'stroke-dasharray="3,2"><title>mean of {escape(name)}: {_num(mean)}</title>'
                   f'</line>')
        out.append(f'<rect x="{x1 - 110}" y="{PAD_T + 14 * k}" width="9" height="9" '
                   f'fill="{color}"/><text x="{x1 - 97}" y="{PAD_T + 8 + 14 * k}" '
                   f'font-size="10">{escape(name)} (n={len(values[k])})</text>')
    out.append(_axis(lo, hi, y0, x0, x1))
    out.append("</svg>")
    return Markup("".join(out))


def bars(items: list[dict], title: str, unit: str = "") -> Markup:
    """Horizontal bars (mean) with CI whiskers, one per set, zero line marked."""
    n = max(len(items), 1)
    h = PAD_T + 26 * n + PAD_B
    x0, x1 = 110, W - 12
    lo = min([0.0] + [min(it["ci"][0], it["mean"]) for it in items])
    hi = max([0.0] + [max(it["ci"][1], it["mean"]) for it in items])
    span = (hi - lo) or 1.0
    lo, hi = lo - 0.05 * span, hi + 0.05 * span

    def x(v: float) -> float:
        return x0 + (v - lo) / (hi - lo) * (x1 - x0)

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{h}" class="ns-chart" '
           f'role="img"><title>{escape(title)}</title>',
           f'<text x="4" y="13" font-size="11" font-weight="bold">{escape(title)}</text>',
           f'<line x1="{x(0):.1f}" y1="{PAD_T - 4}" x2="{x(0):.1f}" y2="{h - PAD_B}" '
           f'stroke="#999"/>']
    for k, it in enumerate(items):
        y = PAD_T + 26 * k
        color = PALETTE[k % len(PALETTE)]
        a, b = sorted((x(0), x(it["mean"])))
        tip = (f'{it["set"]}: {it["mean"]:+.4g} {unit}, 95% CI [{it["ci"][0]:.4g}, '
               f'{it["ci"][1]:.4g}], n={it.get("n", "?")}')
        out.append(f'<text x="{x0 - 6}" y="{y + 13}" font-size="10" text-anchor="end">'
                   f'{escape(it["set"])}</text>')
        out.append(f'<rect x="{a:.1f}" y="{y + 3}" width="{max(b - a, 1):.1f}" height="14" '
                   f'fill="{color}" fill-opacity="0.6"><title>{escape(tip)}</title></rect>')
        c0, c1 = x(it["ci"][0]), x(it["ci"][1])
        out.append(f'<g stroke="#222"><line x1="{c0:.1f}" y1="{y + 10}" x2="{c1:.1f}" '
                   f'y2="{y + 10}"/><line x1="{c0:.1f}" y1="{y + 5}" x2="{c0:.1f}" y2="{y + 15}"/>'
                   f'<line x1="{c1:.1f}" y1="{y + 5}" x2="{c1:.1f}" y2="{y + 15}"/>'
                   f'<title>{escape(tip)}</title></g>')
    out.append(_axis(lo, hi, h - PAD_B, x0, x1))
    out.append("</svg>")
    return Markup("".join(out))


def null_distribution(values: list[float], unit_value: float, units: list[str],
                      title: str) -> Markup:
    """Dots for random units' values, and the claimed unit as a red line."""
    allv = list(values) + [unit_value]
    lo, hi = min(allv), max(allv)
    span = (hi - lo) or 1.0
    lo, hi = lo - 0.05 * span, hi + 0.05 * span
    x0, x1, y0 = PAD_L, W - 10, 80

    def x(v: float) -> float:
        return x0 + (v - lo) / (hi - lo) * (x1 - x0)

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="110" class="ns-chart" '
           f'role="img"><title>{escape(title)}</title>',
           f'<text x="4" y="13" font-size="11" font-weight="bold">{escape(title)}</text>']
    for i, (v, name) in enumerate(zip(values, units)):
        jitter = 30 + (i * 7919 % 37)
        out.append(f'<circle cx="{x(v):.1f}" cy="{jitter}" r="3" fill="#337ab7" '
                   f'fill-opacity="0.6"><title>{escape(name)}: {v:+.4g}</title></circle>')
    xu = x(unit_value)
    out.append(f'<line x1="{xu:.1f}" y1="20" x2="{xu:.1f}" y2="{y0}" stroke="#d9534f" '
               f'stroke-width="2"><title>claimed unit: {unit_value:+.4g}</title></line>')
    out.append(_axis(lo, hi, y0, x0, x1))
    out.append("</svg>")
    return Markup("".join(out))


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
    left, top = 90, 24 + 70
    w, h = left + cell * n + 10, top + cell * n + 10
    shown = [escape(repr(t)[1:-1]) for t in tokens]
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" class="ns-chart" '
           f'role="img"><title>{escape(title)}</title>',
           f'<text x="4" y="13" font-size="11" font-weight="bold">{escape(title)}</text>',
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
