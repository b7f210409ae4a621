"""Claims about transcoder features (``L0T12``: feature 12 of the transcoder of block 0): how a
feature fires (:func:`~neurospec.claims.activation_claims.activates_more`), and what ablating
it inside the transcoder replacement does to the loss, with the error term kept so that the
model is unchanged until the ablation (:mod:`neurospec.measure.transcoder`).

Example::

    expect("L0T12", transcoder="tiny-bilingual/L0").activates_more(
        on=corpus("german"), than=corpus("english"), auroc_at_least=0.9)
    (expect("L0T12", transcoder="tiny-bilingual/L0").ablated(to="zero")
        .raises_loss(on=corpus("german"), by_at_least=0.001, against_random=8))
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from neurospec.claims import activation_claims, checks, context
from neurospec.claims.ablation_base import AblatedUnit
from neurospec.claims.charts import null_chart, top_deltas
from neurospec.claims.expectation import Expectation, stating
from neurospec.claims.rerun import baseline_details, check_k, random_units, unit_claim
from neurospec.claims.verdict import decide
from neurospec.data.corpus import Corpus
from neurospec.data.near_duplicates import corpus_groups
from neurospec.errors import InvalidArgument
from neurospec.evidence.payloads import Bar, Charts, Details
from neurospec.evidence.record import Record
from neurospec.measure.activations import UnitActivations
from neurospec.stats.inference import mean_ci, percentile_among


class TranscoderExpectation(Expectation):
    """Claims about one transcoder feature (``expect("L0T12", transcoder=path)``)."""

    kind = "transcoder feature"

    def __init__(self, unit: Any, model: Any = None, sae: Any = None) -> None:
        from neurospec.measure.transcoder import check_transcoder, load_transcoder

        if sae is None:
            raise InvalidArgument(f"{unit} is a transcoder feature: pass transcoder=<path> (or "
                                  f"load_transcoder(path)) to expect(), e.g. "
                                  f"expect({str(unit)!r}, transcoder='tiny-bilingual/L0')",
                                  value=unit)
        tc = load_transcoder(sae, search=context.current().sae_dirs)
        self.loaded = tc  # a set: the blocks of later features drives() may name
        super().__init__(unit, model, tc)
        # the transcoder of the feature's block: random features are drawn from it
        self.scope = replace(self.scope, sae=check_transcoder(self.model, tc, self.unit))

    def _acts(self, corpus: Corpus) -> UnitActivations:
        from neurospec.measure.transcoder import transcoder_activations

        return transcoder_activations(self.model, self.sae, corpus, self.unit)

    activates_more = activation_claims.activates_more

    def for_unit(self, unit: Any) -> TranscoderExpectation:
        other = type(self)(unit, self.model, sae=self.loaded)
        other.scope = other.scope.for_rerun()
        return other

    @unit_claim
    def drives(self, target: Any, *, on: Corpus | str, by_at_least: float,
               transcoder: Any = None, against_random: int = 0,
               via: str | Sequence[str] = (), edges_at_least: Any = None) -> Record:
        """Claim that this feature drives the later feature ``target`` directly: the mean over
        the counted tokens of ``on`` of its direct linear effect on ``target``'s
        pre-activation (attention patterns, norm scales and the MLP outputs in between frozen;
        :mod:`neurospec.measure.transcoder_edges`) is at least ``by_at_least``.  The CI
        resamples documents (the tokens of one document are not independent).

        Args:
            transcoder: the transcoder of ``target``'s block, if the one given to ``expect``
                (a set, or a cross-layer transcoder) does not hold it.
            against_random: also measure this many random features of this feature's
                transcoder as sources (one backward pass for all) and record the percentile.

        The record also gives the total effect (``details["total_effect"]``): the change of
        ``target``'s pre-activation per token when this feature is zero-ablated in the
        replacement with nothing frozen (indirect paths included), for comparison.

        Paths (:mod:`neurospec.claims.transcoder_paths`): ``target`` may be a token's logit
        (``logit(" Berlin")``, from ``neurospec``), and ``via`` names features in between
        (``via="L1T7"``, or a list by block): the claim is then that each edge holds (its
        threshold in ``edges_at_least``, one per edge, each in its target's units) and that
        the path's own effect (this feature's direct effect on the first ``via`` feature,
        through its gate, times that feature's direct effect onward) reaches
        ``by_at_least``; ``against_random`` draws random sources for every edge and for the
        path.  A path decides no total effect.
        """
        __tracebackhide__ = True
        from neurospec.measure.transcoder import (
            check_transcoder,
            load_transcoder,
            make_replacement_ablation,
        )
        from neurospec.measure.transcoder_edges import direct_effects, total_effect
        from neurospec.units import TranscoderFeature, parse_unit

        threshold = checks.threshold("by_at_least", by_at_least)
        checks.count("against_random", against_random, minimum=0)
        mids = [via] if isinstance(via, str) else list(via)
        if mids or not isinstance(target, (str, TranscoderFeature)):
            from neurospec.claims.transcoder_paths import path_claim

            if edges_at_least is not None and not mids:
                raise InvalidArgument("edges_at_least is for a path: name the features in "
                                      "between with via=[...]", value=edges_at_least)
            return path_claim(self, target, mids, checks.as_corpus(on), threshold,
                              edges_at_least, transcoder, against_random)
        b = parse_unit(target)
        if not isinstance(b, TranscoderFeature):
            raise InvalidArgument(f"drives({target!r}): expected a transcoder feature of a later "
                                  f"block, e.g. 'L1T3'", value=target)
        dst = check_transcoder(self.model, load_transcoder(
            self.loaded if transcoder is None else transcoder,
            search=self.ctx.sae_dirs), b)
        c = checks.as_corpus(on)
        claim = (f"{self.unit} drives {b} directly: mean direct effect on its pre-activation "
                 f"per token of {c.name} >= {threshold:g}")
        data = checks.data_of(c)
        if weak := self.scope.underpowered(claim, "transcoder_edge", {c.name: len(c)}, data):
            return weak
        randoms = []
        if against_random and not self.scope.rerun:
            check_k(self.model, self.unit, against_random, self.sae, "against_random")
            randoms = random_units(self.model, self.unit, against_random, self.scope.seed,
                                   self.sae)
        sums, tokens = direct_effects(self.model, self.sae, [self.unit.index] +
                                      [u.index for u in randoms], dst, b.index, c)

        from neurospec.claims.transcoder_paths import decide_part

        part = decide_part(claim, sums[0], tokens, threshold, self.scope.seed)
        est, ci, verdict, missed = part.estimate, part.ci, part.verdict, part.missed
        details: Details = {"units_label": "(pre-activation)", "transcoder": self.sae.source,
                            "late_sae": dst.source}
        charts: Charts = {}
        percentile = None
        if randoms:
            effects = [float(x) for x in sums[1:].sum(1) / tokens.sum()]
            percentile = percentile_among(est, np.array(effects))
            details.update(baseline_details(est, effects, against_random, percentile))
            charts["null"] = null_chart(f"direct effect on {b} per token of {c.name}: "
                                        f"{self.unit} vs {len(effects)} random sources", est,
                                        effects, [u.name for u in randoms])
        if not self.scope.rerun:  # the edge card: how the effect spreads over documents
            charts["histogram"] = {
                "title": f"direct effect of {self.unit} on {b}: mean per token of each "
                         f"document of {c.name}",
                "sets": {c.name: [float(x) for x in sums[0] / np.maximum(tokens, 1)]},
                "unit": "pre-activation"}
            from neurospec.claims.charts import top_contexts
            from neurospec.measure.transcoder import transcoder_activations

            strips = [top_contexts(self.model, transcoder_activations(self.model, tc, c, u),
                                   f"{u} on {c.name}", 2) for u, tc in ((self.unit, self.sae),
                                                                        (b, dst))]
            charts["contexts"] = {"title": f"top activating contexts of {self.unit} (source) "
                                           f"and {b} (target)", "items": strips[0] + strips[1]}
            tsum, ttok = total_effect(self.model, make_replacement_ablation(
                self.model, self.sae, self.unit, "zero"), dst, b.index, c)
            details["total_effect"] = float(tsum.sum() / ttok.sum())
        return self.scope.record(
            claim=claim, kind="transcoder_edge", data=data, n=len(c), effect=est, ci=ci,
            p=part.p, threshold=threshold,
            direction=">=", metric="direct_effect", verdict=verdict, missed=missed,
            method="direct linear effect (attention patterns, norm scales and the MLP outputs "
                   "between frozen), summed over source positions, per target token; "
                   "studentized bootstrap over documents with Student floors", details=details,
            charts=charts, percentile=percentile)

    def ablated(self, to: str | float = "zero", over: Corpus | str | None = None
                ) -> TranscoderAblated:
        """Ablate the feature inside the transcoder replacement (error term kept):
        ``to='zero'``, ``'mean'`` (over a reference corpus) or a number; then state what that
        does (``raises_loss``, ``and_not_on``)."""
        ref = checks.maybe_corpus(over)
        return stating(TranscoderAblated(self, to, ref), AblatedUnit._said(to, ref), parent=self)


class TranscoderAblated(AblatedUnit):
    """Claims about ablating a transcoder feature inside the replacement."""

    def __init__(self, parent: Expectation, to: str | float, over: Corpus | None) -> None:
        from neurospec.measure.transcoder import make_replacement_ablation

        super().__init__(parent, to, over)
        self.ablation = make_replacement_ablation(self.model, parent.sae, parent.unit, to, over)
        self.bars: list[Bar] = []

    def _effects(self, corpus: Corpus, units: list[Any]) -> list[Any]:
        from neurospec.measure.transcoder import make_replacement_ablation, replacement_effects

        abls = [make_replacement_ablation(self.model, self.scope.sae, u, self.to, self.over)
                for u in units]
        return replacement_effects(self.model, abls, corpus)

    def _claim(self, corpus: Corpus, claim: str, threshold: float, direction: str,
               random_k: int = 0) -> Record:
        data = checks.data_of(corpus, self.over)
        if weak := self._too_few(corpus, "ablation_loss", claim):
            return weak
        eff = self._effects(corpus, [self.unit])[0]
        est = mean_ci(eff.delta, seed=self.scope.seed, threshold=threshold,
                      direction=direction, ids=corpus.ids, groups=corpus_groups(corpus))
        self.bars.append({"set": corpus.name, "mean": est.estimate, "ci": list(est.ci),
                          "n": est.n})
        verdict, missed = decide(est.ci, threshold, direction, est.undefined)
        data["truncated"] = [eff.truncated]
        tc = self.scope.sae
        details: Details = {
            "units_label": "nats", "ablation": self.ablation.describe(),
            "mode": self.ablation.mode, "value": self.ablation.value,
            "clean_loss": float(eff.clean.mean()), "ablated_loss": float(eff.ablated.mean()),
            "relative_change": float(eff.delta.mean() / eff.clean.mean()),
            "hook": tc.hook_in, "transcoder": tc.source, "targets": list(tc.targets)}
        charts: Charts = {
            "bars": {"title": f"loss change when {self.ablation.describe()}", "unit": "nats",
                     "items": [Bar(**b) for b in self.bars]},
            "token_deltas": {"title": f"documents of {corpus.name} whose loss rose most "
                                      f"(per-token loss change)",
                             "items": [] if self.scope.rerun else top_deltas(self.model, eff, 3)}}
        percentile = None
        if random_k and not self.scope.rerun:
            units = random_units(self.model, self.unit, random_k, self.scope.seed, tc)
            # as for neurons: a random feature whose effect is not finite is not counted (the
            # record then has fewer than requested, which the baseline's check reports)
            measured = [(u, float(e.delta.mean())) for u, e in
                        zip(units, self._effects(corpus, units)) if np.isfinite(e.delta.mean())]
            units, effects = [u for u, _ in measured], [x for _, x in measured]
            percentile = percentile_among(est.estimate, np.array(effects))
            details.update(baseline_details(est.estimate, effects, random_k, percentile))
            charts["null"] = null_chart(
                f"mean loss change on {corpus.name}: {self.unit} vs {len(effects)} random "
                f"features of the same transcoder", est.estimate, effects,
                [u.name for u in units])
        return self.scope.record(
            claim=claim, kind="ablation_loss", data=data, n=est.n, effect=est.estimate,
            ci=est.ci, p=est.p_value, threshold=threshold, direction=direction,
            metric="delta_loss", verdict=verdict, method=est.method + "; feature ablated in "
            "the transcoder replacement, error term kept", missed=missed, details=details,
            charts=charts, percentile=percentile)

    @unit_claim
    def raises_loss(self, on: Corpus | str, by_at_least: float, *,
                    against_random: int = 0) -> Record:
        """Claim the ablation raises the mean next-token loss on ``on`` by ``by_at_least``
        nats or more (the CI's lower bound must reach it).

        Args:
            against_random: also ablate this many random features of the same transcoder
                the same way and record the feature's percentile among them.
        """
        __tracebackhide__ = True
        threshold = checks.threshold("by_at_least", by_at_least)
        checks.count("against_random", against_random, minimum=0)
        if against_random:
            check_k(self.model, self.unit, against_random, self.scope.sae, "against_random")
        corpus = checks.as_corpus(on)
        claim = f"{self.ablation.describe()} raises loss on {corpus.name} by >= {threshold:g} nats"
        return self._claim(corpus, claim, threshold, ">=", against_random)

    @unit_claim
    def and_not_on(self, corpus: Corpus | str, tolerance: float) -> Record:
        """Claim the ablation changes the loss on ``corpus`` by less than ``tolerance`` nats
        either way (the whole CI inside ±tolerance)."""
        __tracebackhide__ = True
        tol = checks.threshold("tolerance", tolerance)
        c = checks.as_corpus(corpus)
        claim = f"{self.ablation.describe()} changes loss on {c.name} by less than ±{tol:g} nats"
        return self._claim(c, claim, tol, "within")

