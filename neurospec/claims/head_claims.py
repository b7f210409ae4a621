"""Claims about attention heads (seed 002): ablation and direct-effect removal.

The grammar is the neurons': ``expect(head("L1H3")).ablated(to="zero").raises_loss(on=...,
by_at_least=...)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from neurospec.claims import checks
from neurospec.claims.ablation_base import AblatedUnit
from neurospec.claims.charts import attention, bar, top_deltas
from neurospec.claims.expectation import Expectation, stating
from neurospec.claims.rerun import unit_claim
from neurospec.claims.verdict import decide
from neurospec.data.corpus import Corpus
from neurospec.data.near_duplicates import corpus_groups
from neurospec.evidence.payloads import Charts
from neurospec.evidence.record import Record
from neurospec.models.protocol import ModelBackend
from neurospec.stats.inference import mean_ci


def _head_charts(model: ModelBackend, eff: Any, rerun: bool) -> Charts:
    """The documents whose loss rose most, and the head's attention on the first of them
    (none in a rerun for another unit, which keeps only the numbers)."""
    from neurospec.data.tokens import tokenize
    from neurospec.measure.heads import attention_pattern

    if rerun:
        return {}
    top = int(np.argmax(eff.delta))
    toks = tokenize(model, eff.corpus).docs[top][:24]
    return {"token_deltas": {"title": f"documents whose loss rose most ({eff.how}; per-token "
                                      f"loss change)", "items": top_deltas(model, eff, 3)},
            "attention": attention(eff.head, eff.corpus.ids[top], model.str_tokens(toks.tolist()),
                                   attention_pattern(model, eff.head, toks))}


class HeadAblated(AblatedUnit):
    """Claims about what zero- or mean-ablating a head's output (``hook_z``) does."""

    @unit_claim
    def raises_loss(self, on: Corpus | str, by_at_least: float) -> Record:
        """Claim that ablating the head raises the mean loss on ``on`` by ``by_at_least``
        nats or more (per-document paired CI)."""
        __tracebackhide__ = True
        threshold = checks.threshold("by_at_least", by_at_least)
        return self._claim(checks.as_corpus(on), f"raises loss on {{}} by >= {threshold:g} nats",
                           threshold, ">=")

    @unit_claim
    def and_not_on(self, corpus: Corpus | str, tolerance: float) -> Record:
        """Claim the ablation changes the loss on ``corpus`` by less than ``tolerance`` nats
        either way: the whole CI must lie inside ±tolerance."""
        __tracebackhide__ = True
        tol = checks.threshold("tolerance", tolerance)
        return self._claim(checks.as_corpus(corpus), f"changes loss on {{}} by less than "
                           f"±{tol:g} nats", tol, "within")

    def _claim(self, c: Corpus, says: str, threshold: float, direction: str) -> Record:
        from neurospec.measure.heads import head_ablation

        h = self.unit
        weak = self.scope.underpowered(f"{h} ablated ({self.to}) {says.format(c.name)}",
                                     "head_ablation", {c.name: len(c)},
                                     checks.data_of(c, self.over))
        if weak:
            return weak
        eff = head_ablation(self.model, h, c, self.to, self.over)
        est = mean_ci(eff.delta, seed=self.scope.seed, threshold=threshold, direction=direction,
                      ids=c.ids, groups=corpus_groups(c))
        verdict, missed = decide(est.ci, threshold, direction, est.undefined)
        charts = _head_charts(self.model, eff, self.scope.rerun)
        charts["bars"] = {"title": f"loss change when {h} is {eff.how}", "unit": "nats",
                          "items": [{"set": c.name, "mean": est.estimate, "ci": list(est.ci),
                                     "n": est.n}]}
        return self.scope.record(
            claim=f"{h} {eff.how} {says.format(c.name)}", kind="head_ablation",
            data=checks.data_of(c, self.over), n=est.n, effect=est.estimate, ci=est.ci,
            p=est.p_value, threshold=threshold, direction=direction, metric="delta_loss",
            verdict=verdict, method=est.method, missed=missed,
            details={"units_label": "nats", "how": eff.how,
                     "hook": f"blocks.{h.layer}.attn.hook_z"},
            charts=charts)


class HeadExpectation(Expectation):
    """Claims about one attention head."""

    kind = "head"

    def ablated(self, to: str = "zero", over: Corpus | str | None = None) -> HeadAblated:
        """Zero-ablate the head's output (``to='zero'``) or replace it by its mean over
        ``over`` (``to='mean'``); then state what that does with :class:`HeadAblated`."""
        over = checks.maybe_corpus(over)
        return stating(HeadAblated(self, to, over), HeadAblated._said(to, over), parent=self)

    def ablation_raises_loss(self, on: Corpus | str, by_at_least: float, *, to: str = "zero",
                             over: Corpus | str | None = None) -> Any:
        """``ablated(to, over).raises_loss(on, by_at_least)`` in one call (the form the
        planted model's manifest stores); returns the claim's result."""
        __tracebackhide__ = True
        return self.ablated(to, over).raises_loss(on, by_at_least).results[-1]

    @unit_claim
    def direct_effect_favours_repeats(self, on: Corpus | str, by_at_least: float = 0.0, *,
                                      add_mean_over: Corpus | str | None = None) -> Record:
        """Claim that removing only the head's direct effect on the logits raises the loss on
        tokens that already appeared earlier in the document more than on new tokens, by
        ``by_at_least`` nats or more (per document: mean over repeated targets minus mean
        over new ones; documents with both kinds only)."""
        __tracebackhide__ = True
        from neurospec.measure.heads import head_direct_effect

        h = self.unit
        threshold = checks.threshold("by_at_least", by_at_least)
        c = checks.as_corpus(on)
        ref = checks.maybe_corpus(add_mean_over)
        eff = head_direct_effect(self.model, h, c, add_mean_over=ref)
        diffs = np.array([d[r].mean() - d[~r].mean() for d, r in
                          zip(eff.token_delta, eff.repeated) if r.any() and (~r).any()])
        claim = (f"{h} {eff.how}: loss rises more on repeated than on new tokens of {c.name} "
                 f"by >= {threshold:g} nats")
        weak = self.scope.underpowered(claim, "head_direct_effect", {c.name: len(diffs)},
                                     checks.data_of(c, ref))
        if weak:
            return weak
        est = mean_ci(diffs, seed=self.ctx.seed, threshold=threshold)
        verdict, missed = decide(est.ci, threshold, ">=", est.undefined)
        rep = np.array([d[r].mean() for d, r in zip(eff.token_delta, eff.repeated) if r.any()])
        new = np.array([d[~r].mean() for d, r in zip(eff.token_delta, eff.repeated) if (~r).any()])
        charts = _head_charts(self.model, eff, self.scope.rerun)
        charts["bars"] = {"title": f"loss change when {h}'s direct effect is removed",
                          "unit": "nats", "items": [
                              bar("repeated tokens", rep, self.ctx.seed),
                              bar("new tokens", new, self.ctx.seed),
                              bar("difference", diffs, self.ctx.seed)]}
        return self.scope.record(
            claim=claim, kind="head_direct_effect", data=checks.data_of(c, ref), n=est.n,
            effect=est.estimate, ci=est.ci, p=est.p_value, threshold=threshold, direction=">=",
            metric="delta_loss_repeated_minus_new", verdict=verdict, method=est.method,
            missed=missed, details={"units_label": "nats", "how": eff.how,
                                    "mean_delta_all_tokens": float(eff.delta.mean())},
            charts=charts)
