"""Claims about ablating an MLP neuron that only neurons have: the tokens it boosts and
deboosts, and its rank in a per-neuron sweep of its layer; and the neuron's fast paths for
random-unit baselines (all random neurons in one stacked replay)."""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np

from neurospec.claims import checks
from neurospec.claims.charts import mechanism, sweep_charts, sweep_details
from neurospec.claims.column_ablation import ColumnAblated
from neurospec.claims.rerun import Call, unit_claim
from neurospec.claims.verdict import decide
from neurospec.data.corpus import Corpus
from neurospec.errors import InvalidArgument, NeurospecError
from neurospec.evidence.payloads import TokenRow
from neurospec.evidence.record import Record
from neurospec.measure import shared
from neurospec.measure.ablation import AblationEffect, ablation_effect
from neurospec.units import Unit


class Ablated(ColumnAblated):
    """Claims about what ablating a neuron does."""

    def _shared_mode(self) -> tuple[str, Corpus | None] | None:
        """(mode, reference corpus) when this ablation is one :func:`ablate_each` measures
        for many neurons at once (zero, or mean over a corpus), else None."""
        mode = self.ablation.mode
        if mode == "zero":
            return mode, None
        return (mode, self.over) if mode == "mean" and self.over is not None else None

    def prefetch(self, call: Call, units: list[Unit]) -> None:
        """Before reruns of ``call`` on ``units`` (random-unit baselines, the vacuity check):
        measure all of them on the call's corpus in one downstream replay
        (:func:`~neurospec.measure.ablate_each.ablate_each`, cached per neuron), the rows that
        ``against_random=k`` of another claim on the same corpus may already hold."""
        from neurospec.measure.ablate_each import ablate_each

        shared_mode = self._shared_mode()
        params = inspect.signature(call.fn).bind(call.owner, *call.args, **call.kwargs).arguments
        target = params.get("on", params.get("corpus"))
        if shared_mode is None or target is None or call.fn.__name__ not in ("raises_loss",
                                                                              "and_not_on"):
            return
        try:
            corpus = checks.as_corpus(target)
            if self._too_few(corpus, "ablation_loss", "") is None:
                ablate_each(self.model, corpus, self.unit.layer, [u.index for u in units],
                            to=shared_mode[0], over=shared_mode[1])
        except NeurospecError:
            return  # each rerun then ends in its own error record

    def _effect(self, corpus: Corpus) -> AblationEffect:
        """The ablation's effect on ``corpus``; in a rerun, from the per-neuron rows of
        :func:`~neurospec.measure.ablate_each.ablate_each` when they are measured."""
        from neurospec.data.tokens import tokenize
        from neurospec.measure.ablate_each import cached_rows
        from neurospec.measure.forward import clean_run

        shared_mode = self._shared_mode()
        if self.scope.rerun and shared_mode is not None:
            idx = self.unit.index
            rows = cached_rows(self.model, corpus, self.unit.layer, shared_mode[0],
                               shared_mode[1], [idx])
            if idx in rows:
                tc = tokenize(self.model, corpus)
                clean = clean_run(self.model, tc).doc_losses
                return AblationEffect(self.ablation, corpus, clean, clean + rows[idx], (),
                                      tc.truncated)
        return ablation_effect(self.model, self.ablation, corpus)

    def _random_effects(self, corpus: Corpus, units: list[Unit]) -> list[float]:
        """All random neurons ablated in one stacked replay of the later blocks."""
        from neurospec.measure.ablate_each import ablate_each

        means = ablate_each(self.model, corpus, self.unit.layer, [u.index for u in units],
                            to=self.to, over=self.over, seed=self.scope.seed).mean(1)
        return [float(x) for x in means]

    @unit_claim
    def deboosts_tokens(self, include: Any, *, on: Corpus | str, top_k: int = 20,
                        at_least: int = 1, junk: list[str] | None = None) -> Record:
        """Claim that at least ``at_least`` of the tokens ``include`` (single-token strings,
        or a predicate on token strings) are among the ``top_k`` tokens whose log-prob falls
        most (mean over documents of ``on``) under the ablation.

        The CI of the count is a bootstrap over documents (re-ranking every resample); the
        p-value is the hypergeometric chance of as many set members among ``top_k`` random
        eligible tokens.  Tokens that never occur in ``on``, and ``junk``, are not ranked.
        The record also splits the effect on the true next token into the change of its logit
        and of the log-sum-exp over the vocabulary.
        """
        __tracebackhide__ = True
        from scipy.stats import hypergeom

        from neurospec.measure.logit_attribution import single_token_ids
        from neurospec.stats.resample import bootstrap_means

        checks.count("top_k", top_k, method="deboosts_tokens")
        checks.count("at_least", at_least, method="deboosts_tokens")
        if self.ablation.mode == "resample":
            raise InvalidArgument("deboosts_tokens needs a fixed ablation value (zero, mean or "
                                  "a number), not resample", value=self.ablation.mode)
        corpus = checks.as_corpus(on)
        described = self.ablation.describe()
        claim = (f"{described}: the top-{top_k} deboosted tokens on {corpus.name} include "
                 f">= {at_least} of {checks.describe_set(include)}")
        if weak := self._too_few(corpus, "token_effects", claim):
            return weak
        ids = checks.token_set(self.model, include)
        junk_ids = single_token_ids(self.model, list(junk)) if junk else None
        eff = shared.token_effects(self.model, self.ablation, corpus, junk_ids)
        down, up = eff.deboosted(top_k), eff.boosted(top_k)
        count = sum(t in ids for t in down)
        boot = bootstrap_means(eff.dlogp.T.astype(np.float64), seed=self.scope.seed,
                               n_resamples=300)  # [B, V]
        boot[:, ~eff.eligible] = np.inf
        idx = np.argsort(boot, axis=1)[:, :top_k]
        counts = np.isin(idx, list(ids)).sum(1)
        ci = (float(np.quantile(counts, 0.025)), float(np.quantile(counts, 0.975)))
        verdict, missed = decide(ci, at_least, ">=")
        pool = int(eff.eligible.sum())
        p = float(hypergeom.sf(count - 1, pool, len(ids & set(np.flatnonzero(eff.eligible))),
                               top_k))
        strs = self.model.str_tokens
        mean = eff.mean

        def rows(tokens: list[int]) -> list[TokenRow]:
            return [{"token": t, "value": float(mean[i]), "in_set": i in ids}
                    for t, i in zip(strs(tokens), tokens)]

        d_logit, d_lse = eff.d_answer_logit.mean(), eff.d_lse.mean()
        return self.scope.record(
            claim=claim, kind="token_effects", data=checks.data_of(corpus, self.over),
            n=len(corpus), effect=float(count), ci=ci, p=p, threshold=float(at_least),
            direction=">=", metric="count_in_top_k", verdict=verdict, missed=missed,
            method="bootstrap percentile CI of the count (re-ranked); hypergeometric p",
            details={"units_label": "tokens", "eligible_tokens": pool,
                     "found": [strs([t])[0] for t in down if t in ids],
                     "answer_logit_change": float(d_logit), "log_sum_exp_change": float(d_lse),
                     "answer_logprob_change": float(d_logit - d_lse),
                     "mechanism": mechanism(d_logit, d_lse)},
            charts={"token_table": {"title": f"tokens whose log-prob falls / rises most when "
                                             f"{described} (mean over {corpus.name})",
                                    "top": rows(down), "bottom": rows(up),
                                    "labels": ["deboosted", "boosted"]},
                    "bars": {"title": "true next token: change of its logit, of log-sum-exp, "
                                      "and of its log-prob", "unit": "nats", "items": [
                        {"set": name, "mean": float(v.mean()),
                         "ci": [float(np.quantile(v, 0.025)), float(np.quantile(v, 0.975))],
                         "n": len(v)} for name, v in (
                            ("answer logit", eff.d_answer_logit), ("log-sum-exp", eff.d_lse),
                            ("answer log-prob", eff.d_answer_logit - eff.d_lse))]}})

    @unit_claim
    def ranks_in_top(self, k: int, on: Corpus | str, *, method: str = "auto") -> Record:
        """Claim that, of all neurons of the unit's layer ablated alone the same way, this one
        raises the loss on ``on`` among the ``k`` most: the bootstrap CI of its rank (over
        documents, re-ranking every resample) must stay within 1..k."""
        __tracebackhide__ = True
        from neurospec.stats.resample import bootstrap_rows, rank_of

        checks.count("k", k, method="ranks_in_top")
        corpus = checks.as_corpus(on)
        if weak := self._too_few(corpus, "neuron_sweep",
                                 f"{self.ablation.describe()} ranks in the top {k} of layer "
                                 f"{self.unit.layer} on {corpus.name}"):
            return weak
        sweep = shared.sweep(self.model, corpus, self.unit.layer, self.to, self.over, method)
        est, ci, boot = bootstrap_rows(sweep.delta, rank_of(self.unit.index),
                                       seed=self.scope.seed)
        verdict, missed = decide(ci, k, "<=")
        claim = (f"{self.ablation.describe()} raises loss on {corpus.name} more than all but "
                 f"<= {k - 1} other neurons of layer {self.unit.layer}")
        return self.scope.record(
            claim=claim, kind="neuron_sweep", data=checks.data_of(corpus, self.over),
            n=len(corpus), effect=est, ci=ci, p=float((1 + (boot > k).sum()) / (1 + len(boot))),
            threshold=float(k), direction="<=", metric="rank", verdict=verdict,
            method=f"sweep ({sweep.method}); bootstrap percentile CI of the rank", missed=missed,
            details={"units_label": "(rank)", **sweep_details(sweep)},
            charts=sweep_charts(sweep, self.scope.seed, highlight=self.unit.index))
