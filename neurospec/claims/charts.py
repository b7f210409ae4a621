"""Chart data for records: plain dicts built from measurements (no measuring here).

Each builder returns what one of the report's views draws: bars with CIs, token strips of
contexts and per-token loss changes, the bars of a per-neuron sweep, a head's attention.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from neurospec.evidence.payloads import Attention, Bar, Charts, Details, Null, Strip
from neurospec.stats.inference import mean_ci

if TYPE_CHECKING:
    from neurospec.measure.activations import UnitActivations
    from neurospec.measure.sweep import Sweep
    from neurospec.models.protocol import ModelBackend

TOP_CONTEXTS = 8


def bar(name: str, values: np.ndarray, seed: int) -> Bar:
    """A bar: ``name``, the mean of ``values``, its bootstrap CI and n."""
    e = mean_ci(values, seed=seed)
    return {"set": name, "mean": e.estimate, "ci": list(e.ci), "n": e.n}


def window(values: np.ndarray, before: int = 24, after: int = 8) -> slice:
    """The positions around the largest absolute value, as a context strip shows them."""
    peak = int(np.argmax(np.abs(values)))
    return slice(max(0, peak - before), min(len(values), peak + after + 1))


def peak_context(model: ModelBackend, acts: UnitActivations, d: int, set_name: str) -> Strip:
    """Document ``d`` of ``acts`` around its highest activation, as a token strip."""
    vals, toks = acts.per_token[d], acts.tokens[d]
    w = window(vals)
    return {"set": set_name, "doc": acts.corpus.ids[d], "max": float(vals.max()),
            "tokens": model.str_tokens(toks[w].tolist()), "values": vals[w].round(4).tolist()}


def top_contexts(model: ModelBackend, acts: UnitActivations, set_name: str, k: int
                 ) -> list[Strip]:
    """The ``k`` documents of ``acts`` with the highest peak activation, around the peak."""
    peaks = np.array([a.max() for a in acts.per_token])
    return [peak_context(model, acts, d, set_name) for d in np.argsort(-peaks)[:k]]


def top_deltas(model: ModelBackend, eff: Any, k: int) -> list[Strip]:
    """The ``k`` documents whose loss rose most under an ablation, per-token changes shown."""
    from neurospec.data.tokens import tokenize

    tc = tokenize(model, eff.corpus)
    items: list[Strip] = []
    for d in np.argsort(-eff.delta)[:k]:
        vals = eff.token_delta[d]
        toks = tc.docs[d][1:].numpy()  # the token each next-token loss predicts
        w = window(vals)
        items.append({"set": eff.corpus.name, "doc": eff.corpus.ids[d],
                      "max": float(eff.delta[d]), "tokens": model.str_tokens(toks[w].tolist()),
                      "values": vals[w].round(5).tolist()})
    return items


def attention(head: Any, doc_id: str, tokens: list[str], pattern: np.ndarray) -> Attention:
    """A head's attention pattern on one document's first tokens."""
    return {"title": f"{head} attention pattern on document {doc_id} (first {len(tokens)} "
                     f"tokens)", "tokens": tokens, "pattern": np.round(pattern, 3).tolist()}


def sweep_details(sweep: Sweep) -> Details:
    order = sweep.ranking()
    return {"sweep_method": sweep.method, "exact": sweep.exact,
            "neurons": int(sweep.delta.shape[0]),
            "largest": {f"L{sweep.layer}N{i}": float(sweep.mean[i]) for i in order[:5]}}


def sweep_charts(sweep: Sweep, seed: int, highlight: int | None = None, show: int = 15
                 ) -> Charts:
    """Bars of the ``show`` neurons whose single ablation raises the loss most."""
    from neurospec.stats.resample import bootstrap_means

    order = list(sweep.ranking()[:show])
    if highlight is not None and highlight not in order:
        order.append(highlight)
    boot = bootstrap_means(sweep.delta, seed=seed, n_resamples=500)
    items: list[Bar] = []
    for i in order:
        lo, hi = np.quantile(boot[:, i], [0.025, 0.975])
        items.append({"set": f"L{sweep.layer}N{i}" + (" *" if i == highlight else ""),
                      "mean": float(sweep.mean[i]), "ci": [float(lo), float(hi)],
                      "n": int(sweep.delta.shape[1])})
    return {"bars": {"title": f"loss change on {sweep.corpus.name} when each neuron of "
                              f"MLP{sweep.layer} is ablated alone (top {show}, {sweep.method})",
                     "unit": "nats", "items": items}}


def null_chart(title: str, unit_value: float, values: list[float], units: list[str]) -> Null:
    """Random units' effects with the claim's unit marked."""
    return {"title": title, "unit_value": unit_value, "values": values, "units": units}


def mechanism(d_logit: float, d_lse: float) -> str:
    """How the true token's log-prob change splits (log p = logit - log-sum-exp)."""
    if d_logit < 0 and d_lse > 0:
        return "both: the answer's logit falls and the log-sum-exp rises"
    if d_logit < 0:
        return "the answer's logit falls (partly offset by a falling log-sum-exp)"
    if d_lse > 0:
        return "the log-sum-exp rises: other tokens are boosted over the answer"
    return "the answer's log-prob does not fall"
