"""The assertion helpers: ``expect(unit)`` runs measurements, decides a verdict from the
confidence interval, records evidence (pass or fail) and raises a readable failure.

Example::

    expect(neuron("L1N417")).activates_more(on=corpus("german"), than=corpus("english"),
                                            effect_size_at_least=1.5)
    (expect(neuron("L1N417")).ablated(to="mean", over=corpus("english"))
        .raises_loss(on=corpus("german"), by_at_least=0.01)
        .and_not_on(corpus("english"), tolerance=0.005))
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from neurospec.claims import context
from neurospec.claims.verdict import decide, failure_message
from neurospec.data.corpus import Corpus, load_corpus
from neurospec.errors import ClaimFailed, InvalidArgument, Underpowered
from neurospec.evidence.record import Record
from neurospec.evidence.sink import emit
from neurospec.measure.ablation import ablation_effect, make_ablation
from neurospec.measure.activations import neuron_activations
from neurospec.stats.effects import auroc
from neurospec.stats.inference import mean_ci, two_sample
from neurospec.units import Neuron, check_unit, neuron, parse_unit

TOP_CONTEXTS = 8


class ClaimResult:
    """What a passing claim returns: its record, shown as the report's view in Jupyter."""

    def __init__(self, record: Record) -> None:
        self.record = record

    @property
    def passed(self) -> bool:
        return self.record.passed

    def __getattr__(self, name: str) -> Any:
        return getattr(self.record, name)

    def __repr__(self) -> str:
        r = self.record
        return (f"<{r.verdict}: {r.claim} | effect {r.effect:.4g}, CI [{r.ci[0]:.4g}, "
                f"{r.ci[1]:.4g}], n={r.n}>")

    def _repr_html_(self) -> str:
        from neurospec.report.html import render_record

        return render_record(self.record)


def expect_layer(layer: int, model: Any = None) -> "LayerExpectation":
    """Start a claim about MLP ``layer`` as a whole (e.g. how concentrated an effect is)."""
    return LayerExpectation(layer, model)


def expect(unit: str | Neuron, model: Any = None, *, sae: Any = None) -> "UnitExpectation":
    """Start a claim about ``unit`` (a name such as ``'L1N417'`` or a parsed unit).

    Args:
        unit: the unit the claim is about.
        model: the model; under pytest the plugin supplies the test's model.
    """
    return UnitExpectation(unit, model, sae=sae)


def _corpus(x: Corpus | str | list) -> Corpus:
    if isinstance(x, Corpus):
        return x
    if isinstance(x, str):
        return load_corpus(x, context.current().data_dirs)
    if isinstance(x, (list, tuple)):
        return Corpus.from_texts(x)
    raise InvalidArgument(f"expected a corpus (corpus('german'), a dataset name or a list of "
                          f"texts), got {type(x).__name__}", value=x)


def _size(method: str, what: str, by_at_least: Any, effect_size_at_least: Any
          ) -> tuple[str, float, str]:
    """The metric, threshold and wording of a two-set claim given exactly one size."""
    if (by_at_least is None) == (effect_size_at_least is None):
        raise InvalidArgument(f"{method}: give exactly one of by_at_least= (difference of "
                              f"{what}) or effect_size_at_least= (Cohen's d)")
    if by_at_least is not None:
        t = _threshold("by_at_least", by_at_least)
        return "mean_diff", t, f"by >= {t:g}"
    t = _threshold("effect_size_at_least", effect_size_at_least)
    return "cohens_d", t, f"with Cohen's d >= {t:g}"


def _threshold(name: str, value: Any, minimum: float = 0.0) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InvalidArgument(f"{name}={value!r}: expected a finite number such as 0.05",
                              value=value)
    if value < minimum:
        raise InvalidArgument(f"{name}={value!r} must be >= {minimum}; state the claim's "
                              f"direction with the method (e.g. swap on= and than=) instead of "
                              f"a negative size", value=value)
    return float(value)


