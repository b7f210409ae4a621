"""Shared pieces of the claim helpers: the result object, argument checks, and the
evidence builders (contexts, token deltas, sweep and head charts)."""

from __future__ import annotations

import math
from dataclasses import replace as _replace
from typing import Any

import numpy as np

from neurospec.claims import context
from neurospec.claims.rerun import quiet
from neurospec.data.corpus import Corpus, load_corpus
from neurospec.errors import InvalidArgument
from neurospec.evidence.record import Record
from neurospec.measure.ablation import ablation_effect, make_ablation
from neurospec.stats.inference import mean_ci
from neurospec.units import Neuron

TOP_CONTEXTS = 8


class ClaimResult:
    """What a passing claim returns: its record, shown as the report's view in Jupyter."""

    def __init__(self, record: Record, call: Any = None) -> None:
        self.record = record
        self._call = call

    def but_not_when(self, **changes: Any) -> "ClaimResult":
        """A matched negative control: the same claim with the arguments in ``changes``
        replaced (e.g. ``on=`` a matched control set) must *not* hold.  It fails when the
        control passes too: then the claim's evidence does not depend on what it names.

        Example::

            expect(neuron("L0N230")).activates_more(
                on=corpus("german"), than=corpus("english"), by_at_least=0.5
            ).but_not_when(on=corpus("english").subset(200),
                           than=corpus("english").subset(200, start=200))
        """
        __tracebackhide__ = True
        from neurospec.claims.verdict import failure_message
        from neurospec.errors import ClaimFailed
        from neurospec.evidence.sink import replace_record

        if self._call is None or not changes:
            raise InvalidArgument("but_not_when(**changes) follows a claim about one unit and "
                                  "names the arguments to change, e.g. on=corpus('control')")
        call = self._call
        unknown = sorted(set(changes) - set(_parameters(call.fn)))
        if unknown:
            raise InvalidArgument(f"but_not_when(): {call.fn.__name__}() has no argument "
                                  f"{', '.join(unknown)}", value=unknown)
        from neurospec.claims.rerun import Call

        kwargs = {**_bind(call), **changes}
        control = Call(call.owner, call.fn, (), kwargs).on(call.owner.unit)
        if control is None:
            raise InvalidArgument("the matched negative could not be measured (an argument "
                                  "error): check the changed arguments", value=changes)
        info = {"claim": control.claim, "effect": control.effect, "ci": list(control.ci),
                "verdict": control.verdict}
        new = _replace(self.record, claim=f"{self.record.claim}; but not: {control.claim}",
                       details={**self.record.details, "matched_negative": info})
        if control.passed:
            new = _replace(new, verdict="fail", missed=(
                f"the matched negative holds too ({control.claim}: CI [{control.ci[0]:.4g}, "
                f"{control.ci[1]:.4g}]), so the claim does not single out its condition"))
        replace_record(self.record, new)
        self.record = new
        if not new.passed:
            raise ClaimFailed(failure_message(new), new)
        return self

    def beats_random_units(self, k: int = 20, percentile: float = 95.0) -> "ClaimResult":
        """Also require the unit to beat random units of its layer: the same claim is measured
        for ``k`` random units (same data, same way) and the unit's effect must lie at or
        above ``percentile`` among theirs (in the claim's direction).  The record gets the
        percentile and the null distribution (shown in the report with the unit marked)."""
        __tracebackhide__ = True
        from neurospec.claims.rerun import baseline
        from neurospec.claims.verdict import failure_message
        from neurospec.errors import ClaimFailed
        from neurospec.evidence.sink import replace_record

        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise InvalidArgument(f"beats_random_units(k={k!r}): expected a count >= 1", value=k)
        pct_needed = _threshold("percentile", percentile)
        if pct_needed > 100:
            raise InvalidArgument(f"beats_random_units(percentile={percentile!r}): a percentile "
                                  f"is 0..100", value=percentile)
        if self._call is None:
            raise InvalidArgument("beats_random_units() applies to a claim about one unit "
                                  "(expect(unit)....)")
        owner = self._call.owner
        parent = getattr(owner, "parent", owner)
        new, runs = baseline(self.record, self._call, k, parent.ctx.seed, parent.model,
                             getattr(parent, "sae", None))
        if new.percentile < pct_needed:
            new = _replace(new, verdict="fail", missed=(
                f"{new.unit} is at percentile {new.percentile:.0f} among {len(runs)} random "
                f"units of its layer, below the required {pct_needed:g}"))
        claim = f"{new.claim}; and beats >= {pct_needed:g}% of {len(runs)} random units"
        new = _replace(new, claim=claim)
        replace_record(self.record, new)
        self.record = new
        if not new.passed:
            raise ClaimFailed(failure_message(new), new)
        return self

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


