"""Claims about an MLP layer as a whole (how concentrated an effect is)."""

from __future__ import annotations

from typing import Any

from neurospec.claims import checks, context
from neurospec.claims.charts import sweep_charts, sweep_details
from neurospec.claims.conclude import Scope, conclude
from neurospec.claims.expectation import Stated
from neurospec.claims.result import ClaimResult
from neurospec.claims.verdict import decide
from neurospec.data.corpus import Corpus
from neurospec.errors import InvalidArgument
from neurospec.measure import shared
from neurospec.units import Neuron, check_unit


class LayerExpectation(Stated):
    """Claims about an MLP layer as a whole."""

    def __init__(self, layer: int, model: Any = None) -> None:
        self.model = context.model_or_current(model)
        if isinstance(layer, bool) or not isinstance(layer, int):
            raise InvalidArgument(f"expect_layer({layer!r}): expected a layer index", value=layer)
        check_unit(Neuron(layer, 0), self.model)
        self.layer = layer
        self.ctx = context.current()
        self.scope = Scope(f"L{layer}", self.model, self.ctx)

    def top_neurons_carry(self, k: int, share_at_least: float, *, on: Corpus | str,
                          to: str = "mean", over: Corpus | str | None = None,
                          method: str = "auto") -> ClaimResult:
        """Claim that the ``k`` neurons whose single ablation raises the loss on ``on`` most
        carry at least ``share_at_least`` of the summed absolute single-neuron effects of the
        layer.  Cross-fitted against the winner's curse: the top k are chosen on one seeded
        half of the documents and measured on the other, both ways, averaged; the CI
        resamples each half's documents and re-selects every time."""
        __tracebackhide__ = True
        from neurospec.stats.crossfit import cross_fit_top_k_share

        share = checks.share("share_at_least", share_at_least)
        checks.count("k", k, maximum=self.model.d_mlp, method="top_neurons_carry")
        corpus = checks.as_corpus(on)
        ref = checks.maybe_corpus(over)
        weak = self.scope.underpowered(f"the top {k} neurons of MLP{self.layer} carry >= "
                                     f"{share:.0%} of the layer's effect on {corpus.name} loss",
                                     "neuron_sweep", {corpus.name: len(corpus)},
                                     checks.data_of(corpus, ref))
        if weak:
            return conclude(self.scope, weak)
        sweep = shared.sweep(self.model, corpus, self.layer, to, ref, method)
        est, ci, boot = cross_fit_top_k_share(sweep.delta, k, seed=self.ctx.seed)
        verdict, missed = decide(ci, share, ">=")
        how = "zero" if to == "zero" else f"mean over {ref.name if ref else '?'}"
        claim = (f"the top {k} neurons of MLP{self.layer} ({how} ablation, one at a time) carry "
                 f">= {share:.0%} of the layer's effect on {corpus.name} loss")
        record = self.scope.record(
            claim=claim, kind="neuron_sweep", data=checks.data_of(corpus, ref), n=len(corpus),
            effect=est, ci=ci,
            p=float((1 + (boot < share).sum()) / (1 + len(boot))), threshold=share,
            direction=">=", metric="top_k_share", verdict=verdict,
            method=f"sweep ({sweep.method}); top k selected on one half of the documents, "
                   f"measured on the other (both ways); bootstrap percentile CI (re-selecting "
                   f"in every resample), widened to hold the estimate",
            missed=missed,
            details={"units_label": "(share)", "top": [f"L{self.layer}N{i}" for i in
                                                      sweep.ranking()[:k]],
                     **sweep_details(sweep)},
            charts=sweep_charts(sweep, self.ctx.seed))
        return conclude(self.scope, record)
