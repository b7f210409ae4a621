"""Claims about ablating a unit read as one coordinate of a hook (a neuron, a residual
direction, any registered kind with ``ablation="column"``): the loss change on a corpus,
the off-target change, and which components the effect runs through (path patching).

The ablation replaces the unit's coordinate at every counted position by zero, its mean over
a reference corpus, values resampled from it, or a number
(:func:`neurospec.measure.ablation.make_ablation`).
"""

from __future__ import annotations

import numpy as np

from neurospec.claims import checks
from neurospec.claims.ablation_base import AblatedUnit
from neurospec.claims.charts import null_chart, top_deltas
from neurospec.claims.expectation import Expectation
from neurospec.claims.path_claims import PathClaims
from neurospec.claims.rerun import (
    Call,
    baseline_details,
    call_corpus,
    check_k,
    random_units,
    unit_claim,
)
from neurospec.claims.sequential import is_on as sequential_on
from neurospec.claims.sequential_claims import loss_change, sequential_record
from neurospec.claims.verdict import decide
from neurospec.data.corpus import Corpus
from neurospec.data.near_duplicates import corpus_groups
from neurospec.errors import NeurospecError
from neurospec.evidence.payloads import Bar, Charts, Details
from neurospec.evidence.record import Record
from neurospec.measure.ablation import (
    AblationEffect,
    ablation_effect,
    ablation_effects,
    make_ablation,
)
from neurospec.measure.activations import prefetch_unit_columns
from neurospec.stats.inference import Estimate, mean_ci, percentile_among
from neurospec.units import HookedUnit, Unit


def hooked(unit: Unit) -> HookedUnit:
    """``unit`` as a unit read at a hook (every kind whose ablation is ``"column"``)."""
    if not isinstance(unit, HookedUnit):
        raise TypeError(f"{unit} is not read at a hook: its kind cannot be ablated as a column")
    return unit