class UnitExpectation:
    """Claims about one unit of one model."""

    def __init__(self, unit: str | Neuron, model: Any = None, sae: Any = None) -> None:
        from neurospec.units import Feature

        self.unit = parse_unit(unit)
        self.model = context.model_or_current(model)
        check_unit(self.unit, self.model)
        self.ctx = context.current()
        self.sae = None
        if isinstance(self.unit, Feature):
            from neurospec.measure.sae import check_sae, load_sae

            if sae is None:
                raise InvalidArgument(f"{self.unit} is an SAE feature: pass sae=load_sae(path) "
                                      f"(or a path) to expect()", value=self.unit)
            self.sae = sae if not isinstance(sae, (str, Path)) else load_sae(sae)
            check_sae(self.model, self.sae, self.unit)

    def _acts(self, corpus: Corpus):
        if self.sae is not None:
            from neurospec.measure.sae import feature_activations

            return feature_activations(self.model, self.sae, corpus, self.unit)
        return neuron_activations(self.model, corpus, neuron(self.unit))

    def _record(self, **kw: Any) -> Record:
        return Record(unit=self.unit.name, model=self.model.info(), seed=self.ctx.seed,
                      test=self.ctx.test, **kw)

    def _finish(self, record: Record) -> ClaimResult:
        __tracebackhide__ = True
        emit(record)
        if record.verdict == "underpowered":
            raise Underpowered(failure_message(record), record)
        if not record.passed:
            raise ClaimFailed(failure_message(record), record)
        return ClaimResult(record)

    def _enough(self, claim: str, kind: str, sets: dict[str, int], data: dict) -> Record | None:
        few = {k: v for k, v in sets.items() if v < self.ctx.min_docs}
        if not few:
            return None
        why = ", ".join(f"{k} has {v}" for k, v in few.items())
        return self._record(
            claim=claim, kind=kind, data=data, n=sum(sets.values()), effect=math.nan,
            ci=(math.nan, math.nan), p=math.nan, threshold=math.nan, direction=">=",
            metric="", verdict="underpowered",
            missed=f"underpowered: {why} documents; a 95% CI needs at least {self.ctx.min_docs} "
                   f"per set (add documents, or lower --neurospec-min-docs)")

    # -- activation contrast -----------------------------------------------------------
    def activates_more(self, on: Corpus | str, than: Corpus | str, *,
                       by_at_least: float | None = None,
                       effect_size_at_least: float | None = None) -> ClaimResult:
        """Claim the neuron's per-document mean activation is larger on ``on`` than ``than``.

        Give exactly one size: ``by_at_least`` (difference of document means, in activation
        units) or ``effect_size_at_least`` (Cohen's d of document means).  Passes when the
        bootstrap 95% CI of that size clears it.  Token-level AUROC and means are recorded
        as description (tokens within a document are not independent).
        """
        __tracebackhide__ = True
        unit = self.unit
        kind = "sae_feature" if self.sae is not None else "activation_contrast"
        metric, threshold, size = _size("activates_more", "mean activations", by_at_least,
                                        effect_size_at_least)
        a_set, b_set = _corpus(on), _corpus(than)
        claim = f"{unit} activates more on {a_set.name} than on {b_set.name} {size}"
        data = {"names": [a_set.name, b_set.name], "hashes": [a_set.hash, b_set.hash],
                "docs": [len(a_set), len(b_set)]}
        weak = self._enough(claim, kind, {a_set.name: len(a_set), b_set.name: len(b_set)}, data)
        if weak:
            return self._finish(weak)
        a, b = self._acts(a_set), self._acts(b_set)
        est = two_sample(a.doc_means, b.doc_means, measure=metric, seed=self.ctx.seed)
        verdict, missed = decide(est.ci, threshold, ">=")
        ta, tb = a.all_tokens, b.all_tokens
        data["truncated"] = [a.truncated, b.truncated]
        details = {
            "units_label": "(activation)" if metric == "mean_diff" else "(Cohen's d)",
            "token_auroc": auroc(ta, tb), "doc_auroc": auroc(a.doc_means, b.doc_means),
            "token_mean": {a_set.name: float(ta.mean()), b_set.name: float(tb.mean())},
            "doc_mean": {a_set.name: float(a.doc_means.mean()), b_set.name: float(b.doc_means.mean())},
            "frac_tokens_above_0": {a_set.name: float((ta > 0).mean()),
                                    b_set.name: float((tb > 0).mean())},
            "n_docs": {a_set.name: len(a_set), b_set.name: len(b_set)},
            "n_tokens": {a_set.name: int(ta.size), b_set.name: int(tb.size)},
            "hook": self.sae.hook if self.sae is not None else unit.hook,
        }
        if self.sae is not None:
            details["sae"] = self.sae.source
        charts = {
            "histogram": {"title": f"per-document mean activation of {unit}",
                          "sets": {a_set.name: a.doc_means.tolist(),
                                   b_set.name: b.doc_means.tolist()}},
            "contexts": {"title": f"top activating contexts of {unit}",
                         "items": _top_contexts(self.model, a, a_set.name, TOP_CONTEXTS)
                         + _top_contexts(self.model, b, b_set.name, 3)},
        }
        return self._finish(self._record(
            claim=claim, kind=kind, data=data, n=est.n, effect=est.estimate,
            ci=est.ci, p=est.p_value, threshold=threshold, direction=">=", metric=metric,
            verdict=verdict, method=est.method, missed=missed, details=details, charts=charts))

    # -- SAE feature circuits (seed 004) ---------------------------------------------------
    def depends_on(self, early: str, *, sae: Any, on: Corpus | str,
                   by_at_least: float = 0.0) -> ClaimResult:
        """Claim that this (later-layer) SAE feature depends on the earlier feature ``early``
        of the SAE ``sae``: the per-document gradient x activation attribution of ``early`` to
        this feature has a mean of at least ``by_at_least`` (bootstrap CI).  The record gives
        ``early``'s rank among all early features."""
        __tracebackhide__ = True
        from neurospec.measure.sae import feature_attribution, load_sae
        from neurospec.units import Feature

        if self.sae is None:
            raise InvalidArgument(f"depends_on is a claim about an SAE feature; {self.unit} is "
                                  f"not one", value=self.unit)
        threshold = _threshold("by_at_least", by_at_least)
        early_sae = sae if not isinstance(sae, (str, Path)) else load_sae(sae)
        f0 = parse_unit(early)
        if not isinstance(f0, Feature):
            raise InvalidArgument(f"depends_on({early!r}): expected a feature like 'L0F26'",
                                  value=early)
        c = _corpus(on)
        attr = feature_attribution(self.model, early_sae, self.sae, c, self.unit)
        mine = attr[:, f0.index]
        est = mean_ci(mine, seed=self.ctx.seed)
        verdict, missed = decide(est.ci, threshold, ">=")
        means = attr.mean(0)
        rank = int(1 + (means > mine.mean()).sum())
        order = np.argsort(-means)[:12]
        claim = (f"{self.unit} depends on {f0}: mean gradient x activation attribution on "
                 f"{c.name} >= {threshold:g}")
        return self._finish(self._record(
            claim=claim, kind="feature_gradient", data={"names": [c.name], "hashes": [c.hash]},
            n=est.n, effect=est.estimate, ci=est.ci, p=est.p_value, threshold=threshold,
            direction=">=", metric="attribution", verdict=verdict, missed=missed,
            method=est.method + "; early SAE spliced in exactly (error term held fixed)",
            details={"units_label": "(attribution)", "rank_among_early_features": rank,
                     "early_features": early_sae.d_sae, "early_sae": early_sae.source,
                     "late_sae": self.sae.source},
            charts={"bars": {"title": f"early features driving {self.unit} most (mean "
                                      f"attribution over {c.name})", "unit": "", "items": [
                {"set": f"L{f0.layer}F{i}" + (" *" if i == f0.index else ""),
                 **_bar(attr[:, i], self.ctx.seed)} for i in order]}}))

    # -- property-based prompts ------------------------------------------------------------
    def fires_on(self, strategy: Any, *, above: float, share_at_least: float = 0.95,
                 n: int = 200, name: str = "generated prompts") -> ClaimResult:
        """Claim the neuron's activation at the last token exceeds ``above`` on at least
        ``share_at_least`` of prompts drawn from ``strategy`` (a hypothesis strategy of token
        lists, see :mod:`neurospec.strategies`).

        ``n`` prompts are drawn (seeded) and run in one batch; the share gets a one-sided
        Clopper-Pearson bound.  Then hypothesis searches for a counterexample and shrinks it:
        the minimal prompt on which the neuron stays at or below ``above`` is shown in the
        report (a claim for all prompts, ``share_at_least=1``, fails when one is found).
        """
        __tracebackhide__ = True
        from hypothesis import HealthCheck, find, given, settings
        from hypothesis.errors import NoSuchExample
        from scipy.stats import binomtest

        from neurospec.measure.examples import last_token_activation

        unit = neuron(self.unit)
        share = _threshold("share_at_least", share_at_least)
        if isinstance(above, bool) or not isinstance(above, (int, float)):
            raise InvalidArgument(f"fires_on(above={above!r}): expected a number", value=above)
        drawn: list[list[int]] = []

        @settings(max_examples=n, database=None, derandomize=True, deadline=None,
                  suppress_health_check=list(HealthCheck), phases=("generate",))
        @given(strategy)
        def collect(prompt):
            drawn.append(list(prompt))

        import random as _random

        state = _random.getstate()
        _random.seed(self.ctx.seed)
        collect()
        _random.setstate(state)
        drawn = drawn[:n]
        acts = np.concatenate([last_token_activation(self.model, unit, drawn[i:i + 256])
                               for i in range(0, len(drawn), 256)])
        hits = int((acts > above).sum())
        test = binomtest(hits, len(acts), max(min(share, 1.0), 1e-9) if share < 1 else 0.5,
                         alternative="greater")
        ci = test.proportion_ci(0.95, method="exact")
        minimal: list[int] | None = None
        try:
            minimal = list(find(strategy, lambda p: last_token_activation(
                self.model, unit, [list(p)])[0] <= above, settings=settings(
                    max_examples=max(n, 300), database=None, derandomize=True, deadline=None,
                    suppress_health_check=list(HealthCheck))))
        except NoSuchExample:
            pass
        lo = float(ci.low)
        if share >= 1.0:
            verdict = "pass" if minimal is None else "fail"
            missed = "" if minimal is None else "hypothesis found a counterexample (shown)"
        else:
            verdict, missed = decide((lo, float(ci.high)), share, ">=")
        claim = (f"{unit} fires above {above:g} at the last token of >= {share:.0%} of {name}")
        charts = {"histogram": {"title": f"{unit}'s last-token activation on {len(acts)} {name}",
                                "sets": {name: acts.tolist()}}}
        if minimal is not None:
            value = float(last_token_activation(self.model, unit, [minimal])[0])
            charts["contexts"] = {"title": "minimal counterexample found by hypothesis (shrunk)",
                                  "items": [{"set": "counterexample", "doc": "-", "max": value,
                                             "tokens": self.model.str_tokens(minimal),
                                             "values": [0.0] * (len(minimal) - 1) + [value]}]}
        return self._finish(self._record(
            claim=claim, kind="property", data={"names": [name], "hashes": ["generated"]},
            n=len(acts), effect=hits / len(acts), ci=(lo, float(ci.high)), p=float(test.pvalue),
            threshold=share, direction=">=", metric="share", verdict=verdict, missed=missed,
            method="hypothesis-generated prompts (seeded), one batch; one-sided Clopper-Pearson "
                   "bound; counterexample search with shrinking",
            details={"units_label": "(share)", "above": above, "mean_activation": float(acts.mean()),
                     "counterexample": None if minimal is None else self.model.str_tokens(minimal)},
            charts=charts))

    # -- attention heads (seed 002) --------------------------------------------------------
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
        eff = head_ablation(self.model, h, c, to, ref)
        est = mean_ci(eff.delta, seed=self.ctx.seed)
        verdict, missed = decide(est.ci, threshold, ">=")
        claim = f"{h} {eff.how} raises loss on {c.name} by >= {threshold:g} nats"
        return self._finish(self._record(
            claim=claim, kind="head_ablation", data=_data(c, ref), n=est.n, effect=est.estimate,
            ci=est.ci, p=est.p_value, threshold=threshold, direction=">=", metric="delta_loss",
            verdict=verdict, method=est.method, missed=missed,
            details={"units_label": "nats", "how": eff.how, "hook": f"blocks.{h.layer}.attn.hook_z"},
            charts=_head_charts(self.model, eff, est)))

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
        est = mean_ci(diffs, seed=self.ctx.seed)
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

    # -- top examples and simplification (seed 001) ---------------------------------------
    def top_examples_come_from(self, on: Corpus | str, among: list[Corpus | str], *,
                               k: int = 50, share_at_least: float = 0.9) -> ClaimResult:
        """Claim that of the ``k`` tokens of ``on`` and ``among`` where the neuron fires most,
        at least ``share_at_least`` are in ``on``.  The share gets a Clopper-Pearson 95% CI
        and a binomial p-value against ``on``'s share of all tokens."""
        __tracebackhide__ = True
        from scipy.stats import binomtest

        from neurospec.measure.examples import top_examples

        unit = neuron(self.unit)
        share = _threshold("share_at_least", share_at_least)
        target = _corpus(on)
        others = [_corpus(c) for c in among]
        ex = top_examples(self.model, unit, [target] + others, k=k)
        hits = sum(e.corpus == target.name for e in ex)
        base = neuron_activations(self.model, target, unit).all_tokens.size
        total = base + sum(neuron_activations(self.model, c, unit).all_tokens.size for c in others)
        test = binomtest(hits, len(ex), base / total, alternative="greater")
        ci = test.proportion_ci(0.95, method="exact")
        est = hits / len(ex)
        verdict, missed = decide((ci.low, ci.high), share, ">=")
        names = [target.name] + [c.name for c in others]
        claim = (f"of the {k} tokens of {', '.join(names)} where {unit} fires most, "
                 f">= {share:.0%} are in {target.name}")
        items = [{"set": e.corpus, "doc": e.doc, "max": e.activation,
                  "tokens": self.model.str_tokens(e.tokens), "values": list(e.values)}
                 for e in ex[:12]]
        return self._finish(self._record(
            claim=claim, kind="top_examples", data={"names": names, "hashes": [
                target.hash] + [c.hash for c in others]}, n=len(ex), effect=est,
            ci=(float(ci.low), float(ci.high)), p=float(test.pvalue), threshold=share,
            direction=">=", metric="share", verdict=verdict, missed=missed,
            method="one-sided 95% Clopper-Pearson bound; binomial test against the token base rate",
            details={"units_label": "(share)", "base_rate": base / total,
                     "from": {n: sum(e.corpus == n for e in ex) for n in names}},
            charts={"contexts": {"title": f"top activating contexts of {unit} (12 of {k})",
                                 "items": items}}))

    def simplifies(self, on: Corpus | str, *, k: int = 10, keep: float = 0.5,
                   max_tokens: int = 3, share_at_least: float = 0.8) -> ClaimResult:
        """Claim that greedy deletion (drop the token whose removal lowers the activation
        least, keep the last token and ``keep`` of the activation) shrinks at least
        ``share_at_least`` of the neuron's top-``k`` contexts in ``on`` to ``max_tokens``
        tokens or fewer.  Clopper-Pearson CI on the share."""
        __tracebackhide__ = True
        from scipy.stats import binomtest

        from neurospec.measure.examples import noise_sensitivity, simplify, top_examples

        unit = neuron(self.unit)
        share = _threshold("share_at_least", share_at_least)
        c = _corpus(on)
        ex = top_examples(self.model, unit, [c], k=k)
        done = [simplify(self.model, unit, list(e.tokens), keep=keep) for e in ex]
        hits = sum(len(sm.simplified) <= max_tokens for sm in done)
        test = binomtest(hits, len(done), 0.5, alternative="greater")
        ci = test.proportion_ci(0.95, method="exact")
        verdict, missed = decide((ci.low, ci.high), share, ">=")
        claim = (f"greedy simplification keeps >= {keep:.0%} of {unit}'s activation in <= "
                 f"{max_tokens} tokens for >= {share:.0%} of its top {k} contexts in {c.name}")
        items = [{"set": f"{len(sm.original)}->{len(sm.simplified)} tokens", "doc": e.doc,
                  "max": sm.activation, "tokens": self.model.str_tokens(sm.simplified),
                  "values": [0.0] * (len(sm.simplified) - 1) + [sm.activation]}
                 for e, sm in zip(ex, done)]
        return self._finish(self._record(
            claim=claim, kind="simplification", data={"names": [c.name], "hashes": [c.hash]},
            n=len(done), effect=hits / len(done), ci=(float(ci.low), float(ci.high)),
            p=float(test.pvalue), threshold=share, direction=">=", metric="share",
            verdict=verdict, missed=missed, method="greedy deletion; one-sided 95% Clopper-Pearson bound",
            details={"units_label": "(share)", "keep": keep, "max_tokens": max_tokens,
                     "lengths": [len(sm.simplified) for sm in done],
                     "kept": [round(sm.activation / sm.original_activation, 3) for sm in done]},
            charts={"contexts": {"title": "simplified prompts (last token's activation)",
                                 "items": items},
                    "token_deltas": {"title": "noise sensitivity of the top context: drop of the "
                                              "last-token activation when each token's embedding "
                                              "gets Gaussian noise (sigma = embedding RMS)",
                                     "items": [{"set": c.name, "doc": ex[0].doc,
                                                "max": ex[0].activation,
                                                "tokens": self.model.str_tokens(ex[0].tokens),
                                                "values": noise_sensitivity(
                                                    self.model, unit, list(ex[0].tokens),
                                                    seed=self.ctx.seed).round(4).tolist()}]}}))

    def optimised_prompts_reach(self, on: Corpus | str, *, fraction: float = 0.75,
                                restarts: int = 8, length: int = 5, steps: int = 100,
                                share_at_least: float = 0.5) -> ClaimResult:
        """Claim that gradient-optimised prompts of ``length`` tokens, projected to real
        tokens, reach at least ``fraction`` of the neuron's highest activation on ``on`` in
        at least ``share_at_least`` of ``restarts`` seeded restarts (Clopper-Pearson bound)."""
        __tracebackhide__ = True
        from scipy.stats import binomtest

        from neurospec.measure.examples import optimise_prompt

        unit = neuron(self.unit)
        share = _threshold("share_at_least", share_at_least)
        c = _corpus(on)
        top = float(neuron_activations(self.model, c, unit).all_tokens.max())
        runs = [optimise_prompt(self.model, unit, length, steps, seed=self.ctx.seed * 1000 + r)
                for r in range(restarts)]
        hits = sum(r.activation >= fraction * top for r in runs)
        test = binomtest(hits, restarts, 0.5, alternative="greater")
        ci = test.proportion_ci(0.95, method="exact")
        verdict, missed = decide((float(ci.low), float(ci.high)), share, ">=")
        claim = (f"gradient-optimised {length}-token prompts (projected to real tokens) reach "
                 f">= {fraction:.0%} of {unit}'s top activation on {c.name} in >= {share:.0%} "
                 f"of {restarts} restarts")
        items = [{"set": f"restart {i}", "doc": "-", "max": r.activation,
                  "tokens": self.model.str_tokens(r.tokens),
                  "values": [0.0] * (len(r.tokens) - 1) + [r.activation]}
                 for i, r in enumerate(runs)]
        return self._finish(self._record(
            claim=claim, kind="prompt_optimisation", data={"names": [c.name], "hashes": [c.hash]},
            n=restarts, effect=hits / restarts, ci=(float(ci.low), float(ci.high)),
            p=float(test.pvalue), threshold=share, direction=">=", metric="share",
            verdict=verdict, missed=missed,
            method="Adam on free input embeddings, cosine projection; one-sided Clopper-Pearson",
            details={"units_label": "(share)", "top_activation_on_corpus": top,
                     "projected": [round(r.activation, 4) for r in runs],
                     "soft": [round(r.soft_activation, 4) for r in runs]},
            charts={"contexts": {"title": "optimised prompts, projected to real tokens "
                                          "(last token's activation)", "items": items}}))

    # -- weight gradients ------------------------------------------------------------------
    def updates_more(self, on: Corpus | str, than: Corpus | str, *, weights: str = "in",
                     by_at_least: float | None = None,
                     effect_size_at_least: float | None = None) -> ClaimResult:
        """Claim the LM-loss gradient on the neuron's weights (``weights='in'``: its ``W_in``
        row; ``'out'``: its ``W_out`` column) is larger, per document, on ``on`` than on
        ``than`` (seed 003).  Inference over documents as in :meth:`activates_more`; the
        record also gives the neuron's rank among its layer by mean gradient norm on ``on``.
        """
        __tracebackhide__ = True
        from neurospec.measure.gradients import weight_gradient_norms

        unit = neuron(self.unit)
        if weights not in ("in", "out"):
            raise InvalidArgument(f"updates_more(weights={weights!r}): use 'in' or 'out'",
                                  value=weights)
        metric, threshold, size = _size("updates_more", "mean gradient norms", by_at_least,
                                        effect_size_at_least)
        a_set, b_set = _corpus(on), _corpus(than)
        claim = (f"the loss gradient on {unit}'s W_{weights} is larger on {a_set.name} than on "
                 f"{b_set.name} {size}")
        data = {"names": [a_set.name, b_set.name], "hashes": [a_set.hash, b_set.hash],
                "docs": [len(a_set), len(b_set)]}
        weak = self._enough(claim, "weight_gradients",
                            {a_set.name: len(a_set), b_set.name: len(b_set)}, data)
        if weak:
            return self._finish(weak)

        def norms(c: Corpus) -> np.ndarray:
            g = self.model.cache.get_or_compute(
                ("wgrad", c.hash, self.model.prepend_bos, unit.layer),
                lambda: weight_gradient_norms(self.model, c, unit.layer))
            return g.w_in if weights == "in" else g.w_out

        na, nb = norms(a_set), norms(b_set)
        a, b = na[:, unit.index], nb[:, unit.index]
        est = two_sample(a, b, measure=metric, seed=self.ctx.seed)
        verdict, missed = decide(est.ci, threshold, ">=")
        rank = int(1 + (na.mean(0) > a.mean()).sum())
        return self._finish(self._record(
            claim=claim, kind="weight_gradients", data=data, n=est.n, effect=est.estimate,
            ci=est.ci, p=est.p_value, threshold=threshold, direction=">=", metric=metric,
            verdict=verdict, method=est.method + "; per-document gradients batched, exact",
            missed=missed,
            details={"units_label": "(gradient norm)" if metric == "mean_diff" else "(Cohen's d)",
                     "weights": f"W_{weights}", "mean_norm": {a_set.name: float(a.mean()),
                                                           b_set.name: float(b.mean())},
                     f"rank_in_layer_on_{a_set.name}": rank, "layer_size": self.model.d_mlp},
            charts={"histogram": {"title": f"per-document gradient norm on {unit}'s W_{weights}",
                                  "sets": {a_set.name: a.tolist(), b_set.name: b.tolist()}}}))

    def updates_more_for_wrong_answers(self, prompts: list[str], right: list[str],
                                       wrong: list[str], *, weights: str = "in",
                                       by_at_least: float = 0.0) -> ClaimResult:
        """Claim the answer-token loss gradient on the neuron's weights is larger, prompt by
        prompt, when a prompt is followed by a wrong answer than by the right one (seed 003:
        "Rome" vs "Paris"); paired per prompt, bootstrap CI of the mean difference."""
        __tracebackhide__ = True
        from neurospec.measure.gradients import weight_gradient_norms

        unit = neuron(self.unit)
        threshold = _threshold("by_at_least", by_at_least)
        if not (len(prompts) == len(right) == len(wrong)) or not prompts:
            raise InvalidArgument("updates_more_for_wrong_answers: prompts, right and wrong "
                                  "must be equally long, non-empty lists", value=len(prompts))
        for ans in (right, wrong):
            for p, a in zip(prompts, ans):
                whole, head_ids, ans_ids = self.model.encode([p + a, p, a])
                if len(ans_ids) != 1 or whole != head_ids + ans_ids:
                    raise InvalidArgument(
                        f"answer {a!r} after prompt {p[-30:]!r} is not one token appended to the "
                        f"prompt's tokens; use single-token answers that start a new word "
                        f"(e.g. ' Paris')", value=a)
        sets = {k: Corpus.from_texts([p + a for p, a in zip(prompts, ans)], name=f"{k} answers")
                for k, ans in (("right", right), ("wrong", wrong))}
        norms = {k: getattr(weight_gradient_norms(self.model, c, unit.layer, last_only=True),
                            f"w_{weights}")[:, unit.index] for k, c in sets.items()}
        diff = norms["wrong"] - norms["right"]
        claim = (f"the answer-loss gradient on {unit}'s W_{weights} is larger with wrong answers "
                 f"than with right ones by >= {threshold:g}")
        weak = self._enough(claim, "weight_gradients", {"prompts": len(diff)},
                            {"names": list(sets), "hashes": [c.hash for c in sets.values()]})
        if weak:
            return self._finish(weak)
        est = mean_ci(diff, seed=self.ctx.seed)
        verdict, missed = decide(est.ci, threshold, ">=")
        return self._finish(self._record(
            claim=claim, kind="weight_gradients",
            data={"names": list(sets), "hashes": [c.hash for c in sets.values()],
                  "docs": [len(diff)]}, n=est.n, effect=est.estimate, ci=est.ci,
            p=est.p_value, threshold=threshold, direction=">=", metric="paired_diff",
            verdict=verdict, method=est.method + "; loss on the answer token only",
            missed=missed, details={"units_label": "(gradient norm)", "weights": f"W_{weights}"},
            charts={"bars": {"title": f"answer-loss gradient norm on {unit}'s W_{weights}",
                             "unit": "", "items": [
                                 {"set": "right answers", **_bar(norms["right"], self.ctx.seed)},
                                 {"set": "wrong answers", **_bar(norms["wrong"], self.ctx.seed)},
                                 {"set": "wrong - right", **_bar(diff, self.ctx.seed)}]}}))

    # -- direct logit attribution ---------------------------------------------------------
    def writes_tokens(self, include: list[str], *, top_k: int = 20, at_least: int = 1,
                      folded: bool = True) -> ClaimResult:
        """Claim that at least ``at_least`` of the tokens ``include`` are among the ``top_k``
        tokens the neuron writes most directly (``W_out[n] @ W_U``, final LN folded as in
        TransformerLens's compatibility mode unless ``folded=False``).

        The weights are fixed, so the count has no sampling error; the p-value is the
        hypergeometric chance that ``top_k`` random vocabulary tokens hold that many of the set.
        """
        __tracebackhide__ = True
        from scipy.stats import hypergeom

        from neurospec.measure.logit_attribution import logit_attribution, single_token_ids

        unit = neuron(self.unit)
        for name, v in (("top_k", top_k), ("at_least", at_least)):
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise InvalidArgument(f"writes_tokens({name}={v!r}): expected a count >= 1",
                                      value=v)
        if isinstance(include, str) or not include:
            raise InvalidArgument("writes_tokens(include=...): expected a non-empty list of "
                                  "token strings, e.g. [' und', ' der']", value=include)
        ids = single_token_ids(self.model, list(include))
        dla = logit_attribution(self.model, unit, folded)
        top, bottom = dla.top(top_k), dla.bottom(top_k)
        wanted = set(ids)
        count = sum(t in wanted for t in top)
        vocab = int(dla.values.numel())
        p = float(hypergeom.sf(count - 1, vocab, len(wanted), top_k))
        verdict, missed = decide((count, count), at_least, ">=")
        strs = self.model.str_tokens

        def rows(tokens: list[int]) -> list[dict]:
            return [{"token": t, "value": float(dla.values[i]), "in_set": i in wanted}
                    for t, i in zip(strs(tokens), tokens)]

        claim = (f"{unit}'s top-{top_k} direct-logit tokens include >= {at_least} of "
                 f"{{{', '.join(repr(t) for t in include[:8])}{', ...' if len(include) > 8 else ''}}}")
        return self._finish(self._record(
            claim=claim, kind="logit_attribution",
            data={"names": ["weights"], "hashes": [self.model.fingerprint]}, n=top_k,
            effect=float(count), ci=(float(count), float(count)), p=p, threshold=float(at_least),
            direction=">=", metric="count_in_top_k", verdict=verdict,
            method="exact (weights); hypergeometric p-value", missed=missed,
            details={"units_label": "tokens", "folded_final_ln": folded,
                     "found": [strs([t])[0] for t in top if t in wanted],
                     "set_size": len(wanted), "vocab": vocab},
            charts={"token_table": {"title": f"tokens {unit} writes most / least directly "
                                             f"(W_out @ W_U{', final LN folded' if folded else ''})",
                                    "top": rows(top), "bottom": rows(bottom)}}))

    # -- ablation --------------------------------------------------------------------------
    def ablated(self, to: str | float = "mean", over: Corpus | str | None = None) -> "Ablated":
        """Ablate the neuron: ``to='zero'``, ``'mean'`` or ``'resample'`` (over a reference
        corpus), or a fixed number; then state what that does with :class:`Ablated`'s
        methods."""
        return Ablated(self, to, _corpus(over) if over is not None else None)


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

    def _measure(self, corpus: Corpus, alternative: str):
        eff = ablation_effect(self.model, self.ablation, corpus)
        est = mean_ci(eff.delta, seed=self.parent.ctx.seed, alternative=alternative)
        self.bars.append({"set": corpus.name, "mean": est.estimate, "ci": list(est.ci),
                          "n": est.n})
        return eff, est

    def _claim(self, corpus: Corpus, kind: str, claim: str, threshold: float, direction: str,
               alternative: str, random_k: int = 0) -> "Ablated":
        __tracebackhide__ = True
        data = {"names": [corpus.name] + ([self.over.name] if self.over else []),
                "hashes": [corpus.hash] + ([self.over.hash] if self.over else []),
                "docs": [len(corpus)]}
        weak = self.parent._enough(claim, kind, {corpus.name: len(corpus)}, data)
        if weak:
            self.parent._finish(weak)
        eff, est = self._measure(corpus, alternative)
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
        if random_k:
            null = _random_units(self.model, self.unit, self.to, self.over, corpus, random_k,
                                 self.parent.ctx.seed)
            pct = float(100 * np.mean(np.array(null["effects"]) < est.estimate))
            details.update(random_k=random_k, random_percentile=pct,
                           random_median=float(np.median(null["effects"])))
            charts["null"] = {"title": f"mean loss change on {corpus.name}: {self.unit} vs "
                                       f"{random_k} random neurons of layer {self.unit.layer}",
                              "unit_value": est.estimate, "values": null["effects"],
                              "units": null["units"]}
        record = self.parent._record(
            claim=claim, kind=kind, data=data, n=est.n, effect=est.estimate, ci=est.ci,
            p=est.p_value, threshold=threshold, direction=direction, metric="delta_loss",
            verdict=verdict, method=est.method, missed=missed, details=details, charts=charts)
        self.results.append(self.parent._finish(record))
        return self

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
        return self._claim(corpus, "ablation_loss", claim, threshold, ">=", "greater",
                           against_random)

    def and_not_on(self, corpus: Corpus | str, tolerance: float) -> "Ablated":
        """Claim the ablation changes the loss on ``corpus`` by less than ``tolerance`` nats
        either way (off-target damage): the whole CI must lie inside ±tolerance."""
        __tracebackhide__ = True
        tol = _threshold("tolerance", tolerance)
        c = _corpus(corpus)
        claim = f"{self.ablation.describe()} changes loss on {c.name} by less than ±{tol:g} nats"
        return self._claim(c, "ablation_loss", claim, tol, "within", "two-sided")

    changes_loss_within = and_not_on

    def runs_through(self, components: list[str], *, on: Corpus | str,
                     share_at_least: float) -> "Ablated":
        """Claim that patching only ``components`` (downstream hook names such as
        ``'blocks.1.hook_mlp_out'``) recovers at least ``share_at_least`` of the ablation's
        total effect on the loss of ``on`` (path patching, seed 000's ``get_direct_effect``).
        The share is a ratio of means over documents with a bootstrap percentile CI."""
        __tracebackhide__ = True
        from neurospec.measure.path_patching import path_patching
        from neurospec.stats.resample import bootstrap_rows

        share = _threshold("share_at_least", share_at_least)
        if isinstance(components, str):
            components = [components]
        corpus = _corpus(on)
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

    def ranks_in_top(self, k: int, on: Corpus | str, *, method: str = "auto") -> "Ablated":
        """Claim that, of all neurons of the unit's layer ablated alone the same way, this one
        raises the loss on ``on`` among the ``k`` most: the bootstrap CI of its rank (over
        documents, re-ranking every resample) must stay within 1..k."""
        __tracebackhide__ = True
        from neurospec.stats.resample import bootstrap_rows, rank_of

        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise InvalidArgument(f"ranks_in_top(k={k!r}): expected a count >= 1", value=k)
        corpus = _corpus(on)
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

        share = _threshold("share_at_least", share_at_least)
        if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= self.model.d_mlp:
            raise InvalidArgument(f"top_neurons_carry(k={k!r}): expected 1..{self.model.d_mlp}",
                                  value=k)
        corpus = _corpus(on)
        ref = _corpus(over) if over is not None else None
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


