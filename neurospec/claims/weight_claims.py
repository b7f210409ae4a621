"""Claims about a neuron's weights: where gradient updates land (seed 003) and what it
writes to the logits (seed 001).

Neuron claims only (:class:`neurospec.claims.expect.NeuronExpectation`); each claim function
measures and returns its record, :func:`unit_claim` ends it.
"""

from __future__ import annotations

import numpy as np

from neurospec.claims import checks
from neurospec.claims.charts import bar
from neurospec.claims.expectation import Scoped
from neurospec.claims.rerun import unit_claim
from neurospec.claims.verdict import decide
from neurospec.data.corpus import Corpus
from neurospec.data.dedupe import require_disjoint
from neurospec.data.near_duplicates import corpus_groups, group_summary
from neurospec.errors import InvalidArgument
from neurospec.evidence.payloads import TokenRow
from neurospec.evidence.record import Record
from neurospec.measure import shared
from neurospec.stats.inference import mean_ci, two_sample
from neurospec.stats.resample import rank_of
from neurospec.units import neuron


class NeuronWeightClaims(Scoped):
    """Claims about a neuron's weights."""

    @unit_claim
    def updates_more(self, on: Corpus | str, than: Corpus | str, *, weights: str = "in",
                     by_at_least: float | None = None,
                     effect_size_at_least: float | None = None) -> Record:
        """Claim the LM-loss gradient on the neuron's weights (``weights='in'``: its ``W_in``
        row; ``'out'``: its ``W_out`` column) is larger, per document, on ``on`` than on
        ``than`` (seed 003).  Inference over documents as in :meth:`activates_more`; the
        record also gives the neuron's rank among its layer by mean gradient norm on ``on``.
        """
        __tracebackhide__ = True
        unit = neuron(self.unit)
        if weights not in ("in", "out"):
            raise InvalidArgument(f"updates_more(weights={weights!r}): use 'in' or 'out'",
                                  value=weights)
        metric, threshold, size = checks.size("updates_more", "mean gradient norms", by_at_least,
                                        effect_size_at_least)
        a_set, b_set = checks.as_corpus(on), checks.as_corpus(than)
        require_disjoint(a_set, b_set)
        claim = (f"the loss gradient on {unit}'s W_{weights} is larger on {a_set.name} than on "
                 f"{b_set.name} {size}")
        data = checks.data_of(a_set, b_set)
        data["docs"] = [len(a_set), len(b_set)]
        data["duplicates_dropped"] = [len(a_set.dropped), len(b_set.dropped)]
        data["groups"] = [group_summary(a_set), group_summary(b_set)]
        weak = self.scope.underpowered(claim, "weight_gradients",
                                     {a_set.name: len(a_set), b_set.name: len(b_set)}, data)
        if weak:
            return weak

        def norms(c: Corpus) -> np.ndarray:
            g = shared.weight_gradients(self.model, c, unit.layer)
            out: np.ndarray = g.w_in if weights == "in" else g.w_out
            return out

        na, nb = norms(a_set), norms(b_set)
        a, b = na[:, unit.index], nb[:, unit.index]
        est = two_sample(a, b, measure=metric, seed=self.ctx.seed, threshold=threshold,
                         ids=(a_set.ids, b_set.ids),
                         groups=(corpus_groups(a_set), corpus_groups(b_set)))
        verdict, missed = decide(est.ci, threshold, ">=", est.undefined)
        # Ranked within the one vector of layer means: a column's own mean computed apart can
        # differ from its entry there in the last bit, and the unit would outrank itself.
        rank = int(rank_of(unit.index)(na.mean(0)))
        return self.scope.record(
            claim=claim, kind="weight_gradients", data=data, n=est.n, effect=est.estimate,
            ci=est.ci, p=est.p_value, threshold=threshold, direction=">=", metric=metric,
            verdict=verdict, method=est.method + "; per-document gradients batched, exact",
            missed=missed,
            details={"units_label": "(gradient norm)" if metric == "mean_diff" else "(Cohen's d)",
                     "weights": f"W_{weights}", "mean_norm": {a_set.name: float(a.mean()),
                                                           b_set.name: float(b.mean())},
                     "rank_in_layer": {a_set.name: rank}, "layer_size": self.model.d_mlp},
            charts={"histogram": {"title": f"per-document gradient norm on {unit}'s W_{weights}",
                                  "sets": {a_set.name: a.tolist(), b_set.name: b.tolist()}}})

    @unit_claim
    def updates_more_for_wrong_answers(self, prompts: list[str], right: list[str],
                                       wrong: list[str], *, weights: str = "in",
                                       by_at_least: float = 0.0) -> Record:
        """Claim the answer-token loss gradient on the neuron's weights is larger, prompt by
        prompt, when a prompt is followed by a wrong answer than by the right one (seed 003:
        "Rome" vs "Paris"); paired per prompt, bootstrap CI of the mean difference."""
        __tracebackhide__ = True
        from neurospec.measure.gradients import weight_gradient_norms

        unit = neuron(self.unit)
        threshold = checks.threshold("by_at_least", by_at_least)
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
        hashes = [c.hash for c in sets.values()]
        weak = self.scope.underpowered(claim, "weight_gradients", {"prompts": len(diff)},
                                     {"names": list(sets), "hashes": hashes})
        if weak:
            return weak
        est = mean_ci(diff, seed=self.ctx.seed, threshold=threshold)
        verdict, missed = decide(est.ci, threshold, ">=", est.undefined)
        return self.scope.record(
            claim=claim, kind="weight_gradients",
            data={"names": list(sets), "hashes": [c.hash for c in sets.values()],
                  "docs": [len(diff)], "files": [checks.origin(c) for c in sets.values()]},
            n=est.n, effect=est.estimate, ci=est.ci,
            p=est.p_value, threshold=threshold, direction=">=", metric="paired_diff",
            verdict=verdict, method=est.method + "; loss on the answer token only",
            missed=missed, details={"units_label": "(gradient norm)", "weights": f"W_{weights}"},
            charts={"bars": {"title": f"answer-loss gradient norm on {unit}'s W_{weights}",
                             "unit": "", "items": [
                                 bar("right answers", norms["right"], self.ctx.seed),
                                 bar("wrong answers", norms["wrong"], self.ctx.seed),
                                 bar("wrong - right", diff, self.ctx.seed)]}})

    @unit_claim
    def writes_tokens(self, include: list[str], *, top_k: int = 20, at_least: int = 1,
                      folded: bool = True) -> Record:
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
        checks.count("top_k", top_k, method="writes_tokens")
        checks.count("at_least", at_least, method="writes_tokens")
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

        def rows(tokens: list[int]) -> list[TokenRow]:
            return [{"token": t, "value": float(dla.values[i]), "in_set": i in wanted}
                    for t, i in zip(strs(tokens), tokens)]

        shown = ", ".join(repr(t) for t in include[:8]) + (", ..." if len(include) > 8 else "")
        claim = f"{unit}'s top-{top_k} direct-logit tokens include >= {at_least} of {{{shown}}}"
        return self.scope.record(
            claim=claim, kind="logit_attribution",
            data={"names": ["weights"], "hashes": [self.model.fingerprint]}, n=top_k,
            effect=float(count), ci=(float(count), float(count)), p=p, threshold=float(at_least),
            direction=">=", metric="count_in_top_k", verdict=verdict,
            method="exact (weights); hypergeometric p-value", missed=missed,
            details={"units_label": "tokens", "n_unit": "top-k", "folded_final_ln": folded,
                     "found": [strs([t])[0] for t in top if t in wanted],
                     "set_size": len(wanted), "vocab": vocab},
            charts={"token_table": {"title": f"tokens {unit} writes most / least directly (W_out "
                                             f"@ W_U{', final LN folded' if folded else ''})",
                                    "top": rows(top), "bottom": rows(bottom)}})