class ColumnAblated(AblatedUnit, PathClaims):
    """Claims about what ablating a unit's coordinate of its hook does."""

    def __init__(self, parent: Expectation, to: str | float, over: Corpus | None) -> None:
        super().__init__(parent, to, over)
        self.ablation = make_ablation(self.model, hooked(parent.unit), to, over,
                                      seed=parent.ctx.seed)
        self.bars: list[Bar] = []

    def _effect(self, corpus: Corpus) -> AblationEffect:
        """The ablation's effect on ``corpus`` (a kind may read it from a shared
        measurement: neurons' reruns read their row of a stacked replay)."""
        return ablation_effect(self.model, self.ablation, corpus)

    def _random_effects(self, corpus: Corpus, units: list[Unit]) -> list[float]:
        """Mean loss change on ``corpus`` when each of ``units`` is ablated the same way
        (one pass per unit, all in one call: a remote model sends them as one request, after
        one request for their values on the reference corpus; neurons stack them in one
        replay where the model is here)."""
        return [float(e.delta.mean()) for e in self._effects_of(corpus, units)]

    def _effects_of(self, corpus: Corpus, units: list[Unit]) -> list[AblationEffect]:
        if self.over is not None and self.ablation.mode in ("mean", "resample"):
            prefetch_unit_columns(self.model, [self.over], [hooked(u) for u in units])
        abls = [make_ablation(self.model, hooked(u), self.to, self.over, seed=self.scope.seed)
                for u in units]
        return ablation_effects(self.model, abls, corpus)

    def prefetch(self, call: Call, units: list[Unit]) -> None:
        """Before reruns of ``call`` on ``units`` (random-unit baselines, the vacuity check)
        on a model that reads narrowly (a remote one): all of them in one request."""
        if not self.model.narrow_reads or call.fn.__name__ not in ("raises_loss", "and_not_on"):
            return
        target = call_corpus(call)
        try:
            corpus = checks.as_corpus(target)
            if self._too_few(corpus, "ablation_loss", "") is None:
                self._effects_of(corpus, units)
        except NeurospecError:
            return  # each rerun then ends in its own error record

    def _measure(self, corpus: Corpus, threshold: float, direction: str
                 ) -> tuple[AblationEffect, Estimate]:
        eff = self._effect(corpus)
        est = mean_ci(eff.delta, seed=self.scope.seed, threshold=threshold,
                      direction=direction, ids=corpus.ids, groups=corpus_groups(corpus))
        self.bars.append({"set": corpus.name, "mean": est.estimate, "ci": list(est.ci),
                          "n": est.n})
        return eff, est

    def _claim(self, corpus: Corpus, kind: str, claim: str, threshold: float, direction: str,
               random_k: int = 0, sequential: bool = False) -> Record:
        data = checks.data_of(corpus, self.over)
        weak = self.scope.underpowered(claim, kind, {corpus.name: len(corpus)}, data)
        if weak:
            return weak
        if sequential:
            out, eff = loss_change(self, corpus, threshold, direction)
            k = out.result.last
            est = Estimate(k.estimate, (k.lo, k.hi), out.p, k.n, out.result.method)
            self.bars.append({"set": corpus.name, "mean": k.estimate, "ci": [k.lo, k.hi],
                              "n": k.n})
        else:
            eff, est = self._measure(corpus, threshold, direction)
        verdict, missed = decide(est.ci, threshold, direction, est.undefined)
        data["truncated"] = [eff.truncated]
        details: Details = {
            "units_label": "nats", "ablation": self.ablation.describe(),
            "mode": self.ablation.mode, "value": self.ablation.value,
            "clean_loss": float(eff.clean.mean()), "ablated_loss": float(eff.ablated.mean()),
            "relative_change": float(eff.delta.mean() / eff.clean.mean()),
            "hook": self.unit.hook,
        }
        charts: Charts = {
            "bars": {"title": f"loss change when {self.ablation.describe()}", "unit": "nats",
                     "items": [Bar(**b) for b in self.bars]},
            "token_deltas": {"title": f"documents of {corpus.name} whose loss rose most "
                                      f"(per-token loss change)",
                             "items": [] if self.scope.rerun else top_deltas(self.model, eff, 3)}}
        percentile = None
        if random_k and not self.scope.rerun:
            units = random_units(self.model, self.unit, random_k, self.scope.seed)
            measured = [(u, x) for u, x in zip(units, self._random_effects(corpus, units))
                        if np.isfinite(x)]
            units, effects = [u for u, _ in measured], [x for _, x in measured]
            percentile = percentile_among(est.estimate, np.array(effects))
            details.update(baseline_details(est.estimate, effects, random_k, percentile))
            charts["null"] = null_chart(
                f"mean loss change on {corpus.name}: {self.unit} vs {len(effects)} random "
                f"{self.unit.kind.name}s of layer {self.unit.layer}", est.estimate, effects,
                [u.name for u in units])
        if sequential:
            return sequential_record(self, out, claim=claim, kind=kind, data=data,
                                     metric="delta_loss", what="mean loss change (nats)",
                                     details=details, charts=charts, direction=direction)
        return self.scope.record(
            claim=claim, kind=kind, data=data, n=est.n, effect=est.estimate, ci=est.ci,
            p=est.p_value, threshold=threshold, direction=direction, metric="delta_loss",
            verdict=verdict, method=est.method, missed=missed, details=details, charts=charts,
            percentile=percentile)

    @unit_claim
    def raises_loss(self, on: Corpus | str, by_at_least: float, *,
                    against_random: int = 0, sequential: bool | None = None) -> Record:
        """Claim the ablation raises the mean next-token loss on ``on`` by ``by_at_least``
        nats or more (the CI's lower bound must reach it).

        Args:
            against_random: also ablate this many random units of the same layer the same
                way and record the unit's percentile among them (shown in the report).
            sequential: read ``on`` in batches and stop once a confidence sequence of the
                mean change decides (default: the run's ``--neurospec-sequential``); a claim
                with ``against_random`` stays fixed-n (units ranked on the same documents).
        """
        __tracebackhide__ = True
        threshold = checks.threshold("by_at_least", by_at_least)
        checks.count("against_random", against_random, minimum=0)
        if against_random:
            check_k(self.model, self.unit, against_random, what="against_random")
        corpus = checks.as_corpus(on)
        claim = f"{self.ablation.describe()} raises loss on {corpus.name} by >= {threshold:g} nats"
        seq = sequential_on(self.scope, sequential) and not against_random
        return self._claim(corpus, "ablation_loss", claim, threshold, ">=", against_random, seq)

    @unit_claim
    def and_not_on(self, corpus: Corpus | str, tolerance: float) -> Record:
        """Claim the ablation changes the loss on ``corpus`` by less than ``tolerance`` nats
        either way (off-target damage): the whole CI must lie inside ±tolerance."""
        __tracebackhide__ = True
        tol = checks.threshold("tolerance", tolerance)
        c = checks.as_corpus(corpus)
        claim = f"{self.ablation.describe()} changes loss on {c.name} by less than ±{tol:g} nats"
        return self._claim(c, "ablation_loss", claim, tol, "within")
