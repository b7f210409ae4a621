"""Number formatting shared by every view of a record (HTML, markdown, failure messages)."""

from __future__ import annotations

import math


def fmt(x) -> str:
    """A signed number with 4 significant digits; ``n/a`` for missing or non-finite."""
    if isinstance(x, str):
        try:
            x = float(x)
        except ValueError:
            return x
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "n/a"
    return f"{x:+.4g}" if abs(x) >= 1e-3 or x == 0 else f"{x:+.2e}"


def number(x) -> float | None:
    """``x`` as a finite float, or None (missing, non-numeric, NaN or infinite)."""
    try:
        x = float(x)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None
