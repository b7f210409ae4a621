"""Synthetic records shaped like real ones (same kinds, charts and sizes as the bundled
suite's), for load-testing the report and for demos: ``neurospec report --sample 300``.

Numbers are random; nothing here is evidence about any model.
"""

from __future__ import annotations

from typing import cast

import numpy as np

from neurospec.evidence.payloads import Charts, Details
from neurospec.evidence.record import Record

WORDS = ["Der", " Hund", " und", " die", " Katze", " schlafen", " im", " Garten", ".", " The",
         " dog", " and", " the", " cat", " sleep", " in", " garden", ",", " ein", " ist",
         " <b>", " &amp;", "\n", " \"quoted\""]
KINDS = ["activation_contrast", "ablation_loss", "logit_attribution", "head_direct_effect",
         "top_examples", "weight_gradients", "path_patching", "neuron_sweep", "transcoder_path"]


def _tokens(rng: np.random.Generator, n: int) -> list[str]:
    return [WORDS[i] for i in rng.integers(0, len(WORDS), n)]


def _contexts(rng: np.random.Generator, k: int, length: int, title: str) -> dict:
    return {"title": title, "items": [
        {"set": "german" if i % 2 == 0 else "english", "doc": str(int(rng.integers(0, 400))),
         "max": float(rng.uniform(1, 4)), "tokens": _tokens(rng, length),
         "values": rng.normal(0.5, 1.0, length).round(4).tolist()} for i in range(k)]}


