"""How a record's numbers read in every view (cards, summary, markdown): the n with what it
counts, a CI (or "exact" when it has no width), the size a claim needs ("within ±0.01"), the
p-value of the test that matches the claim, and tokens shown readably."""

from __future__ import annotations

import re

from neurospec.evidence.format import fmt, number, visible
from neurospec.evidence.record import Record

# What n counts, by kind of claim, for records that do not say (``details.n_unit``: every
# claim whose n is not documents writes it): files written before it was written.
N_UNITS = {"logit_attribution": "top-k", "prompt_optimisation": "prompts", "property": "prompts",
           "simplification": "contexts"}


def n_unit(r: Record) -> str:
    """What the record's n counts: documents unless its claim says otherwise."""
    return str(r.details.get("n_unit") or N_UNITS.get(r.kind, "docs"))


def n_text(r: Record) -> str:
    return f"{r.n} {n_unit(r)}"


def exact(r: Record) -> bool:
    """A CI of no width at the effect (an exact count, or an effect with no spread, up to
    float rounding: a width of at most 1e-9 of the effect's scale): shown as "exact" rather
    than as an interval like ``[+4, +4]``."""
    lo, hi, e = number(r.ci[0]), number(r.ci[1]), number(r.effect)
    if lo is None or hi is None or e is None:
        return False
    tol = 1e-9 * max(1.0, abs(e))
    return hi - lo <= tol and lo - tol <= e <= hi + tol


def ci_text(r: Record) -> str:
    if exact(r):
        return "exact"
    return f"[{fmt(r.ci[0])}, {fmt(r.ci[1])}]"


def needs_text(r: Record) -> str:
    t = number(r.threshold)
    if r.direction == "within":
        return f"within \u00b1{abs(t):.4g}" if t is not None else "within n/a"
    return f"{r.direction} {fmt(r.threshold)}"


def p_value(r: Record) -> tuple[float | None, str]:
    """The record's ``p`` and what it tests: for a "within ±tol" claim that is the
    equivalence test (the larger of two one-sided p-values, TOST), for the others the test
    against the stated threshold."""
    return number(r.p), "equivalence" if r.direction == "within" else ""


def p_text(r: Record) -> str:
    p, _ = p_value(r)
    return "" if p is None else f"{p:.2g}"


_CONTROL_ESCAPE = re.compile(r"\\u00([01][0-9a-fA-F]|7[fF])")


def token_text(token: str) -> str:
    """A vocabulary item as a reader can see it.  Control characters (already written as
    ``\\u0003`` by :func:`~neurospec.evidence.format.visible`) read as the byte they are,
    ``<0x03>``; the replacement character, which a byte-level token that is part of a
    multi-byte letter decodes to, reads ``<0x??>`` (its byte is not in the record)."""
    text = _CONTROL_ESCAPE.sub(lambda m: f"<0x{m.group(1).upper()}>", visible(token))
    return text.replace("\ufffd", "<0x??>")
