"""The confidence sequence of a sequential claim as inline SVG: its bounds (a band) and
estimate against the units read, the threshold as a dashed line (class ``threshold``) and
where the claim stopped (class ``ns-stop``).  Every text is escaped; hover values are
``<title>`` elements."""

from __future__ import annotations

import math
from typing import Any

from markupsafe import Markup, escape

from neurospec.report.svg import (
    PAD_L,
    PAD_R,
    PLOT_H,
    ROLE_COLOURS,
    W,
    _legend,
    _svg,
    nice_ticks,
    tick_label,
    wrapped_title,
)


def _finite(values: list[float]) -> list[float]:
    return [v for v in values if isinstance(v, (int, float)) and math.isfinite(v)]


def confidence_sequence(points: list[dict[str, Any]], threshold: float, n_max: int,
                        stopped: int, title: str, unit: str = "") -> Markup:
    """Band of the sequence's bounds and line of its estimate after each look; x: units read
    (0 .. ``n_max``), y: the statistic; bounds beyond the drawn range (the first looks of a
    wide sequence) are clipped to it."""
    head, top_y = wrapped_title(title)
    pts = [p for p in points if math.isfinite(float(p.get("estimate", math.nan)))]
    ests = _finite([float(p["estimate"]) for p in pts])
    span = _finite([float(p[k]) for p in pts for k in ("lo", "hi")])
    vals = ests + [v for v in span if not ests or abs(v - ests[-1]) <= 4 * (
        max(ests) - min(ests) + abs(ests[-1]) + 1e-9)]
    if math.isfinite(threshold):
        vals.append(threshold)
    ticks = nice_ticks(min(vals or [0.0]), max(vals or [1.0]))
    lo_v, hi_v = ticks[0], ticks[-1]
    x0, x1 = PAD_L, W - PAD_R
    y_top, y_bot = top_y + 8, top_y + 8 + PLOT_H
    n_max = max(int(n_max), 1)

    def x(n: float) -> float:
        return x0 + n / n_max * (x1 - x0)

    def y(v: float) -> float:
        v = min(max(v, lo_v), hi_v) if math.isfinite(v) else (hi_v if v > 0 else lo_v)
        return y_bot - (v - lo_v) / ((hi_v - lo_v) or 1) * (y_bot - y_top)

    out = [head, f'<line x1="{x0}" y1="{y_bot}" x2="{x1}" y2="{y_bot}" stroke="#444"/>',
           f'<line x1="{x0}" y1="{y_top}" x2="{x0}" y2="{y_bot}" stroke="#444"/>']
    for t in ticks:
        out.append(f'<text x="{x0 - 4}" y="{y(t) + 3:.1f}" font-size="10" text-anchor="end">'
                   f"{escape(tick_label(t))}</text>")
    for n in (0, n_max // 2, n_max):
        out.append(f'<text x="{x(n):.1f}" y="{y_bot + 13}" font-size="10" '
                   f'text-anchor="middle">{n}</text>')
    out.append(f'<text x="{x1}" y="{y_bot + 26}" font-size="10" text-anchor="end" '
               f'class="ns-axis-x">{escape("units read (documents or groups)")}</text>')
    if len(pts) >= 1:
        upper = " ".join(f"{x(p['n']):.1f},{y(float(p['hi'])):.1f}" for p in pts)
        lower = " ".join(f"{x(p['n']):.1f},{y(float(p['lo'])):.1f}" for p in reversed(pts))
        out.append(f'<polygon class="ns-sequence" points="{upper} {lower}" '
                   f'fill="{ROLE_COLOURS["on"]}" fill-opacity="0.25" stroke="none"/>')
        line = " ".join(f"{x(p['n']):.1f},{y(float(p['estimate'])):.1f}" for p in pts)
        out.append(f'<polyline points="{line}" fill="none" stroke="{ROLE_COLOURS["on"]}" '
                   f'stroke-width="1.5"/>')
        for p in pts:
            out.append(f'<circle cx="{x(p["n"]):.1f}" cy="{y(float(p["estimate"])):.1f}" r="2.5" '
                       f'fill="{ROLE_COLOURS["on"]}"><title>after {int(p["n"])}: '
                       f'{float(p["estimate"]):+.4g} [{float(p["lo"]):.4g}, '
                       f'{float(p["hi"]):.4g}]</title></circle>')
    if math.isfinite(threshold):
        out.append(f'<line class="threshold" x1="{x0}" y1="{y(threshold):.1f}" x2="{x1}" '
                   f'y2="{y(threshold):.1f}" stroke="#111" stroke-width="1.5" '
                   f'stroke-dasharray="5,3"><title>threshold {threshold:.4g}</title></line>')
    out.append(f'<line class="ns-stop" x1="{x(stopped):.1f}" y1="{y_top}" x2="{x(stopped):.1f}" '
               f'y2="{y_bot}" stroke="#c0392b" stroke-width="1.5"><title>stopped after '
               f"{int(stopped)} of {n_max}</title></line>")
    what = f" ({unit})" if unit else ""
    legend = [("box", ROLE_COLOURS["on"], f"95% confidence sequence{what} and its estimate"),
              ("dash", "#111", f"threshold {threshold:.4g}"),
              ("line", "#c0392b", f"stopped after {int(stopped)} of {n_max}")]
    text, bottom = _legend(legend, y_bot + 40)
    out.append(text)
    return _svg(out, bottom + 4, title)