def _bar(values: np.ndarray, seed: int) -> dict:
    e = mean_ci(values, seed=seed)
    return {"mean": e.estimate, "ci": list(e.ci), "n": e.n}


def _head_charts(model, eff, est) -> dict:
    from neurospec.data.tokens import tokenize

    tc = tokenize(model, eff.corpus)
    delta = eff.delta
    items = []
    for d in np.argsort(-delta)[:3]:
        vals = eff.token_delta[d]
        w = _window(vals)
        items.append({"set": eff.corpus.name, "doc": eff.corpus.ids[d], "max": float(delta[d]),
                      "tokens": model.str_tokens(tc.docs[d][1:].numpy()[w]),
                      "values": vals[w].round(5).tolist()})
    charts = {"token_deltas": {"title": f"documents whose loss rose most ({eff.how}; per-token "
                                        f"loss change)", "items": items}}
    top = int(np.argmax(delta))
    toks = tc.docs[top][:24]
    store = {}
    name = f"blocks.{eff.head.layer}.attn.hook_pattern"
    model.logits(toks[None], [(name, lambda p, hook=None: store.__setitem__("p", p))])
    charts["attention"] = {
        "title": f"{eff.head} attention pattern on document {eff.corpus.ids[top]} (first "
                 f"{len(toks)} tokens)",
        "tokens": model.str_tokens(toks.tolist()),
        "pattern": store["p"][0, eff.head.index].double().round(decimals=3).tolist()}
    if est is not None:
        charts["bars"] = {"title": f"loss change when {eff.head} is {eff.how}", "unit": "nats",
                          "items": [{"set": eff.corpus.name, "mean": est.estimate,
                                     "ci": list(est.ci), "n": est.n}]}
    return charts


