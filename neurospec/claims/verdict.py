"""Deciding a verdict from a confidence interval, and saying why it failed."""

from __future__ import annotations

import math

from neurospec.evidence.format import fmt, visible
from neurospec.evidence.record import Record


def decide(ci: tuple[float, float], threshold: float, direction: str, undefined: str = ""
           ) -> tuple[str, str]:
    """``("pass", "")`` when the whole CI clears the threshold, else ``("fail", why)``;
    ``("fail", "undefined: ...")`` when the statistics said why the CI cannot decide
    (:attr:`~neurospec.stats.inference.Estimate.undefined`).

    A point estimate above the threshold with the CI reaching below it fails: the data
    do not rule out an effect smaller than claimed.  A CI bound that could not be computed
    (NaN or infinite) fails the claim as undefined.
    """
    if undefined:
        return "fail", f"undefined: {undefined}"
    lo, hi = ci
    side = {">=": [lo], "<=": [hi], "within": [lo, hi]}.get(direction, [])
    if not all(math.isfinite(x) for x in side):
        return "fail", ("CI undefined (no finite bound from the resampled data, e.g. no "
                        "spread in a resampled set): the data cannot show the claim")
    if direction == ">=":
        if lo >= threshold:
            return "pass", ""
        return "fail", f"CI lower bound {lo:.4g} < {threshold:.4g}"
    if direction == "<=":
        if hi <= threshold:
            return "pass", ""
        return "fail", f"CI upper bound {hi:.4g} > {threshold:.4g}"
    if direction == "within":
        if -threshold <= lo and hi <= threshold:
            return "pass", ""
        outside = lo if lo < -threshold else hi
        return "fail", f"CI bound {outside:.4g} outside ±{threshold:.4g}"
    raise ValueError(f"unknown direction {direction!r}")


def _one_line(text: str) -> str:
    """A text from a name (a claim built from corpus names) as one line of the message."""
    return text.replace("\r", "\\r").replace("\n", "\\n")


def failure_message(r: Record) -> str:
    """What was claimed, what was measured, by how much it missed, and how to rerun."""
    if r.verdict == "underpowered":
        return visible(f"{_one_line(r.claim)}\n  {_one_line(r.missed)}\n  nothing was measured: "
                       f"a verdict on so few documents would be noise")
    unit = r.details.get("units_label", "")
    lines = [
        _one_line(r.claim),
        f"  measured {fmt(r.effect)} {unit}, 95% CI [{r.ci[0]:.4g}, {r.ci[1]:.4g}], "
        f"n={r.n} docs, p={r.p:.2g}".replace("  ,", ","),
        f"  missed: {_one_line(r.missed)}; to see whether the verdict depends on the resampling, "
        f"rerun with another seed, e.g. --neurospec-seed={r.seed + 1}",
    ]
    seq = r.details.get("sequential")
    if seq is not None and seq.get("mode") == "sequential":
        lines.insert(2, f"  sequential: stopped after {seq['stopped_after']} of {seq['of']} units "
                        f"({seq['documents']} of {seq['documents_of']} documents read), "
                        f"{seq['verdict']}; the CI is the 95% confidence sequence's bounds")
    vac = r.details.get("vacuity")
    if r.vacuous and vac is not None:
        lines.insert(2, f"  vacuous: also holds for {vac['passed']} of {vac['k']} random units "
                        f"of the layer (pass rate shown to exceed {vac['limit']:.0%})")
    if r.details.get("random_percentile") is not None:
        p = r.details.get("random_p")
        lines.insert(2, f"  vs {r.details['random_k']} random units of layer: percentile "
                        f"{r.details['random_percentile']:.0f}"
                        + (f", p={p:.2g}" if p is not None else ""))
    # claim texts hold dataset and unit names: no control or bidi character reaches a terminal
    return visible("\n".join(lines))
