"""What a passing claim returns: its record, and the follow-ups that tighten it (a random-unit
baseline, a matched negative control)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from neurospec.claims import checks
from neurospec.claims.finish import end
from neurospec.claims.rerun import Call, baseline
from neurospec.errors import InvalidArgument
from neurospec.evidence.record import Record


class ClaimResult:
    """A passing claim's record (``result.effect``, ``result.ci`` ... read through to it).

    In Jupyter it shows as the report's evidence card (see :mod:`neurospec.report.notebook`).
    """

    def __init__(self, record: Record, call: Call | None = None, runner: Any = None) -> None:
        self.record = record
        self._call = call
        self._runner = runner

    def but_not_when(self, **changes: Any) -> "ClaimResult":
        """A matched negative control: the same claim with the arguments in ``changes``
        replaced (e.g. ``on=`` a matched control set) must *not* hold.  It fails when the
        control passes too: then the claim's evidence does not depend on what it names.

        Example::

            expect(neuron("L0N230")).activates_more(
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
        info = {"claim": control.claim, "effect": control.effect, "ci": list(control.ci),
                "verdict": control.verdict}
        new = replace(self.record, claim=f"{self.record.claim}; but not: {control.claim}",
                      details={**self.record.details, "matched_negative": info})
        if control.passed:
            new = replace(new, verdict="fail", missed=(
                f"the matched negative holds too ({control.claim}: CI [{control.ci[0]:.4g}, "
                f"{control.ci[1]:.4g}]), so the claim does not single out its condition"))
        self.record = end(new, replaces=self.record)
        return self

    def beats_random_units(self, k: int = 20, percentile: float = 95.0) -> "ClaimResult":
        """Also require the unit to beat random units of its layer: the same claim is measured
        for ``k`` random units (same data, same way) and the unit's effect must lie at or
        above ``percentile`` among theirs (in the claim's direction).  The record gets the
        percentile and the null distribution (shown in the report with the unit marked)."""
        __tracebackhide__ = True
        checks.count("k", k, method="beats_random_units")
        pct_needed = checks.threshold("percentile", percentile)
        if pct_needed > 100:
            raise InvalidArgument(f"beats_random_units(percentile={percentile!r}): a percentile "
                                  f"is 0..100", value=percentile)
        if self._call is None:
            raise InvalidArgument("beats_random_units() applies to a claim about one unit "
                                  "(expect(unit)....)")
        run = self._runner
        new, runs = baseline(self.record, self._call, k, run.seed, run.model, run.sae)
        if new.percentile < pct_needed:
            new = replace(new, verdict="fail", missed=(
                f"{new.unit} is at percentile {new.percentile:.0f} among {len(runs)} random "
                f"units of its layer, below the required {pct_needed:g}"))
        new = replace(new, claim=f"{new.claim}; and beats >= {pct_needed:g}% of {len(runs)} "
                                 f"random units")
        self.record = end(new, replaces=self.record)
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
