"""What a passing claim returns: its record, and the follow-ups that tighten it (a random-unit
baseline, a matched negative control)."""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

from neurospec.claims import checks
from neurospec.claims.rerun import Call, baseline
from neurospec.claims.scope import Scope, conclude_followup
from neurospec.errors import InvalidArgument, Underpowered
from neurospec.evidence.payloads import MatchedNegative
from neurospec.evidence.record import Record


class ClaimResult:
    """A passing claim's record (``result.effect``, ``result.ci`` ... read through to it).

    In Jupyter it shows as the report's evidence card (see :mod:`neurospec.report.notebook`).
    """

    def __init__(self, record: Record, call: Call | None = None, scope: Scope | None = None
                 ) -> None:
        self.record = record
        self._call = call
        self._scope = scope

    def but_not_when(self, **changes: Any) -> ClaimResult:
        """A matched negative control: the same claim with the arguments in ``changes``
        replaced (e.g. ``on=`` a matched control set) must be *shown not* to hold: its CI
        must lie entirely on the failing side of the threshold.  A control that passes, or
        whose CI reaches the threshold (not shown either way), fails the claim; a control
        with too few documents is an error (:class:`~neurospec.errors.Underpowered`).

        Example::

            expect(neuron("L0N125")).activates_more(
                on=corpus("german"), than=corpus("english"), by_at_least=0.5
            ).but_not_when(on=corpus("english").subset(200),
                           than=corpus("english").subset(200, start=200))
        """
        __tracebackhide__ = True
        if self._call is None or not changes:
            raise InvalidArgument("but_not_when(**changes) follows a claim about one unit and "
                                  "names the arguments to change, e.g. on=corpus('control')")
        call = self._call
        unknown = sorted(set(changes) - set(call.parameters()))
        if unknown:
            raise InvalidArgument(f"but_not_when(): {call.fn.__name__}() has no argument "
                                  f"{', '.join(unknown)}", value=unknown)
        control = call.changed(**changes).record_for(call.owner.unit)
        if control is None:
            raise InvalidArgument("the matched negative could not be measured (an argument "
                                  "error): check the changed arguments", value=changes)
        if control.verdict == "underpowered":
            raise Underpowered(f"the matched negative of {self.record.claim!r} cannot be shown "
                               f"not to hold: {control.missed}", control)
        info: MatchedNegative = {
            "claim": control.claim, "effect": control.effect, "ci": list(control.ci),
            "verdict": control.verdict, "shown_not_to_hold": _fails_clearly(control)}
        details = self.record.details.copy()
        details["matched_negative"] = info
        new = replace(self.record, claim=f"{self.record.claim}; but not: {control.claim}",
                      details=details)
        ci = f"CI [{control.ci[0]:.4g}, {control.ci[1]:.4g}]"
        if control.passed:
            new = replace(new, verdict="fail", missed=(
                f"the matched negative holds too ({control.claim}: {ci}), so the claim does "
                f"not single out its condition"))
        elif not info["shown_not_to_hold"]:
            new = replace(new, verdict="fail", missed=(
                f"the matched negative was not shown not to hold ({control.claim}: {ci} "
                f"reaches the threshold {control.threshold:g}); use more control documents"))
        self.record = conclude_followup(new, self.record)
        return self

    def beats_random_units(self, k: int = 20, percentile: float = 95.0) -> ClaimResult:
        """Also require the unit to beat random units of its layer: the same claim is measured
        for ``k`` random units (same data, same way, the seeded draw ``against_random=k`` also
        uses) and the unit must lie above ``percentile`` % of them in the claim's direction.

        The test: ``p = (1 + #{random units at least as extreme}) / (k + 1)`` must be at most
        ``1 - percentile / 100``.  It fails when fewer than ``k`` random units could be
        measured, or when ``k`` is too small for the percentile (99 needs k >= 99).  The
        record gets the percentile, p and the null distribution (drawn with the unit marked).
        """
        __tracebackhide__ = True
        checks.count("k", k, method="beats_random_units")
        pct_needed = checks.threshold("percentile", percentile)
        if pct_needed > 100:
            raise InvalidArgument(f"beats_random_units(percentile={percentile!r}): a percentile "
                                  f"is 0..100", value=percentile)
        if self._call is None or self._scope is None:
            raise InvalidArgument("beats_random_units() applies to a claim about one unit "
                                  "(expect(unit)....)")
        scope = self._scope
        new, runs = baseline(self.record, self._call, k, scope.seed, scope.model, scope.sae)
        alpha = 1 - pct_needed / 100
        p = new.details["random_p"]
        why = ""
        if len(runs) < k:
            why = (f"only {len(runs)} of {k} random units of layer {self._call.owner.unit.layer} "
                   f"could be measured (the others errored or gave no finite effect)")
        elif 1 / (k + 1) > alpha + 1e-12:
            need = math.ceil(1 / alpha - 1) if alpha > 0 else "infinitely many"
            why = (f"percentile {pct_needed:g} cannot be shown with {k} random units (the "
                   f"smallest p is 1/(k+1) = {1 / (k + 1):.3g} > {alpha:.3g}); use k >= {need}")
        elif p > alpha + 1e-12:
            why = (f"{new.unit} is at percentile {new.percentile:.0f} among {len(runs)} random "
                   f"units of its layer: p = {p:.3g} > {alpha:.3g} (required percentile "
                   f"{pct_needed:g})")
        if why:
            new = replace(new, verdict="fail", missed=why)
        new = replace(new, claim=f"{new.claim}; and beats >= {pct_needed:g}% of {k} "
                                 f"random units",
                      details={**new.details, "required_percentile": pct_needed})
        self.record = conclude_followup(new, self.record)
        return self

    @property
    def passed(self) -> bool:
        return self.record.passed

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.record, name)

    def __repr__(self) -> str:
        r = self.record
        return (f"<{r.verdict}: {r.claim} | effect {r.effect:.4g}, CI [{r.ci[0]:.4g}, "
                f"{r.ci[1]:.4g}], n={r.n}>")


def _fails_clearly(r: Record) -> bool:
    """Whether ``r``'s whole CI lies on the failing side of its threshold."""
    lo, hi = r.ci
    t = r.threshold
    if not (math.isfinite(lo) and math.isfinite(hi) and math.isfinite(t)):
        return False
    if r.direction == ">=":
        return hi < t
    if r.direction == "<=":
        return lo > t
    return lo > t or hi < -t  # "within": the change lies outside the tolerance