def sample_record(i: int, seed: int = 0, column: str = "") -> Record:
    """One synthetic record of kind ``KINDS[i % len(KINDS)]`` with that kind's charts."""
    rng = np.random.default_rng([seed, i])
    kind = KINDS[i % len(KINDS)]
    layer, idx = int(rng.integers(0, 2)), int(rng.integers(0, 256))
    unit = f"L{layer}N{idx}"
    effect = float(rng.normal(0.05, 0.05))
    half = float(rng.uniform(0.005, 0.03))
    threshold = 0.03
    ci = (effect - half, effect + half)
    direction, metric = ">=", "mean_diff"
    charts: dict = {}
    details: dict = {"units_label": "nats", "hook": f"blocks.{layer}.mlp.hook_post"}
    if kind == "activation_contrast":
        charts["histogram"] = {"title": f"per-document mean activation of {unit}", "sets": {
            "german": rng.normal(1.3, 0.4, 400).round(4).tolist(),
            "english": rng.normal(-0.06, 0.1, 400).round(4).tolist()}}
        charts["contexts"] = _contexts(rng, 11, 12, f"top activating contexts of {unit}")
        details["token_auroc"] = float(rng.uniform(0.5, 1))
    elif kind == "ablation_loss":
        charts["bars"] = {"title": f"loss change when ablating {unit}", "unit": "nats",
                          "items": [{"set": "german", "mean": effect, "ci": list(ci), "n": 400},
                                    {"set": "english", "mean": effect / 10,
                                     "ci": [effect / 10 - half, effect / 10 + half], "n": 400}]}
        charts["token_deltas"] = _contexts(rng, 3, 11, "documents whose loss rose most")
        null = rng.normal(0.003, 0.004, 20)
        charts["null"] = {"title": f"{unit} vs 20 random neurons of layer {layer}",
                          "values": null.tolist(), "unit_value": effect,
                          "units": [f"L{layer}N{j}" for j in rng.integers(0, 256, 20)]}
        details.update(random_k=20, random_percentile=float((null < effect).mean() * 100),
                       random_median=float(np.median(null)))
    elif kind == "logit_attribution":
        vals = np.sort(rng.normal(0, 1, 20))
        charts["token_table"] = {
            "title": f"tokens {unit} writes most / least (W_out @ W_U)",
            "top": [{"token": t, "value": float(v), "in_set": bool(j < 3)}
                    for j, (t, v) in enumerate(zip(_tokens(rng, 10), vals[::-1][:10]))],
            "bottom": [{"token": t, "value": float(v), "in_set": False}
                       for t, v in zip(_tokens(rng, 10), vals[:10])]}
    elif kind == "head_direct_effect":
        n = 24
        pattern = rng.random((n, n))
        pattern = np.tril(pattern) / np.tril(pattern).sum(1, keepdims=True)
        charts["attention"] = {"title": f"L{layer}H{idx % 4} attention pattern",
                               "tokens": _tokens(rng, n), "pattern": pattern.round(3).tolist()}
        charts["token_deltas"] = _contexts(rng, 3, 11, "documents whose loss rose most")
        charts["bars"] = {"title": "loss change", "unit": "nats",
                          "items": [{"set": "repeated", "mean": effect, "ci": list(ci), "n": 60}]}
        unit = f"L{layer}H{idx % 4}"
    elif kind == "path_patching":
        effect, ci, threshold = 0.6 + effect, (0.5 + effect, 0.7 + effect), 0.5
        metric = "recovered_share"
        details.update(units_label="(share)", total_effect=0.2, via_path=0.2 * effect)
        charts["bars"] = {"title": "loss change on german: total vs through L0H1", "unit": "nats",
                          "items": [{"set": s, "mean": m, "ci": [m - 0.02, m + 0.02], "n": 400}
                                    for s, m in (("total effect", 0.2), ("through path", 0.12),
                                                 ("other paths", 0.08))]}
    elif kind == "neuron_sweep":
        effect, ci, threshold, direction, metric = 2.0, (1.0, 4.0), 5.0, "<=", "rank"
        details.update(units_label="(rank)")
        charts["bars"] = {"title": f"loss change on german when each neuron of MLP{layer} is "
                                   f"ablated alone (top 15, exact)", "unit": "nats",
                          "items": [{"set": f"L{layer}N{j}", "mean": 0.1 / (j + 1),
                                     "ci": [0.08 / (j + 1), 0.12 / (j + 1)], "n": 400}
                                    for j in range(15)]}
    elif kind == "transcoder_path":
        unit, metric, threshold = f"L0T{idx}", "path_effect", 0.004
        effect, ci = abs(effect) / 5, (abs(effect) / 5 - half / 5, abs(effect) / 5 + half / 5)
        names = [unit, f"L1T{idx + 1}", "logit(' <b>&amp;')"]
        details.update(units_label="(logit)", path=names, path_edges=[
            {"source": a, "target": b, "effect": m, "ci": [m - 0.02, m + 0.02],
             "threshold": t, "verdict": "pass" if m - 0.02 >= t else "fail", "missed": "",
             "p": 0.001, "unit": u, "random_k": 8, "random_percentile": 100.0,
             "random_median": 0.001}
            for a, b, m, t, u in ((names[0], names[1], 0.13, 0.05, "pre-activation"),
                                  (names[1], names[2], 0.05, 0.01, "logit"))])
        charts["histogram"] = {"title": f"path effect of {' -> '.join(names)}",
                               "sets": {"german": rng.normal(effect, 0.01, 400).tolist()},
                               "unit": "logit"}
        charts["edge_histograms"] = [
            {"title": f"edge {a} -> {b}", "sets": {"german": rng.normal(m, 0.05, 400).tolist()},
             "unit": u, "threshold": t}
            for a, b, m, t, u in ((names[0], names[1], 0.13, 0.05, "pre-activation"),
                                  (names[1], names[2], 0.05, 0.01, "logit"))]
        null = rng.normal(0.0, 0.001, 8)
        charts["null"] = {"title": f"{unit} vs 8 random sources", "values": null.tolist(),
                          "unit_value": effect, "units": [f"L0T{j}" for j in range(8)]}
        charts["contexts"] = _contexts(rng, 3, 12, "where the path's effect comes from")
    elif kind == "top_examples":
        charts["contexts"] = _contexts(rng, 12, 4, f"top activating contexts of {unit}")
    else:
        charts["bars"] = {"title": f"gradient norm on {unit}'s W_in", "unit": "",
                          "items": [{"set": s, "mean": float(rng.uniform(0, 1)),
                                     "ci": [0.1, 0.9], "n": 40} for s in ("capitals", "other")]}
    holds = ci[0] >= threshold if direction == ">=" else ci[1] <= threshold
    verdict = "pass" if holds else ("underpowered" if i % 41 == 7 else "fail")
    return Record(
        claim=f"sample claim {i}: {kind} of {unit} {direction} {threshold}",
        kind=kind, unit=unit,
        model={"name": "tiny-bilingual", "checkpoint": column or None, "fingerprint": "0" * 16,
               "prepend_bos": True, "dtype": "float32", "compatibility_mode": False},
        data={"names": ["german", "english"], "hashes": ["h1", "h2"], "docs": [400, 400]},
        n=400, effect=effect, ci=ci, p=float(rng.uniform(0, 0.1)), threshold=threshold,
        direction=direction, metric=metric, verdict=verdict, seed=seed, method="bootstrap BCa",
        missed="" if verdict == "pass" else f"CI misses the threshold {threshold}",
        details=cast(Details, details), charts=cast(Charts, charts),
        test=f"hypotheses/test_sample.py::test_claim_{i}",
        checkpoint=column, outcome="passed" if verdict == "pass" else "failed")


def sample_records(n: int, seed: int = 0, columns: tuple[str, ...] = ("",)) -> list[Record]:
    """``n`` synthetic records per column (``columns``: checkpoint labels, ``""`` for none)."""
    return [sample_record(i, seed=seed + k, column=c)
            for k, c in enumerate(columns) for i in range(n)]
