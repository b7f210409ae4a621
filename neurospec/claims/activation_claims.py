"""Claims about a unit's activations: contrasts between text sets, top examples,
simplification, prompt optimisation and property-based prompts (seeds 000, 001).

:func:`activates_more` serves neurons and SAE features (``self._acts`` gives the unit's
activations); :class:`NeuronActivationClaims` holds the claims that only neurons have.
Each claim function measures and returns its record; :func:`unit_claim` ends it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from neurospec.claims import checks
from neurospec.claims import sequential_claims as sq
from neurospec.claims.charts import TOP_CONTEXTS, peak_context, top_contexts
from neurospec.claims.contrast_sizes import DEFINITIONS, LABELS, contrast_size
from neurospec.claims.expectation import Scoped
from neurospec.claims.rerun import unit_claim
from neurospec.claims.verdict import decide
from neurospec.data.corpus import Corpus
from neurospec.data.dedupe import require_disjoint
from neurospec.data.near_duplicates import corpus_groups, group_summary
from neurospec.errors import InvalidArgument
from neurospec.evidence.payloads import Charts, Details, Strip
from neurospec.evidence.record import Record
from neurospec.measure.activations import neuron_activations
from neurospec.stats.clustered import token_auroc_ci, token_d_ci
from neurospec.stats.effects import auroc
from neurospec.stats.inference import two_sample
from neurospec.stats.proportion import share_ci
from neurospec.units import neuron

if TYPE_CHECKING:
    from neurospec.claims.conclude import Scope
    from neurospec.claims.context import Context
    from neurospec.measure.activations import UnitActivations
    from neurospec.models.protocol import ModelBackend


class ActivationSource(Protocol):
    """What :func:`activates_more` needs of the claims class it is a method of."""

    @property
    def scope(self) -> Scope: ...

    @property
    def unit(self) -> Any: ...

    @property
    def model(self) -> ModelBackend: ...

    @property
    def ctx(self) -> Context: ...

    @property
    def sae(self) -> Any: ...

    def _acts(self, corpus: Corpus) -> UnitActivations: ...


@unit_claim
def activates_more(self: ActivationSource, on: Corpus | str, than: Corpus | str, *,
                   auroc_at_least: float | None = None, by_at_least: float | None = None,
                   effect_size_at_least: float | None = None,
                   sequential: bool | None = None) -> Record:
    """Claim the unit activates more on ``on`` than on ``than``.  Give exactly one size:

    - ``auroc_at_least``: the token-level AUROC, the chance that a counted token of ``on``
      activates more than one of ``than`` (ties 1/2);
    - ``effect_size_at_least``: the token-level Cohen's d, the difference of token means
      over the token standard deviation of the two sets weighted equally,
      ``sqrt((var_on + var_than) / 2)`` (it does not grow with document length, nor change
      with the sets' sizes);
    - ``by_at_least``: the difference of document means, in activation units.

    Passes when the 95% CI clears the size.  Tokens of one document are not independent:
    the AUROC and d CIs resample whole documents (studentized bootstrap with a Satterthwaite
    and small-sample floor, :mod:`neurospec.stats.clustered`), the difference of means uses
    a bootstrap-t over document means with the permutation and skew guards.  Near-copies and
    declared groups of a corpus are resampled as one document.  A CI that cannot be
    computed (no spread) fails the claim as undefined.  ``sequential``: stop once a
    confidence sequence decides (:mod:`neurospec.claims.sequential`).
    """
    __tracebackhide__ = True
    unit = self.unit
    kind = "sae_feature" if self.sae is not None else "activation_contrast"
    metric, threshold, size = contrast_size(auroc_at_least, by_at_least, effect_size_at_least)
    a_set, b_set = checks.as_corpus(on), checks.as_corpus(than)
    require_disjoint(a_set, b_set)
    claim = f"{unit} activates more on {a_set.name} than on {b_set.name} {size}"
    data = checks.data_of(a_set, b_set)
    data["docs"] = [len(a_set), len(b_set)]
    data["duplicates_dropped"] = [len(a_set.dropped), len(b_set.dropped)]
    data["groups"] = [group_summary(a_set), group_summary(b_set)]
    weak = self.scope.underpowered(claim, kind, {a_set.name: len(a_set), b_set.name: len(b_set)},
                                 data)
    if weak:
        return weak
    if seq := sq.sequential_on(self.scope, sequential):
        out, a, b = sq.contrast(self, (a_set, b_set), metric, threshold)
    else:
        if (prefetch := getattr(self, "_prefetch", None)) is not None:
            prefetch([a_set, b_set])  # a remote model: both sets in one request
        a, b = self._acts(a_set), self._acts(b_set)
        groups = (corpus_groups(a_set), corpus_groups(b_set))  # near-copies resample together
        if metric == "mean_diff":
            est = two_sample(a.doc_means, b.doc_means, measure=metric, seed=self.ctx.seed,
                             threshold=threshold, ids=(a_set.ids, b_set.ids), groups=groups)
        else:
            fn = token_auroc_ci if metric == "token_auroc" else token_d_ci
            est = fn(a.per_token, b.per_token, seed=self.ctx.seed, null=threshold,
                     groups=groups)
        verdict, missed = decide(est.ci, threshold, ">=", est.undefined)
        if not all(np.isfinite(est.ci)):
            verdict, missed = "fail", (f"undefined: the CI of the {LABELS[metric]} could not "
                                       f"be computed (a resample without variance)")
    ta, tb = a.all_tokens, b.all_tokens
    data["truncated"] = [a.truncated, b.truncated]
    # a rerun (random-unit baseline, vacuity) keeps only the verdict and the effect
    details: Details = {
        "units_label": f"({LABELS[metric]})", "definition": DEFINITIONS[metric],
        "token_auroc": float("nan") if self.scope.rerun else auroc(ta, tb),
        "doc_auroc": float("nan") if self.scope.rerun else auroc(a.doc_means, b.doc_means),
        "token_mean": {a_set.name: float(ta.mean()), b_set.name: float(tb.mean())},
        "doc_mean": {a_set.name: float(a.doc_means.mean()), b_set.name: float(b.doc_means.mean())},
        "frac_tokens_above_0": {a_set.name: float((ta > 0).mean()),
                                b_set.name: float((tb > 0).mean())},
        "n_docs": {a_set.name: len(a.corpus), b_set.name: len(b.corpus)},
        "n_tokens": {a_set.name: int(ta.size), b_set.name: int(tb.size)},
        "hook": self.sae.hook if self.sae is not None else unit.hook,
    }
    if self.sae is not None:
        details["sae"] = self.sae.source
    charts: Charts = {
        "histogram": {"title": f"per-document mean activation of {unit}",
                      "sets": {a_set.name: a.doc_means.tolist(),
                               b_set.name: b.doc_means.tolist()}},
        "contexts": {"title": f"top activating contexts of {unit}",
                     "items": [] if self.scope.rerun else  # a rerun keeps only the numbers
                     top_contexts(self.model, a, a_set.name, TOP_CONTEXTS)
                     + top_contexts(self.model, b, b_set.name, 3)},
    }
    if seq:
        return sq.sequential_record(self, out, claim=claim, kind=kind, data=data, metric=metric,
                                 what=LABELS[metric], details=details, charts=charts)
    return self.scope.record(
        claim=claim, kind=kind, data=data, n=est.n, effect=est.estimate,
        ci=est.ci, p=est.p_value, threshold=threshold, direction=">=", metric=metric,
        verdict=verdict, method=est.method, missed=missed, details=details, charts=charts)


class NeuronActivationClaims(Scoped):
    """The activation claims of MLP neurons."""

    @unit_claim
    def top_examples_come_from(self, on: Corpus | str, among: list[Corpus | str], *,
                               k: int = 50, share_at_least: float = 0.9) -> Record:
        """Claim that of the ``k`` *documents* of ``on`` and ``among`` where the neuron fires
        most (each document counted once, by its highest activation), at least
        ``share_at_least`` are in ``on``.

        Documents, not tokens: one document's many high tokens are not independent examples
        (one German document among English ones would otherwise supply most of the top
        tokens).  The share gets a one-sided Clopper-Pearson bound and a binomial p-value
        against ``on``'s share of all documents.
        """
        __tracebackhide__ = True
        unit = neuron(self.unit)
        share = checks.share("share_at_least", share_at_least)
        target = checks.as_corpus(on)
        sets = [target] + [checks.as_corpus(c) for c in among]
        names = [c.name for c in sets]
        n_docs = sum(len(c) for c in sets)
        checks.count("k", k, maximum=n_docs, method="top_examples_come_from")
        claim = (f"of the {k} documents of {', '.join(names)} where {unit} fires most, "
                 f">= {share:.0%} are in {target.name}")
        data = checks.data_of(*sets)
        data["docs"] = [len(c) for c in sets]
        weak = self.scope.underpowered(claim, "top_examples", {c.name: len(c) for c in sets}, data)
        if weak:
            return weak
        acts = [neuron_activations(self.model, c, unit) for c in sets]
        peaks = [(float(v.max()), s, d) for s, a in enumerate(acts)
                 for d, v in enumerate(a.per_token) if len(v)]
        top = sorted(peaks, key=lambda x: -x[0])[:k]
        hits = sum(s == 0 for _, s, _ in top)
        est = share_ci(hits, len(top), len(target) / n_docs)
        verdict, missed = decide(est.ci, share, ">=", est.undefined)
        items = [peak_context(self.model, acts[s], d, names[s]) for _, s, d in top[:12]]
        return self.scope.record(
            claim=claim, kind="top_examples", data=data, n=len(top), effect=est.estimate,
            ci=est.ci, p=est.p_value, threshold=share, direction=">=", metric="share",
            verdict=verdict, missed=missed,
            method="top documents by peak activation (one per document); one-sided 95% "
                   "Clopper-Pearson bound; binomial test against the document base rate",
            details={"units_label": "(share)", "base_rate": len(target) / n_docs,
                     "from": {n: sum(names[s] == n for _, s, _ in top) for n in names}},
            charts={"contexts": {"title": f"top activating documents of {unit} (12 of {k}, "
                                          f"around each document's peak)", "items": items}})

    @unit_claim
    def simplifies(self, on: Corpus | str, *, k: int = 10, keep: float = 0.5,
                   max_tokens: int = 3, share_at_least: float = 0.8) -> Record:
        """Claim that greedy deletion (drop the token whose removal lowers the activation
        least, keep the last token and ``keep`` of the activation) shrinks at least
        ``share_at_least`` of the neuron's top-``k`` contexts in ``on`` to ``max_tokens``
        tokens or fewer.  Clopper-Pearson CI on the share."""
        __tracebackhide__ = True
        from neurospec.measure.examples import noise_sensitivity, simplify, top_examples

        unit = neuron(self.unit)
        share = checks.share("share_at_least", share_at_least)
        checks.count("k", k, method="simplifies")
        checks.count("max_tokens", max_tokens, minimum=0, method="simplifies")
        keep = checks.share("keep", keep)
        c = checks.as_corpus(on)
        ex = top_examples(self.model, unit, [c], k=k)
        done = [simplify(self.model, unit, list(e.tokens), keep=keep) for e in ex]
        hits = sum(len(sm.simplified) <= max_tokens for sm in done)
        est = share_ci(hits, len(done), 0.5)
        verdict, missed = decide(est.ci, share, ">=", est.undefined)
        silent = sum(sm.original_activation <= 0 for sm in done)
        if silent:  # "keep 50% of nothing" holds for any prompt: the claim cannot be shown
            verdict, missed = "fail", (f"undefined: {unit} does not fire (activation <= 0) on "
                                       f"{silent} of its top {len(done)} contexts in {c.name}, "
                                       f"so what a simplification keeps of it is undefined")
        claim = (f"greedy simplification keeps >= {keep:.0%} of {unit}'s activation in <= "
                 f"{max_tokens} tokens for >= {share:.0%} of its top {k} contexts in {c.name}")
        items: list[Strip] = [{"set": f"{len(sm.original)}->{len(sm.simplified)} tokens",
                  "doc": e.doc,
                  "max": sm.activation, "tokens": self.model.str_tokens(sm.simplified),
                  "values": [0.0] * (len(sm.simplified) - 1) + [sm.activation]}
                 for e, sm in zip(ex, done)]
        return self.scope.record(
            claim=claim, kind="simplification", data={"names": [c.name], "hashes": [c.hash],
                                                             "files": [checks.origin(c)]},
            n=len(done), effect=est.estimate, ci=est.ci,
            p=est.p_value, threshold=share, direction=">=", metric="share",
            verdict=verdict, missed=missed,
            method="greedy deletion; one-sided 95% Clopper-Pearson bound",
            details={"units_label": "(share)", "n_unit": "contexts", "keep": keep,
                     "max_tokens": max_tokens,
                     "lengths": [len(sm.simplified) for sm in done],
                     "kept": [round(sm.activation / sm.original_activation, 3)
                              if sm.original_activation > 0 else float("nan") for sm in done]},
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
                                                    seed=self.ctx.seed).round(4).tolist()}]}})

    @unit_claim
    def optimised_prompts_reach(self, on: Corpus | str, *, fraction: float = 0.75,
                                restarts: int = 8, length: int = 5, steps: int = 100,
                                share_at_least: float = 0.5) -> Record:
        """Claim that gradient-optimised prompts of ``length`` tokens, projected to real
        tokens, reach at least ``fraction`` of the neuron's highest activation on ``on`` in
        at least ``share_at_least`` of ``restarts`` seeded restarts (Clopper-Pearson bound)."""
        __tracebackhide__ = True
        from neurospec.measure.examples import optimise_prompt

        unit = neuron(self.unit)
        share = checks.share("share_at_least", share_at_least)
        fraction = checks.threshold("fraction", fraction)
        for name, value in (("restarts", restarts), ("length", length), ("steps", steps)):
            checks.count(name, value, method="optimised_prompts_reach")
        c = checks.as_corpus(on)
        top = float(neuron_activations(self.model, c, unit).all_tokens.max())
        runs = [optimise_prompt(self.model, unit, length, steps, seed=self.ctx.seed * 1000 + r)
                for r in range(restarts)]
        hits = sum(r.activation >= fraction * top for r in runs)
        est = share_ci(hits, restarts, 0.5)
        verdict, missed = decide(est.ci, share, ">=", est.undefined)
        claim = (f"gradient-optimised {length}-token prompts (projected to real tokens) reach "
                 f">= {fraction:.0%} of {unit}'s top activation on {c.name} in >= {share:.0%} "
                 f"of {restarts} restarts")
        items: list[Strip] = [{"set": f"restart {i}", "doc": "-", "max": r.activation,
                  "tokens": self.model.str_tokens(r.tokens),
                  "values": [0.0] * (len(r.tokens) - 1) + [r.activation]}
                 for i, r in enumerate(runs)]
        return self.scope.record(
            claim=claim, kind="prompt_optimisation", data={"names": [c.name], "hashes": [c.hash],
                                                             "files": [checks.origin(c)]},
            n=restarts, effect=est.estimate, ci=est.ci,
            p=est.p_value, threshold=share, direction=">=", metric="share",
            verdict=verdict, missed=missed,
            method="Adam on free input embeddings, cosine projection; one-sided Clopper-Pearson",
            details={"units_label": "(share)", "n_unit": "prompts",
                     "top_activation_on_corpus": top,
                     "projected": [round(r.activation, 4) for r in runs],
                     "soft": [round(r.soft_activation, 4) for r in runs]},
            charts={"contexts": {"title": "optimised prompts, projected to real tokens "
                                          "(last token's activation)", "items": items}})

    @unit_claim
    def fires_on(self, strategy: Any, *, above: float, share_at_least: float = 0.95,
                 n: int = 200, name: str = "generated prompts",
                 sequential: bool | None = None) -> Record:
        """Claim the neuron's activation at the last token exceeds ``above`` on at least
        ``share_at_least`` of prompts drawn from ``strategy`` (a prompt strategy of
        :mod:`neurospec.strategies`).

        ``n`` prompts are drawn i.i.d. from the strategy's distribution (seeded: every token
        uniform over its list) and run in one batch; the share gets a one-sided
        Clopper-Pearson bound.  Then hypothesis searches for a counterexample and shrinks it:
        the minimal prompt on which the neuron stays at or below ``above`` is shown in the
        report (a claim for all prompts, ``share_at_least=1``, fails when one is found).
        ``sequential`` (a share claim): draw in batches, stop once a betting confidence
        sequence of the share decides (default: the run's ``--neurospec-sequential``).
        """
        __tracebackhide__ = True
        from hypothesis import HealthCheck, Phase, find, settings
        from hypothesis.errors import NoSuchExample

        from neurospec.measure.examples import last_token_activation
        from neurospec.strategies import sampler

        unit = neuron(self.unit)
        share = checks.share("share_at_least", share_at_least)
        if isinstance(above, bool) or not isinstance(above, (int, float)):
            raise InvalidArgument(f"fires_on(above={above!r}): expected a number", value=above)
        checks.count("n", n, method="fires_on")
        draw = sampler(strategy)
        if draw is None:
            raise InvalidArgument(
                "fires_on needs a prompt distribution it can sample i.i.d.: build the strategy "
                "with neurospec.strategies (prompts, replaced_columns); hypothesis's own draws "
                "favour simple examples and are not a sample of it", value=strategy)
        rng = np.random.default_rng([self.ctx.seed, unit.layer, unit.index])
        drawn = [draw(rng) for _ in range(n)]
        parts: list[np.ndarray] = []

        def measured(start: int, stop: int) -> np.ndarray:
            parts.extend(last_token_activation(self.model, unit, drawn[i:min(i + 256, stop)])
                         for i in range(start, stop, 256))
            return np.concatenate(parts)[start:stop] > above
        seq = None  # a share claim in sequential mode stops once its sequence decides
        if share < 1 and sq.sequential_on(self.scope, sequential):
            seq = sq.read_shares(measured, n, share, bool(self.model.narrow_reads))
        else:
            measured(0, n)
        acts = np.concatenate(parts)
        hits = int((acts > above).sum())
        est = share_ci(hits, len(acts), max(share, 1e-9) if share < 1 else 0.5)
        minimal: list[int] | None = None
        try:
            minimal = list(find(strategy, lambda p: last_token_activation(
                self.model, unit, [list(p)])[0] <= above, settings=settings(
                    # a for-all claim searches as long as the batch; a share claim briefly
                    max_examples=n if share >= 1.0 else min(n, 50), database=None,
                    derandomize=True, deadline=None,
                    # no explain phase: its line tracer (sys.settrace) made every forward
                    # pass during the search 5x slower (2.6 -> 13 ms per prompt)
                    phases=[Phase.generate, Phase.shrink],
                    suppress_health_check=list(HealthCheck))))
        except NoSuchExample:
            pass
        if share >= 1.0:  # a claim for all prompts: any prompt at or below fails it
            verdict = "pass" if minimal is None and hits == len(acts) else "fail"
            missed = "" if verdict == "pass" else (
                f"{len(acts) - hits} of {len(acts)} drawn prompts stay at or below {above:g}"
                + ("; hypothesis found a counterexample (shown)" if minimal is not None else ""))
        else:
            verdict, missed = decide(est.ci, share, ">=", est.undefined)
        claim = (f"{unit} fires above {above:g} at the last token of >= {share:.0%} of {name}")
        charts: Charts = {"histogram": {
            "title": f"{unit}'s last-token activation on {len(acts)} {name}",
                                "sets": {name: acts.tolist()}}}
        if minimal is not None:
            value = float(last_token_activation(self.model, unit, [minimal])[0])
            charts["contexts"] = {"title": "minimal counterexample found by hypothesis (shrunk)",
                                  "items": [{"set": "counterexample", "doc": "-", "max": value,
                                             "tokens": self.model.str_tokens(minimal),
                                             "values": [0.0] * (len(minimal) - 1) + [value]}]}
        if seq:
            return sq.sequential_record(
                self, seq, claim=claim, kind="property", data={"names": [name], "hashes": [
                    "generated"]}, metric="share", what="share of prompts", charts=charts,
                details={"units_label": "(share)", "n_unit": "prompts", "above": above,
                         "mean_activation": float(acts.mean()), "counterexample": None
                         if minimal is None else self.model.str_tokens(minimal)},
                method_note="hypothesis counterexample search with shrinking")
        return self.scope.record(
            claim=claim, kind="property", data={"names": [name], "hashes": ["generated"]},
            n=len(acts), effect=est.estimate, ci=est.ci, p=est.p_value,
            threshold=share, direction=">=", metric="share", verdict=verdict, missed=missed,
            method="seeded i.i.d. prompts from the strategy's distribution, one batch; one-sided "
                   "Clopper-Pearson bound; hypothesis counterexample search with shrinking",
            details={"units_label": "(share)", "n_unit": "prompts", "above": above,
                     "mean_activation": float(acts.mean()),
                     "counterexample": None if minimal is None else self.model.str_tokens(minimal)},
            charts=charts)
