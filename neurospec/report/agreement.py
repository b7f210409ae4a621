"""Same claims, same numbers: one suite run on two devices (or two dtypes, two hosts, two
backends), compared claim by claim and number by number (the GPU tier's check).
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass

from neurospec.evidence.format import number as _num
from neurospec.evidence.record import Record
from neurospec.evidence.results import claim_ids

# Fields that describe where a run happened, not what it measured.
_WHERE = {"device"}
_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


# What a difference is: the claim itself (present, verdict, outcome, vacuity); a measured
# number (or text) out of tolerance; the order of near-equal items (a rank, which examples a
# chart shows); or a statistic of values at rounding level (all ~0), defined on one run and
# undefined on the other.
KINDS = ("claim", "number", "order", "degenerate")
FAILING = ("claim", "number")


@dataclass(frozen=True)
class Mismatch:
    """One place where two runs of the same claims disagree: ``path`` inside the record
    (``effect``, ``details.token_auroc``, ``charts.histogram.sets.de[3]``), or ``verdict``,
    or ``(record)`` when a claim is in one run only; ``kind`` is one of :data:`KINDS`."""

    claim_id: str
    path: str
    base: object
    head: object
    kind: str = "number"

    def __str__(self) -> str:
        return f"[{self.kind}] {self.claim_id}: {self.path}: {self.base!r} != {self.head!r}"


def agreement(base: list[Record], head: list[Record], *, atol: float = 1e-4,
              rtol: float = 1e-4, p_atol: float = 1e-3) -> list[Mismatch]:
    """Every difference between two runs of the same claims beyond rounding, each with its
    kind (:data:`KINDS`).  Compared: each claim in both runs, the same verdict and outcome,
    every string equal (numbers inside texts within their printed precision), every number
    within ``atol + rtol * |base|``, p-values within ``p_atol`` (a resampling p-value moves
    by a step of 1 / (resamples + 1) when one resampled statistic lands on the other side of
    a value that moved by rounding).  A NaN matches only a NaN.  Where a run happened
    (``model.device``) is not compared.

    Not failures of agreement (kinds ``order`` and ``degenerate``, see
    :func:`disagreements`): which of near-equal items a chart shows, a rank puts first
    (``details.*rank*``) or a list of the same texts lists first; and a record whose effect
    is within ``atol`` of 0 on both runs while its CI is undefined on one run only, or a
    chart value at that level on one run and undefined on the other (values at rounding
    level, e.g. 2e-19 on one device and exactly 0 on the other).

    Empty list: the runs agree in every respect."""
    b = dict(zip(claim_ids(base), base))
    h = dict(zip(claim_ids(head), head))
    out = [Mismatch(cid, "(record)", "present" if cid in b else "missing",
                    "present" if cid in h else "missing", "claim")
           for cid in list(b) + [c for c in h if c not in b] if (cid in b) != (cid in h)]
    for cid in (c for c in b if c in h):
        rb, rh = asdict(b[cid]), asdict(h[cid])
        found: list[Mismatch] = []
        _walk(cid, "", rb, rh, found, atol, rtol, p_atol)
        out += _classify(found, _degenerate(rb, rh, atol), atol)
    return out


def disagreements(found: list[Mismatch]) -> list[Mismatch]:
    """The differences that mean the two runs disagree: a claim or a measured number."""
    return [m for m in found if m.kind in FAILING]


_CHART_ITEM = re.compile(r"^(charts\.[^\[]+\[\d+\]|charts\.[^.\[]+)")


def _classify(found: list[Mismatch], degenerate: bool, atol: float) -> list[Mismatch]:
    """Give each difference of one record its kind (:data:`KINDS`)."""
    def text(x) -> bool:
        return isinstance(x, str) and not _is_nan_text(x)

    # a chart item (an example, a bar) that shows another document or token on each run
    reordered = {g.group(1) for m in found if (g := _CHART_ITEM.match(m.path))
                 and (text(m.base) or text(m.head))}
    out = []
    for m in found:
        top = m.path.split(".")[0].split("[")[0]
        item = _CHART_ITEM.match(m.path)
        if top in ("verdict", "outcome", "vacuous"):
            kind = "claim"
        elif degenerate or (top == "charts" and _tiny_or_nan(m.base, m.head, atol)):
            kind = "degenerate"
        elif m.kind == "order" or (item and item.group(1) in reordered):
            kind = "order"
        elif top == "details" and "rank" in m.path.rsplit(".", 1)[-1]:
            kind = "order"  # the rank of near-equal values (the values are compared too)
        else:
            kind = "number"
        out.append(Mismatch(m.claim_id, m.path, m.base, m.head, kind))
    return out


def _is_nan_text(x) -> bool:
    return isinstance(x, str) and x.lower() == "nan"  # how results files write a NaN


def _undefined(x) -> bool:
    """Missing, a NaN or infinite number, or a NaN as results files write it."""
    return x is None or ((_is_number(x) or _is_nan_text(x)) and _num(x) is None)


def _tiny(x, atol: float) -> bool:
    return _is_number(x) and (v := _num(x)) is not None and abs(v) <= atol


def _tiny_or_nan(a, b, atol: float) -> bool:
    """A value at rounding level on one run, undefined on the other."""
    return (_undefined(a) and _tiny(b, atol)) or (_tiny(a, atol) and _undefined(b))


def _degenerate(a: dict, b: dict, atol: float) -> bool:
    """Both effects within ``atol`` of 0, and a CI undefined on one run only."""
    if not (_tiny(a.get("effect"), atol) and _tiny(b.get("effect"), atol)):
        return False
    return any(map(_undefined, a["ci"])) != any(map(_undefined, b["ci"]))


def _walk(cid: str, path: str, a, b, out: list[Mismatch], atol: float, rtol: float,
          p_atol: float) -> None:
    key = path.rsplit(".", 1)[-1]
    if isinstance(a, dict) and isinstance(b, dict):
        for k in list(a) + [k for k in b if k not in a]:
            if k in _WHERE and path == "model":
                continue
            sub = f"{path}.{k}" if path else str(k)
            if k not in a or k not in b:
                out.append(Mismatch(cid, sub, a.get(k, "(absent)"), b.get(k, "(absent)")))
            else:
                _walk(cid, sub, a[k], b[k], out, atol, rtol, p_atol)
        return
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        if (list(a) != list(b) and all(isinstance(x, str) for x in [*a, *b])
                and sorted(a) == sorted(b)):
            out.append(Mismatch(cid, path, a, b, "order"))  # the same texts, tied differently
            return
        if len(a) != len(b):
            out.append(Mismatch(cid, f"{path} (length)", len(a), len(b)))
            return
        for i, (x, y) in enumerate(zip(a, b)):
            _walk(cid, f"{path}[{i}]", x, y, out, atol, rtol, p_atol)
        return
    if _is_number(a) and _is_number(b):
        tol = p_atol if key in ("p", "p_adjusted") else atol + rtol * abs(float(a))
        if not _close(float(a), float(b), tol):
            out.append(Mismatch(cid, path, a, b))
        return
    if isinstance(a, str) and isinstance(b, str):
        if a != b and not _same_text(a, b, atol, rtol):
            out.append(Mismatch(cid, path, a, b))
        return
    if a != b:
        out.append(Mismatch(cid, path, a, b))


def _is_number(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _close(a: float, b: float, tol: float) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    if math.isinf(a) or math.isinf(b):
        return a == b
    return abs(a - b) <= tol


def _same_text(a: str, b: str, atol: float, rtol: float) -> bool:
    """Equal but for numbers printed inside them, each within tolerance or one unit of its
    last printed digit (``0.0123`` vs ``0.0124``)."""
    if _NUMBER.split(a) != _NUMBER.split(b):
        return False
    for x, y in zip(_NUMBER.findall(a), _NUMBER.findall(b)):
        fx, fy = float(x), float(y)
        mantissa = x.lower().split("e")[0]
        digits = len(mantissa.split(".")[1]) if "." in mantissa else 0
        exponent = int(x.lower().split("e")[1]) if "e" in x.lower() else 0
        unit = 10.0 ** (exponent - digits)
        if not _close(fx, fy, max(atol + rtol * abs(fx), unit * 1.0000001)):
            return False
    return True