def _token_set(model, include) -> set[int]:
    """Token ids from a list of single-token strings, or from a predicate on token strings."""
    from neurospec.measure.logit_attribution import single_token_ids

    if callable(include):
        strs = model.str_tokens(range(model.d_vocab))
        found = {i for i, t in enumerate(strs) if include(t)}
        if not found:
            raise InvalidArgument("the token predicate matches no token of the vocabulary",
                                  value=include)
        return found
    if isinstance(include, str) or not include:
        raise InvalidArgument("expected a non-empty list of token strings (e.g. [' und', ' der']) "
                              "or a predicate on token strings", value=include)
    return set(single_token_ids(model, list(include)))


def _describe_set(include) -> str:
    if callable(include):
        return (include.__doc__ or getattr(include, "__name__", "the selected tokens")).strip()
    items = list(include)
    return "{" + ", ".join(repr(t) for t in items[:8]) + (", ...}" if len(items) > 8 else "}")


def _mechanism(d_logit: float, d_lse: float) -> str:
    """How the true token's log-prob change splits (log p = logit - log-sum-exp)."""
    if d_logit < 0 and d_lse > 0:
        return "both: the answer's logit falls and the log-sum-exp rises"
    if d_logit < 0:
        return "the answer's logit falls (partly offset by a falling log-sum-exp)"
    if d_lse > 0:
        return "the log-sum-exp rises: other tokens are boosted over the answer"
    return "the answer's log-prob does not fall"


