"""Claims about an MLP layer as a whole (how concentrated an effect is)."""

from __future__ import annotations

from typing import Any

from neurospec.claims import context
from neurospec.claims.common import (
    ClaimResult, _corpus, _data, _share, _sweep, _sweep_charts, _sweep_details, _underpowered)
from neurospec.claims.verdict import decide, failure_message
from neurospec.data.corpus import Corpus
from neurospec.errors import ClaimFailed, InvalidArgument, Underpowered
from neurospec.evidence.record import Record
from neurospec.evidence.sink import emit
from neurospec.units import Neuron, check_unit


class LayerExpectation:
    """Claims about an MLP layer as a whole."""

    def __init__(self, layer: int, model: Any = None) -> None:
        self.model = context.model_or_current(model)
        if isinstance(layer, bool) or not isinstance(layer, int):
            raise InvalidArgument(f"expect_layer({layer!r}): expected a layer index", value=layer)
        check_unit(Neuron(layer, 0), self.model)
        self.layer = layer
        self.ctx = context.current()

    def top_neurons_carry(self, k: int, share_at_least: float, *, on: Corpus | str,
                          to: str = "mean", over: Corpus | str | None = None,
                          method: str = "auto") -> ClaimResult:
        """Claim that the ``k`` neurons whose single ablation raises the loss on ``on`` most
        carry at least ``share_at_least`` of the summed absolute single-neuron effects of the
        layer.  The CI is a bootstrap over documents that re-selects the top k each time."""
        __tracebackhide__ = True
        from neurospec.stats.resample import bootstrap_rows, top_k_share

        share = _share("share_at_least", share_at_least)
        if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= self.model.d_mlp:
            raise InvalidArgument(f"top_neurons_carry(k={k!r}): expected 1..{self.model.d_mlp}",
                                  value=k)
        corpus = _corpus(on)
        ref = _corpus(over) if over is not None else None
        weak = _underpowered(f"the top {k} neurons of MLP{self.layer} carry >= {share:.0%} of "
                             f"the layer's effect on {corpus.name} loss", "neuron_sweep",
                             f"L{self.layer}", self.model, self.ctx, {corpus.name: len(corpus)},
                             _data(corpus, ref))
        if weak:
            emit(weak)
            raise Underpowered(failure_message(weak), weak)
        sweep = _sweep(self.model, corpus, self.layer, to, ref, method)
        est, ci, boot = bootstrap_rows(sweep.delta, top_k_share(k), seed=self.ctx.seed)
        verdict, missed = decide(ci, share, ">=")
        how = "zero" if to == "zero" else f"mean over {ref.name if ref else '?'}"
        claim = (f"the top {k} neurons of MLP{self.layer} ({how} ablation, one at a time) carry "
                 f">= {share:.0%} of the layer's effect on {corpus.name} loss")
        record = Record(
            claim=claim, kind="neuron_sweep", unit=f"L{self.layer}", model=self.model.info(),
            data=_data(corpus, ref), n=len(corpus), effect=est, ci=ci,
            p=float((1 + (boot < share).sum()) / (1 + len(boot))), threshold=share,
            direction=">=", metric="top_k_share", verdict=verdict,
            method=f"sweep ({sweep.method}); bootstrap percentile CI", missed=missed,
            details={"units_label": "(share)", "top": [f"L{self.layer}N{i}" for i in
                                                      sweep.ranking()[:k]],
                     **_sweep_details(sweep)},
            charts=_sweep_charts(sweep, self.ctx.seed), seed=self.ctx.seed, test=self.ctx.test)
        emit(record)
        if not record.passed:
            raise ClaimFailed(failure_message(record), record)
        return ClaimResult(record)
