"""Claims about attention heads (seed 002): ablation and direct-effect removal.

Mixed into :class:`neurospec.claims.expect.UnitExpectation`; ``self`` has ``model``,
``unit``, ``sae``, ``ctx`` and the ``_record`` / ``_finish`` / ``_enough`` / ``_acts`` helpers.
"""

from __future__ import annotations

import numpy as np

from neurospec.claims.common import (
    ClaimResult, _bar, _corpus, _data, _head_charts, _threshold)
from neurospec.claims.rerun import unit_claim
from neurospec.claims.verdict import decide
from neurospec.data.corpus import Corpus
from neurospec.stats.inference import mean_ci


class HeadClaims:
    @unit_claim
    def ablation_raises_loss(self, on: Corpus | str, by_at_least: float, *, to: str = "zero",
                             over: Corpus | str | None = None) -> ClaimResult:
        """Claim that zero- or mean-ablating the head's output raises the mean loss on ``on``
        by ``by_at_least`` nats or more (per-document paired CI)."""
        __tracebackhide__ = True
        from neurospec.measure.heads import head_ablation
        from neurospec.units import head as as_head

        h = as_head(self.unit)
        threshold = _threshold("by_at_least", by_at_least)
        c = _corpus(on)
        ref = _corpus(over) if over is not None else None
        weak = self._enough(f"{h} ablated ({to}) raises loss on {c.name} by >= {threshold:g} "
                            f"nats", "head_ablation", {c.name: len(c)}, _data(c, ref))
        if weak:
            return self._finish(weak)
        eff = head_ablation(self.model, h, c, to, ref)
        est = mean_ci(eff.delta, seed=self.ctx.seed, threshold=threshold, ids=c.ids)
        verdict, missed = decide(est.ci, threshold, ">=")
        claim = f"{h} {eff.how} raises loss on {c.name} by >= {threshold:g} nats"
        return self._finish(self._record(
            claim=claim, kind="head_ablation", data=_data(c, ref), n=est.n, effect=est.estimate,
            ci=est.ci, p=est.p_value, threshold=threshold, direction=">=", metric="delta_loss",
            verdict=verdict, method=est.method, missed=missed,
            details={"units_label": "nats", "how": eff.how, "hook": f"blocks.{h.layer}.attn.hook_z"},
            charts=_head_charts(self.model, eff, est)))

    @unit_claim
    def direct_effect_favours_repeats(self, on: Corpus | str, by_at_least: float = 0.0, *,
                                      add_mean_over: Corpus | str | None = None) -> ClaimResult:
        """Claim that removing only the head's direct effect on the logits raises the loss on
        tokens that already appeared earlier in the document more than on new tokens, by
        ``by_at_least`` nats or more (per document: mean over repeated targets minus mean
        over new ones; documents with both kinds only)."""
        __tracebackhide__ = True
        from neurospec.measure.heads import head_direct_effect
        from neurospec.units import head as as_head

        h = as_head(self.unit)
        threshold = _threshold("by_at_least", by_at_least)
        c = _corpus(on)
        ref = _corpus(add_mean_over) if add_mean_over is not None else None
        eff = head_direct_effect(self.model, h, c, add_mean_over=ref)
        diffs = np.array([d[r].mean() - d[~r].mean() for d, r in
                          zip(eff.token_delta, eff.repeated) if r.any() and (~r).any()])
        claim = (f"{h} {eff.how}: loss rises more on repeated than on new tokens of {c.name} "
                 f"by >= {threshold:g} nats")
        if len(diffs) < self.ctx.min_docs:
            return self._finish(self._enough(claim, "head_direct_effect",
                                             {c.name: len(diffs)}, _data(c, ref)))
        est = mean_ci(diffs, seed=self.ctx.seed, threshold=threshold)
        verdict, missed = decide(est.ci, threshold, ">=")
        rep = np.array([d[r].mean() for d, r in zip(eff.token_delta, eff.repeated) if r.any()])
        new = np.array([d[~r].mean() for d, r in zip(eff.token_delta, eff.repeated) if (~r).any()])
        charts = _head_charts(self.model, eff, None)
        charts["bars"] = {"title": f"loss change when {h}'s direct effect is removed",
                          "unit": "nats", "items": [
                              {"set": "repeated tokens", **_bar(rep, self.ctx.seed)},
                              {"set": "new tokens", **_bar(new, self.ctx.seed)},
                              {"set": "difference", **_bar(diffs, self.ctx.seed)}]}
        return self._finish(self._record(
            claim=claim, kind="head_direct_effect", data=_data(c, ref), n=est.n,
            effect=est.estimate, ci=est.ci, p=est.p_value, threshold=threshold, direction=">=",
            metric="delta_loss_repeated_minus_new", verdict=verdict, method=est.method,
            missed=missed, details={"units_label": "nats", "how": eff.how,
                                    "mean_delta_all_tokens": float(eff.delta.mean())},
            charts=charts))
