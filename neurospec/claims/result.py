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
from neurospec.evidence.payloads import Details, MatchedNegative
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
        """Also require the unit to *stand out* from random units of its layer: the same
        claim is measured for ``k`` random units (same data, same way, the seeded draw
        ``against_random=k`` also uses) and the rank test ``p = (1 + #{random units at least
        as extreme}) / (k + 1)`` must be at most ``1 - percentile / 100``.

        This is a test of exchangeability ("is the unit's effect just one more draw of its
        layer's?"), exact for a unit that is; ``percentile`` sets its level.  It is *not* a
        test that the unit beats ``percentile`` % of its layer: a unit whose true effect beats
        97.25% of its layer passes ``k=39, percentile=97.5`` 26-37% of the time (measured,
        ``docs/calibration.md``).  To claim a share of the layer, use
        :meth:`beats_percentile_of_layer`.  It fails when fewer than ``k`` random units could
        be measured, or when ``k`` is too small for the level (99 needs k >= 99).  The record
        gets the unit's percentile among them (a description), p and the null distribution.
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
                   f"units of its layer: rank p = {p:.3g} > {alpha:.3g} (the level set by "
                   f"percentile={pct_needed:g})")
        if why:
            new = replace(new, verdict="fail", missed=why)
        new = replace(new, claim=f"{new.claim}; and stands out from {k} random units of its "
                                 f"layer (rank test, p <= {alpha:.3g})",
                      details={**new.details, "required_percentile": pct_needed})
        self.record = conclude_followup(new, self.record)
        return self

    def beats_percentile_of_layer(self, percentile: float = 95.0, k: int | None = None
                                  ) -> ClaimResult:
        """Also require the unit's true effect to exceed that of ``percentile`` % of its
        layer's units, a test of the stated percentile that accounts for the noise in every
        effect (:func:`~neurospec.stats.baselines.percentile_test`): ``k`` random units are
        measured as for :meth:`beats_random_units`; one counts as below the unit only when
        shown below it (z test at level 0.0125 / k on the two effects' standard errors, read
        off their 95% CIs), and the count of the others must be improbably small if the unit
        were at the percentile (binomial, level 0.0125).  ``k`` defaults to the fewest random
        units that can show the percentile (86 for 95, 174 for 97.5); a layer with fewer
        other units cannot show it (an error that says so).

        Example::

            expect(neuron("L0N125")).activates_more(on=de, than=en, by_at_least=1.0) \
                .beats_percentile_of_layer(95)
        """
        __tracebackhide__ = True
        from neurospec.claims.rerun import signed
        from neurospec.stats.baselines import min_units, percentile_test

        pct = checks.threshold("percentile", percentile)
        if not 0 < pct < 100:
            raise InvalidArgument(f"beats_percentile_of_layer(percentile={percentile!r}): a "
                                  f"percentile strictly between 0 and 100", value=percentile)
        if self._call is None or self._scope is None:
            raise InvalidArgument("beats_percentile_of_layer() applies to a claim about one unit "
                                  "(expect(unit)....)")
        need = min_units(pct, 0.025)
        k = need if k is None else checks.count("k", k, method="beats_percentile_of_layer")
        scope = self._scope
        new, runs = baseline(self.record, self._call, k, scope.seed, scope.model, scope.sae)

        def se(r: Record) -> float:
            return (r.ci[1] - r.ci[0]) / (2 * 1.959964)

        d = self.record.direction
        test = percentile_test(signed(d, self.record.effect), se(self.record),
                               [signed(d, r.effect) for _, r in runs], [se(r) for _, r in runs],
                               pct)
        why = ""
        if k < need:
            why = (f"percentile {pct:g} cannot be shown with {k} random units (even if all are "
                   f"shown below, the binomial p is above {test.level:g}); use k >= {need}")
        elif len(runs) < k:
            why = (f"only {len(runs)} of {k} random units of layer {self._call.owner.unit.layer}"
                   f" could be measured (the others errored or gave no finite effect)")
        elif not test.passed:
            why = (f"{test.not_below} of {k} random units are not shown below {new.unit}: "
                   f"binomial p = {test.p_value:.3g} > {test.level:g} for percentile {pct:g}")
        details: Details = {
            **new.details, "required_percentile": pct, "percentile_test": {
                "percentile": pct, "k": k, "not_shown_below": test.not_below,
                "p": test.p_value, "level": test.level, "min_k": need}}
        new = replace(new, details=details, claim=f"{new.claim}; and beats {pct:g}% of its "
                                                 f"layer (noise-aware percentile test)")
        if why:
            new = replace(new, verdict="fail", missed=why)
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