def _parameters(fn) -> list[str]:
    import inspect

    return list(inspect.signature(fn).parameters)[1:]  # without self


def _bind(call) -> dict:
    """A call's arguments as keywords (positional ones named by the signature)."""
    import inspect

    bound = inspect.signature(call.fn).bind(call.owner, *call.args, **call.kwargs)
    out = dict(bound.arguments)
    out.pop(next(iter(out)))  # self
    return out


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
        raise InvalidArgument(f"{name}={value!r}: expected a finite number such as 0.05, "
                              f"not {type(value).__name__}", value=value)
    if value < minimum:
        raise InvalidArgument(f"{name}={value!r} must be >= {minimum}; state the claim's "
                              f"direction with the method (e.g. swap on= and than=) instead of "
                              f"a negative size", value=value)
    return float(value)


def _share(name: str, value: Any) -> float:
    """A threshold that is a fraction: a share above 1 could never be reached."""
    share = _threshold(name, value)
    if share > 1:
        raise InvalidArgument(f"{name}={value!r} is a share and must lie in [0, 1] "
                              f"(write 0.9 for 90%)", value=value)
    return share


def _underpowered(claim: str, kind: str, unit: str, model, ctx, sets: dict[str, int],
                  data: dict) -> Record | None:
    """The record of an underpowered claim when a set has fewer than ``ctx.min_docs``
    documents (too few for a bootstrap CI to mean anything), else None."""
    few = {k: v for k, v in sets.items() if v < ctx.min_docs}
    if not few:
        return None
    why = ", ".join(f"{k} has {v}" for k, v in few.items())
    return Record(
        claim=claim, kind=kind, unit=unit, model=model.info(), data=data,
        n=sum(sets.values()), effect=math.nan, ci=(math.nan, math.nan), p=math.nan,
        threshold=math.nan, direction=">=", metric="", verdict="underpowered", seed=ctx.seed,
        test=ctx.test,
        missed=f"underpowered: {why} documents; a 95% CI needs at least {ctx.min_docs} "
               f"per set (add documents, or lower --neurospec-min-docs)")


def _bar(values: np.ndarray, seed: int) -> dict:
    e = mean_ci(values, seed=seed)
    return {"mean": e.estimate, "ci": list(e.ci), "n": e.n}


def _head_charts(model, eff, est) -> dict:
    from neurospec.data.tokens import tokenize

    tc = tokenize(model, eff.corpus)
    delta = eff.delta
    charts = {"token_deltas": {"title": f"documents whose loss rose most ({eff.how}; per-token "
                                        f"loss change)", "items": _top_deltas(model, eff, 3)}}
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
    if quiet():  # a rerun for another unit keeps only the numbers
        return []
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

    if quiet():  # a rerun for another unit keeps only the numbers
        return []
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
    if to in ("zero", "mean") and (to == "zero" or over is not None):
        # All k ablations at once: the later blocks only, many neurons per pass.
        from neurospec.measure.sweep import _downstream, _values

        delta = _downstream(model, corpus, unit.layer, _values(model, unit.layer, to, over),
                            chosen)
        return {"units": [f"L{unit.layer}N{i}" for i in chosen],
                "effects": [float(x) for x in delta.mean(1)]}
    effects = []
    for i in chosen:
        abl = make_ablation(model, Neuron(unit.layer, i), to, over, seed=seed)
        effects.append(float(ablation_effect(model, abl, corpus).delta.mean()))
    return {"units": [f"L{unit.layer}N{i}" for i in chosen], "effects": effects}