def _data(corpus: Corpus, over: Corpus | None) -> dict:
    return {"names": [corpus.name] + ([over.name] if over else []),
            "hashes": [corpus.hash] + ([over.hash] if over else []), "docs": [len(corpus)]}


def _sweep(model, corpus: Corpus, layer: int, to, over, method: str):
    from neurospec.measure.sweep import neuron_sweep

    if isinstance(to, (int, float)) and not isinstance(to, bool):
        raise InvalidArgument("sweeps ablate every neuron to 'zero' or its 'mean'", value=to)
    key = ("sweep", corpus.hash, model.prepend_bos, layer, to, over.hash if over else None, method)
    return model.cache.get_or_compute(
        key, lambda: neuron_sweep(model, corpus, layer, to=to, over=over, method=method))


def _sweep_details(sweep) -> dict:
    order = sweep.ranking()
    return {"sweep_method": sweep.method, "exact": sweep.exact,
            "neurons": int(sweep.delta.shape[0]),
            "largest": {f"L{sweep.layer}N{i}": float(sweep.mean[i]) for i in order[:5]}}


def _sweep_charts(sweep, seed: int, highlight: int | None = None, show: int = 15) -> dict:
    from neurospec.stats.resample import bootstrap_means

    order = list(sweep.ranking()[:show])
    if highlight is not None and highlight not in order:
        order.append(highlight)
    boot = bootstrap_means(sweep.delta, seed=seed, n_resamples=500)
    items = []
    for i in order:
        lo, hi = np.quantile(boot[:, i], [0.025, 0.975])
        items.append({"set": f"L{sweep.layer}N{i}" + (" *" if i == highlight else ""),
                      "mean": float(sweep.mean[i]), "ci": [float(lo), float(hi)],
                      "n": int(sweep.delta.shape[1])})
    return {"bars": {"title": f"loss change on {sweep.corpus.name} when each neuron of "
                              f"MLP{sweep.layer} is ablated alone (top {show}, {sweep.method})",
                     "unit": "nats", "items": items}}


