"""Formatting shared by every view of a record (HTML, markdown, failure messages): numbers,
and text made safe to show (invisible and reordering characters written as escapes)."""

from __future__ import annotations

import math
import re
import unicodedata
from functools import lru_cache


def fmt(x: object) -> str:
    """A signed number with 4 significant digits; ``n/a`` for missing or non-finite."""
    if isinstance(x, str):
        try:
            x = float(x)
        except ValueError:
            return str(x)
    if not isinstance(x, (int, float)) or isinstance(x, bool) or not math.isfinite(x):
        return "n/a" if x is None or isinstance(x, float) else str(x)
    return f"{x:+.4g}" if abs(x) >= 1e-3 or x == 0 else f"{x:+.2e}"


def number(x: object) -> float | None:
    """``x`` as a finite float, or None (missing, non-numeric, NaN or infinite)."""
    try:
        value = float(x)  # type: ignore[arg-type]  # anything: what float() refuses is None
    except (TypeError, ValueError, OverflowError):
        return None
    return value if math.isfinite(value) else None


@lru_cache(maxsize=1)
def _hidden() -> re.Pattern[str]:
    # Characters that are invisible or reorder what follows them (bidi overrides and
    # isolates, zero-width and other format characters, NUL and other controls, lone
    # surrogates, line and paragraph separators).  Built on first use (~0.4 s).
    return re.compile("[" + "".join(
        re.escape(chr(c)) for c in range(0x110000)
        if unicodedata.category(chr(c)) in ("Cc", "Cf", "Cs", "Zl", "Zp")
        and chr(c) not in "\t\n") + "]")


def visible(text: str) -> str:
    """``text`` with every invisible or reordering character written as an escape."""
    out: str = _hidden().sub(lambda m: f"\\u{ord(m.group()):04x}", text)
    return out
