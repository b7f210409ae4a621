"""Claims about what ablating a neuron does: loss changes, off-target damage, path
patching, boosted and deboosted tokens, and its rank in a per-neuron sweep.

:class:`AblatedUnit` is what neuron and head ablations share: the chain of claims on one
ablation (``.raises_loss(...).and_not_on(...)``) and the follow-ups on its last claim.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from neurospec.claims import cached, checks
from neurospec.claims.charts import mechanism, null_chart, sweep_charts, sweep_details, top_deltas
from neurospec.claims.rerun import check_k, random_p, random_units, rerunning, unit_claim
from neurospec.claims.result import ClaimResult
from neurospec.claims.verdict import decide
from neurospec.data.corpus import Corpus
from neurospec.data.near_duplicates import corpus_groups
from neurospec.errors import InvalidArgument
from neurospec.evidence.record import Record
from neurospec.measure.ablation import AblationEffect, ablation_effect, make_ablation
from neurospec.stats.inference import mean_ci, percentile_among
from neurospec.units import neuron


class AblatedUnit:
    """A chain of claims about one ablation of ``parent``'s unit."""

    def __init__(self, parent: Any, to: Any, over: Corpus | None) -> None:
        self.parent = parent
        self.model = parent.model
        self.run = parent.run
        self.to, self.over = to, over
        self.results: list[ClaimResult] = []

    @property
    def unit(self) -> Any:
        return self.parent.unit

    def _with_unit(self, unit: Any) -> "AblatedUnit":
        """The same ablation of another unit (for random-unit reruns)."""
        return type(self)(self.parent._with_unit(unit), self.to, self.over)

    def _conclude(self, record: Record, call) -> "AblatedUnit":
        __tracebackhide__ = True
        self.results.append(self.run.conclude(record, call))
        return self

    def _last(self, method: str) -> ClaimResult:
        if not self.results:
            raise InvalidArgument(f"{method}() follows a claim, e.g. "
                                  f".raises_loss(...).{method}(...)")
        return self.results[-1]

    def beats_random_units(self, k: int = 20, percentile: float = 95.0) -> "AblatedUnit":
        """Require the last claim's unit to beat ``percentile`` % of ``k`` random units of its
        layer ablated the same way (see :meth:`ClaimResult.beats_random_units`)."""
        __tracebackhide__ = True
        self._last("beats_random_units").beats_random_units(k, percentile)
        return self

    def beats_percentile_of_layer(self, percentile: float = 95.0, k: int | None = None
                                  ) -> "AblatedUnit":
        """Require the last claim's unit to beat ``percentile`` % of its layer ablated the same
        way (see :meth:`ClaimResult.beats_percentile_of_layer`)."""
        __tracebackhide__ = True
        self._last("beats_percentile_of_layer").beats_percentile_of_layer(percentile, k)
        return self

    def but_not_when(self, **changes: Any) -> "AblatedUnit":
        """A matched negative for the last claim (see :meth:`ClaimResult.but_not_when`)."""
        __tracebackhide__ = True
        self._last("but_not_when").but_not_when(**changes)
        return self