def _window(values: np.ndarray, before: int = 24, after: int = 8) -> slice:
    peak = int(np.argmax(np.abs(values)))
    return slice(max(0, peak - before), min(len(values), peak + after + 1))


def _top_contexts(model, acts, set_name: str, k: int) -> list[dict]:
    peaks = np.array([a.max() for a in acts.per_token])
    items = []
    for d in np.argsort(-peaks)[:k]:
        vals, toks = acts.per_token[d], acts.tokens[d]
        w = _window(vals)
        items.append({"set": set_name, "doc": acts.corpus.ids[d], "max": float(vals.max()),
                      "tokens": model.str_tokens(toks[w]), "values": vals[w].round(4).tolist()})
    return items


def _top_deltas(model, eff, k: int) -> list[dict]:
    from neurospec.data.tokens import tokenize

    tc = tokenize(model, eff.corpus)
    items = []
    for d in np.argsort(-eff.delta)[:k]:
        vals = eff.token_delta[d]
        toks = tc.docs[d][1:].numpy()  # the token each next-token loss predicts
        w = _window(vals)
        items.append({"set": eff.corpus.name, "doc": eff.corpus.ids[d],
                      "max": float(eff.delta[d]), "tokens": model.str_tokens(toks[w]),
                      "values": vals[w].round(5).tolist()})
    return items


def _random_units(model, unit: Neuron, to, over, corpus: Corpus, k: int, seed: int) -> dict:
    rng = np.random.default_rng([seed, unit.layer, unit.index])
    pool = [i for i in range(model.d_mlp) if i != unit.index]
    chosen = sorted(int(i) for i in rng.choice(pool, size=min(k, len(pool)), replace=False))
    effects = []
    for i in chosen:
        abl = make_ablation(model, Neuron(unit.layer, i), to, over, seed=seed)
        effects.append(float(ablation_effect(model, abl, corpus).delta.mean()))
    return {"units": [f"L{unit.layer}N{i}" for i in chosen], "effects": effects}
