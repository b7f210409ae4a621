"""Claims about what ablating a neuron does: loss changes, off-target damage, path
patching, boosted and deboosted tokens, and its rank in a per-neuron sweep."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from neurospec.claims.common import (
    ClaimResult, _corpus, _data, _describe_set, _mechanism, _random_units, _sweep,
    _share, _sweep_charts, _sweep_details, _threshold, _token_set, _top_deltas)
from neurospec.claims.rerun import quiet, unit_claim
from neurospec.claims.verdict import decide
from neurospec.data.corpus import Corpus
from neurospec.errors import InvalidArgument
from neurospec.measure.ablation import ablation_effect, make_ablation
from neurospec.stats.inference import mean_ci, percentile_among
from neurospec.units import neuron

if TYPE_CHECKING:
    from neurospec.claims.expect import UnitExpectation


class Ablated:
    """Claims about the loss change that ablating a unit causes."""

    def __init__(self, parent: UnitExpectation, to: str | float, over: Corpus | None) -> None:
        self.parent = parent
        self.model = parent.model
        self.unit = neuron(parent.unit)
        self.to, self.over = to, over
        self.ablation = make_ablation(self.model, self.unit, to, over, seed=parent.ctx.seed)
        self.bars: list[dict] = []
        self.results: list[ClaimResult] = []

    def _with_unit(self, unit) -> "Ablated":
        """The same ablation of another unit (for random-unit reruns)."""
        return Ablated(self.parent._with_unit(unit), self.to, self.over)

    def _last(self, method: str) -> ClaimResult:
        if not self.results:
            raise InvalidArgument(f"{method}() follows a claim, e.g. "
                                  f".raises_loss(...).{method}(...)")
        return self.results[-1]

    def beats_random_units(self, k: int = 20, percentile: float = 95.0) -> "Ablated":
        """Require the last claim's unit to beat ``percentile`` % of ``k`` random units of its
        layer ablated the same way (see :meth:`ClaimResult.beats_random_units`)."""
        __tracebackhide__ = True
        self._last("beats_random_units").beats_random_units(k, percentile)
        return self

    def but_not_when(self, **changes) -> "Ablated":
        """A matched negative for the last claim (see :meth:`ClaimResult.but_not_when`)."""
        __tracebackhide__ = True
        self._last("but_not_when").but_not_when(**changes)
        return self

    def _measure(self, corpus: Corpus, threshold: float, direction: str):
        eff = ablation_effect(self.model, self.ablation, corpus)
        est = mean_ci(eff.delta, seed=self.parent.ctx.seed, threshold=threshold,
                      direction=direction, ids=corpus.ids)
        self.bars.append({"set": corpus.name, "mean": est.estimate, "ci": list(est.ci),
                          "n": est.n})
        return eff, est

    def _claim(self, corpus: Corpus, kind: str, claim: str, threshold: float, direction: str,
               random_k: int = 0) -> "Ablated":
        __tracebackhide__ = True
        data = {"names": [corpus.name] + ([self.over.name] if self.over else []),
                "hashes": [corpus.hash] + ([self.over.hash] if self.over else []),
                "docs": [len(corpus)]}
        weak = self.parent._enough(claim, kind, {corpus.name: len(corpus)}, data)
        if weak:
            self.parent._finish(weak)
        eff, est = self._measure(corpus, threshold, direction)
        verdict, missed = decide(est.ci, threshold, direction)
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
                                   "items": _top_deltas(self.model, eff, 3)}}
        extra = {}
        if random_k and not quiet():
            null = _random_units(self.model, self.unit, self.to, self.over, corpus, random_k,
                                 self.parent.ctx.seed)
            pct = percentile_among(est.estimate, null["effects"])
            details.update(random_k=random_k, random_percentile=pct,
                           random_median=float(np.median(null["effects"])))
            extra = {"percentile": pct}
            charts["null"] = {"title": f"mean loss change on {corpus.name}: {self.unit} vs "
                                       f"{random_k} random neurons of layer {self.unit.layer}",
                              "unit_value": est.estimate, "values": null["effects"],
                              "units": null["units"]}
        record = self.parent._record(
            claim=claim, kind=kind, data=data, n=est.n, effect=est.estimate, ci=est.ci,
            p=est.p_value, threshold=threshold, direction=direction, metric="delta_loss",
            verdict=verdict, method=est.method, missed=missed, details=details, charts=charts,
            **extra)
        self.results.append(self.parent._finish(record))
        return self

    @unit_claim
    def raises_loss(self, on: Corpus | str, by_at_least: float, *,
                    against_random: int = 0) -> "Ablated":
        """Claim the ablation raises the mean next-token loss on ``on`` by ``by_at_least``
        nats or more (the CI's lower bound must reach it).

        Args:
            against_random: also ablate this many random neurons of the same layer the same
                way and record the unit's percentile among them (shown in the report).
        """
        __tracebackhide__ = True
        threshold = _threshold("by_at_least", by_at_least)
        if isinstance(against_random, bool) or not isinstance(against_random, int) \
                or against_random < 0:
            raise InvalidArgument(f"against_random={against_random!r}: expected a count >= 0",
                                  value=against_random)
        corpus = _corpus(on)
        claim = f"{self.ablation.describe()} raises loss on {corpus.name} by >= {threshold:g} nats"
        return self._claim(corpus, "ablation_loss", claim, threshold, ">=",
                           against_random)

    @unit_claim
    def and_not_on(self, corpus: Corpus | str, tolerance: float) -> "Ablated":
        """Claim the ablation changes the loss on ``corpus`` by less than ``tolerance`` nats
        either way (off-target damage): the whole CI must lie inside ±tolerance."""
        __tracebackhide__ = True
        tol = _threshold("tolerance", tolerance)
        c = _corpus(corpus)
        claim = f"{self.ablation.describe()} changes loss on {c.name} by less than ±{tol:g} nats"
        return self._claim(c, "ablation_loss", claim, tol, "within")

    changes_loss_within = and_not_on

    @unit_claim
    def runs_through(self, components: list[str], *, on: Corpus | str,
                     share_at_least: float) -> "Ablated":
        """Claim that patching only ``components`` (downstream hook names such as
        ``'blocks.1.hook_mlp_out'``) recovers at least ``share_at_least`` of the ablation's
        total effect on the loss of ``on`` (path patching, seed 000's ``get_direct_effect``).
        The share is a ratio of means over documents with a bootstrap percentile CI."""
        __tracebackhide__ = True
        from neurospec.measure.path_patching import path_patching
        from neurospec.stats.resample import bootstrap_rows

        share = _share("share_at_least", share_at_least)
        if isinstance(components, str):
            components = [components]
        corpus = _corpus(on)
        weak = self.parent._enough(
            f"the effect of {self.ablation.describe()} on {corpus.name} loss runs through "
            f"{', '.join(components)}", "path_patching", {corpus.name: len(corpus)},
            _data(corpus, self.over))
        if weak:
            self.parent._finish(weak)
        eff = path_patching(self.model, self.ablation, corpus, list(components))
        matrix = np.stack([eff.via, eff.total])

        def ratio(means: np.ndarray) -> np.ndarray:
            den = means[..., 1]
            return np.where(den != 0, means[..., 0] / np.where(den != 0, den, 1), 0.0)

        est, ci, boot = bootstrap_rows(matrix, ratio, seed=self.parent.ctx.seed)
        verdict, missed = decide(ci, share, ">=")
        names = ", ".join(components)
        claim = (f"the effect of {self.ablation.describe()} on {corpus.name} loss runs through "
                 f"{names}: patching only them recovers >= {share:.0%} of it")

        def bar(name: str, v: np.ndarray) -> dict:
            e = mean_ci(v, seed=self.parent.ctx.seed)
            return {"set": name, "mean": e.estimate, "ci": list(e.ci), "n": len(v)}

        record = self.parent._record(
            claim=claim, kind="path_patching", data=_data(corpus, self.over), n=len(corpus),
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
        self.results.append(self.parent._finish(record))
        return self

    @unit_claim
    def deboosts_tokens(self, include: list[str], *, on: Corpus | str, top_k: int = 20,
                        at_least: int = 1, junk: list[str] | None = None) -> "Ablated":
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
        from neurospec.measure.token_effects import token_effects
        from neurospec.stats.resample import bootstrap_means

        for name, v in (("top_k", top_k), ("at_least", at_least)):
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise InvalidArgument(f"deboosts_tokens({name}={v!r}): expected a count >= 1",
                                      value=v)
        if self.ablation.mode == "resample":
            raise InvalidArgument("deboosts_tokens needs a fixed ablation value (zero, mean or "
                                  "a number), not resample", value=self.ablation.mode)
        corpus = _corpus(on)
        weak = self.parent._enough(
            f"{self.ablation.describe()}: the top-{top_k} deboosted tokens on {corpus.name} "
            f"include >= {at_least} of {_describe_set(include)}", "token_effects",
            {corpus.name: len(corpus)}, _data(corpus, self.over))
        if weak:
            self.parent._finish(weak)
        ids = _token_set(self.model, include)
        junk_ids = single_token_ids(self.model, list(junk)) if junk else None
        eff = self.model.cache.get_or_compute(
            ("token_effects", corpus.hash, self.model.prepend_bos) + self.ablation.key()
            + (tuple(junk_ids or ()),),
            lambda: token_effects(self.model, self.ablation, corpus, junk=junk_ids))
        down, up = eff.deboosted(top_k), eff.boosted(top_k)
        count = sum(t in ids for t in down)
        boot = bootstrap_means(eff.dlogp.T.astype(np.float64), seed=self.parent.ctx.seed,
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
                 f"include >= {at_least} of {_describe_set(include)}")
        record = self.parent._record(
            claim=claim, kind="token_effects", data=_data(corpus, self.over), n=len(corpus),
            effect=float(count), ci=ci, p=p, threshold=float(at_least), direction=">=",
            metric="count_in_top_k", verdict=verdict, missed=missed,
            method="bootstrap percentile CI of the count (re-ranked); hypergeometric p",
            details={"units_label": "tokens", "eligible_tokens": pool,
                     "found": [strs([t])[0] for t in down if t in ids],
                     "answer_logit_change": float(d_logit), "log_sum_exp_change": float(d_lse),
                     "answer_logprob_change": float(d_logit - d_lse),
                     "mechanism": _mechanism(d_logit, d_lse)},
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
        self.results.append(self.parent._finish(record))
        return self

    @unit_claim
    def ranks_in_top(self, k: int, on: Corpus | str, *, method: str = "auto") -> "Ablated":
        """Claim that, of all neurons of the unit's layer ablated alone the same way, this one
        raises the loss on ``on`` among the ``k`` most: the bootstrap CI of its rank (over
        documents, re-ranking every resample) must stay within 1..k."""
        __tracebackhide__ = True
        from neurospec.stats.resample import bootstrap_rows, rank_of

        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise InvalidArgument(f"ranks_in_top(k={k!r}): expected a count >= 1", value=k)
        corpus = _corpus(on)
        weak = self.parent._enough(
            f"{self.ablation.describe()} ranks in the top {k} of layer {self.unit.layer} on "
            f"{corpus.name}", "neuron_sweep", {corpus.name: len(corpus)}, _data(corpus, self.over))
        if weak:
            self.parent._finish(weak)
        sweep = _sweep(self.model, corpus, self.unit.layer, self.to, self.over, method)
        est, ci, boot = bootstrap_rows(sweep.delta, rank_of(self.unit.index),
                                       seed=self.parent.ctx.seed)
        verdict, missed = decide(ci, k, "<=")
        claim = (f"{self.ablation.describe()} raises loss on {corpus.name} more than all but "
                 f"<= {k - 1} other neurons of layer {self.unit.layer}")
        record = self.parent._record(
            claim=claim, kind="neuron_sweep", data=_data(corpus, self.over), n=len(corpus),
            effect=est, ci=ci, p=float((1 + (boot > k).sum()) / (1 + len(boot))),
            threshold=float(k), direction="<=", metric="rank", verdict=verdict,
            method=f"sweep ({sweep.method}); bootstrap percentile CI of the rank", missed=missed,
            details={"units_label": "(rank)", **_sweep_details(sweep)},
            charts=_sweep_charts(sweep, self.parent.ctx.seed, highlight=self.unit.index))
        self.results.append(self.parent._finish(record))
        return self