class Ablated(AblatedUnit):
    """Claims about what ablating a neuron does."""

    def __init__(self, parent: Any, to: str | float, over: Corpus | None) -> None:
        super().__init__(parent, to, over)
        self.ablation = make_ablation(self.model, neuron(parent.unit), to, over,
                                      seed=parent.ctx.seed)
        self.bars: list[dict] = []

    def _shared_mode(self) -> tuple[str, Corpus | None] | None:
        """(mode, reference corpus) when this ablation is one :func:`ablate_each` measures
        for many neurons at once (zero, or mean over a corpus), else None."""
        mode = self.ablation.mode
        if mode == "zero":
            return mode, None
        return (mode, self.over) if mode == "mean" and self.over is not None else None

    def _prefetch(self, call, units: list) -> None:
        """Before reruns of ``call`` on ``units`` (random-unit baselines, the vacuity check):
        measure all of them on the call's corpus in one downstream replay
        (:func:`~neurospec.measure.sweep.ablate_each`, cached per neuron), the rows that
        ``against_random=k`` of another claim on the same corpus may already hold."""
        import inspect

        from neurospec.errors import NeurospecError
        from neurospec.measure.sweep import ablate_each

        shared = self._shared_mode()
        params = inspect.signature(call.fn).bind(call.owner, *call.args, **call.kwargs).arguments
        target = params.get("on", params.get("corpus"))
        if shared is None or target is None or call.fn.__name__ not in ("raises_loss",
                                                                         "and_not_on"):
            return
        try:
            corpus = checks.as_corpus(target)
            if self._too_few(corpus, "ablation_loss", "") is None:
                ablate_each(self.model, corpus, self.unit.layer, [u.index for u in units],
                            to=shared[0], over=shared[1])
        except NeurospecError:
            return  # each rerun then ends in its own error record

    def _effect(self, corpus: Corpus) -> AblationEffect:
        """The ablation's effect on ``corpus``; in a rerun, from the per-neuron rows of
        :func:`~neurospec.measure.sweep.ablate_each` when they are measured."""
        from neurospec.data.tokens import tokenize
        from neurospec.measure.forward import clean_run
        from neurospec.measure.sweep import cached_rows

        shared = self._shared_mode()
        if rerunning() and shared is not None:
            idx = self.unit.index
            rows = cached_rows(self.model, corpus, self.unit.layer, shared[0], shared[1], [idx])
            if idx in rows:
                tc = tokenize(self.model, corpus)
                clean = clean_run(self.model, tc).doc_losses
                return AblationEffect(self.ablation, corpus, clean, clean + rows[idx], (),
                                      tc.truncated)
        return ablation_effect(self.model, self.ablation, corpus)

    def _measure(self, corpus: Corpus, threshold: float, direction: str):
        eff = self._effect(corpus)
        est = mean_ci(eff.delta, seed=self.run.seed, threshold=threshold, direction=direction,
                      ids=corpus.ids, groups=corpus_groups(corpus))
        self.bars.append({"set": corpus.name, "mean": est.estimate, "ci": list(est.ci),
                          "n": est.n})
        return eff, est

    def _too_few(self, corpus: Corpus, kind: str, claim: str) -> Record | None:
        """The underpowered record when ``corpus`` has too few documents, else None."""
        return self.run.underpowered(claim, kind, {corpus.name: len(corpus)},
                                     checks.data_of(corpus, self.over))

    def _claim(self, corpus: Corpus, kind: str, claim: str, threshold: float, direction: str,
               random_k: int = 0) -> Record:
        data = checks.data_of(corpus, self.over)
        weak = self.run.underpowered(claim, kind, {corpus.name: len(corpus)}, data)
        if weak:
            return weak
        eff, est = self._measure(corpus, threshold, direction)
        verdict, missed = decide(est.ci, threshold, direction, est.undefined)
        data["truncated"] = [eff.truncated]
        details = {
            "units_label": "nats", "ablation": self.ablation.describe(),
            "mode": self.ablation.mode, "value": self.ablation.value,
            "clean_loss": float(eff.clean.mean()), "ablated_loss": float(eff.ablated.mean()),
            "relative_change": float(eff.delta.mean() / eff.clean.mean()),
            "hook": self.unit.hook,
        }
        charts = {"bars": {"title": f"loss change when {self.ablation.describe()}",
                           "unit": "nats", "items": [dict(b) for b in self.bars]},
                  "token_deltas": {"title": f"documents of {corpus.name} whose loss rose most "
                                            f"(per-token loss change)",
                                   "items": [] if rerunning()
                                   else top_deltas(self.model, eff, 3)}}
        extra = {}
        if random_k and not rerunning():
            from neurospec.measure.sweep import ablate_each

            units = random_units(self.model, self.unit, random_k, self.run.seed)
            means = ablate_each(self.model, corpus, self.unit.layer, [u.index for u in units],
                                to=self.to, over=self.over, seed=self.run.seed).mean(1)
            measured = [(u, float(x)) for u, x in zip(units, means) if np.isfinite(x)]
            units, effects = [u for u, _ in measured], [x for _, x in measured]
            pct = percentile_among(est.estimate, effects)
            details.update(random_k=len(effects), random_k_requested=random_k,
                           random_percentile=pct, random_p=random_p(est.estimate, effects),
                           random_median=float(np.median(effects)) if effects else np.nan)
            extra = {"percentile": pct}
            charts["null"] = null_chart(
                f"mean loss change on {corpus.name}: {self.unit} vs {len(effects)} random neurons "
                f"of layer {self.unit.layer}", est.estimate, effects, [u.name for u in units])
        return self.run.record(
            claim=claim, kind=kind, data=data, n=est.n, effect=est.estimate, ci=est.ci,
            p=est.p_value, threshold=threshold, direction=direction, metric="delta_loss",
            verdict=verdict, method=est.method, missed=missed, details=details, charts=charts,
            **extra)

    @unit_claim
    def raises_loss(self, on: Corpus | str, by_at_least: float, *,
                    against_random: int = 0) -> Record:
        """Claim the ablation raises the mean next-token loss on ``on`` by ``by_at_least``
        nats or more (the CI's lower bound must reach it).

        Args:
            against_random: also ablate this many random neurons of the same layer the same
                way and record the unit's percentile among them (shown in the report).
        """
        __tracebackhide__ = True
        threshold = checks.threshold("by_at_least", by_at_least)
        checks.count("against_random", against_random, minimum=0)
        if against_random:
            check_k(self.model, self.unit, against_random, what="against_random")
        corpus = checks.as_corpus(on)
        claim = f"{self.ablation.describe()} raises loss on {corpus.name} by >= {threshold:g} nats"
        return self._claim(corpus, "ablation_loss", claim, threshold, ">=",
                           against_random)

    @unit_claim
    def and_not_on(self, corpus: Corpus | str, tolerance: float) -> Record:
        """Claim the ablation changes the loss on ``corpus`` by less than ``tolerance`` nats
        either way (off-target damage): the whole CI must lie inside ±tolerance."""
        __tracebackhide__ = True
        tol = checks.threshold("tolerance", tolerance)
        c = checks.as_corpus(corpus)
        claim = f"{self.ablation.describe()} changes loss on {c.name} by less than ±{tol:g} nats"
        return self._claim(c, "ablation_loss", claim, tol, "within")

    @unit_claim
    def runs_through(self, components: list[str], *, on: Corpus | str,
                     share_at_least: float) -> Record:
        """Claim that patching only ``components`` (downstream hook names such as
        ``'blocks.1.hook_mlp_out'``) recovers at least ``share_at_least`` of the ablation's
        total effect on the loss of ``on`` (path patching, seed 000's ``get_direct_effect``).
        The share is a ratio of means over documents with a bootstrap percentile CI."""
        __tracebackhide__ = True
        from neurospec.measure.path_patching import path_patching
        from neurospec.stats.resample import bootstrap_rows

        share = checks.share("share_at_least", share_at_least)
        if isinstance(components, str):
            components = [components]
        corpus = checks.as_corpus(on)
        if weak := self._too_few(corpus, "path_patching",
                f"the effect of {self.ablation.describe()} on {corpus.name} loss runs through "
                f"{', '.join(components)}"):
            return weak
        eff = path_patching(self.model, self.ablation, corpus, list(components))
        matrix = np.stack([eff.via, eff.total])

        def ratio(means: np.ndarray) -> np.ndarray:
            den = means[..., 1]
            return np.where(den != 0, means[..., 0] / np.where(den != 0, den, 1), 0.0)

        est, ci, boot = bootstrap_rows(matrix, ratio, seed=self.run.seed)
        verdict, missed = decide(ci, share, ">=")
        names = ", ".join(components)
        claim = (f"the effect of {self.ablation.describe()} on {corpus.name} loss runs through "
                 f"{names}: patching only them recovers >= {share:.0%} of it")

        def bar(name: str, v: np.ndarray) -> dict:
            e = mean_ci(v, seed=self.run.seed)
            return {"set": name, "mean": e.estimate, "ci": list(e.ci), "n": len(v)}

        return self.run.record(
            claim=claim, kind="path_patching", data=checks.data_of(corpus, self.over),
            n=len(corpus),
            effect=est, ci=ci, p=float((1 + (boot < share).sum()) / (1 + len(boot))),
            threshold=share, direction=">=", metric="recovered_share", verdict=verdict,
            method="four-run path patching; bootstrap percentile CI of a ratio of means",
            missed=missed,
            details={"units_label": "(share)", "through": list(components),
                     "total_effect": float(eff.total.mean()), "via_path": float(eff.via.mean()),
                     "clean_loss": float(eff.clean.mean())},
            charts={"bars": {"title": f"loss change on {corpus.name}: total vs through {names}",
                             "unit": "nats", "items": [
                                 bar("total effect", eff.total), bar("through path", eff.via),
                                 bar("other paths", eff.total - eff.via)]}})

    @unit_claim
    def deboosts_tokens(self, include: list[str], *, on: Corpus | str, top_k: int = 20,
                        at_least: int = 1, junk: list[str] | None = None) -> Record:
        """Claim that at least ``at_least`` of the tokens ``include`` are among the ``top_k``
        tokens whose log-prob falls most (mean over documents of ``on``) under the ablation.

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
        if weak := self._too_few(corpus, "token_effects",
                f"{self.ablation.describe()}: the top-{top_k} deboosted tokens on {corpus.name} "
                f"include >= {at_least} of {checks.describe_set(include)}"):
            return weak
        ids = checks.token_set(self.model, include)
        junk_ids = single_token_ids(self.model, list(junk)) if junk else None
        eff = cached.token_effects(self.model, self.ablation, corpus, junk_ids)
        down, up = eff.deboosted(top_k), eff.boosted(top_k)
        count = sum(t in ids for t in down)
        boot = bootstrap_means(eff.dlogp.T.astype(np.float64), seed=self.run.seed,
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

        def rows(tokens: list[int]) -> list[dict]:
            return [{"token": t, "value": float(mean[i]), "in_set": i in ids}
                    for t, i in zip(strs(tokens), tokens)]

        d_logit, d_lse = eff.d_answer_logit.mean(), eff.d_lse.mean()
        claim = (f"{self.ablation.describe()}: the top-{top_k} deboosted tokens on {corpus.name} "
                 f"include >= {at_least} of {checks.describe_set(include)}")
        return self.run.record(
            claim=claim, kind="token_effects", data=checks.data_of(corpus, self.over),
            n=len(corpus),
            effect=float(count), ci=ci, p=p, threshold=float(at_least), direction=">=",
            metric="count_in_top_k", verdict=verdict, missed=missed,
            method="bootstrap percentile CI of the count (re-ranked); hypergeometric p",
            details={"units_label": "tokens", "eligible_tokens": pool,
                     "found": [strs([t])[0] for t in down if t in ids],
                     "answer_logit_change": float(d_logit), "log_sum_exp_change": float(d_lse),
                     "answer_logprob_change": float(d_logit - d_lse),
                     "mechanism": mechanism(d_logit, d_lse)},
            charts={"token_table": {"title": f"tokens whose log-prob falls / rises most when "
                                             f"{self.ablation.describe()} (mean over {corpus.name})",
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
                f"{self.ablation.describe()} ranks in the top {k} of layer {self.unit.layer} on "
                f"{corpus.name}"):
            return weak
        sweep = cached.sweep(self.model, corpus, self.unit.layer, self.to, self.over, method)
        est, ci, boot = bootstrap_rows(sweep.delta, rank_of(self.unit.index),
                                       seed=self.run.seed)
        verdict, missed = decide(ci, k, "<=")
        claim = (f"{self.ablation.describe()} raises loss on {corpus.name} more than all but "
                 f"<= {k - 1} other neurons of layer {self.unit.layer}")
        return self.run.record(
            claim=claim, kind="neuron_sweep", data=checks.data_of(corpus, self.over),
            n=len(corpus),
            effect=est, ci=ci, p=float((1 + (boot > k).sum()) / (1 + len(boot))),
            threshold=float(k), direction="<=", metric="rank", verdict=verdict,
            method=f"sweep ({sweep.method}); bootstrap percentile CI of the rank", missed=missed,
            details={"units_label": "(rank)", **sweep_details(sweep)},
            charts=sweep_charts(sweep, self.run.seed, highlight=self.unit.index))
