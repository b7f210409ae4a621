"""Top activating examples and greedy prompt simplification (seed 001).

- ``top_examples``: the ``k`` (document, position) pairs of some corpora where a neuron's
  activation is largest, with the context before each;
- ``simplify``: from a prompt whose last token activates the neuron, repeatedly delete the
  token whose removal lowers the activation least, while the activation stays at least
  ``keep`` of the original; the shortest prompt reached.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from neurospec.data.corpus import Corpus
from neurospec.measure.activations import neuron_activations
from neurospec.measure.forward import hook_output
from neurospec.models.protocol import ModelBackend
from neurospec.units import Neuron, check_unit


@dataclass(frozen=True)
class Example:
    corpus: str
    doc: str
    position: int  # among counted positions
    activation: float
    tokens: tuple[int, ...]  # the context up to and including the position
    values: tuple[float, ...]


def top_examples(model: ModelBackend, unit: Neuron, corpora: list[Corpus], k: int = 20,
                 context: int = 24) -> list[Example]:
    """The ``k`` highest activations of ``unit`` over all counted tokens of ``corpora``."""
    # (activation, corpus name, document, position, its values, its tokens)
    found: list[tuple[float, str, int, int, np.ndarray, np.ndarray]] = []
    for c in corpora:
        acts = neuron_activations(model, c, unit)
        for d, (vals, toks) in enumerate(zip(acts.per_token, acts.tokens)):
            for p in np.argsort(-vals)[:k]:
                found.append((float(vals[p]), c.name, d, int(p), vals, toks))
    found.sort(key=lambda x: -x[0])
    out: list[Example] = []
    for value, name, d, p, vals, toks in found[:k]:
        lo = max(0, p - context + 1)
        corpus = next(c for c in corpora if c.name == name)
        out.append(Example(name, corpus.ids[d], p, value, tuple(int(t) for t in toks[lo:p + 1]),
                           tuple(float(v) for v in vals[lo:p + 1])))
    return out


@torch.no_grad()
def last_token_activation(model: ModelBackend, unit: Neuron, prompts: list[list[int]]
                          ) -> np.ndarray:
    """The neuron's activation at the last token of each prompt (BOS prepended if set)."""
    check_unit(unit, model)
    bos = [model.bos_token_id] if model.prepend_bos else []
    seqs = [bos + list(p) for p in prompts]
    n = max(len(s) for s in seqs)
    ids = torch.tensor([s + [s[-1]] * (n - len(s)) for s in seqs])
    acts = hook_output(model, ids, unit.hook, unit.index)[:, :, 0].double()
    last = torch.tensor([len(s) - 1 for s in seqs])
    values: np.ndarray = acts[torch.arange(len(seqs)), last].cpu().numpy()
    return values


@dataclass(frozen=True)
class Simplification:
    original: tuple[int, ...]
    simplified: tuple[int, ...]
    original_activation: float
    activation: float
    steps: tuple[tuple[int, float], ...]  # (length, activation) after each deletion


def simplify(model: ModelBackend, unit: Neuron, prompt: list[int], keep: float = 0.5
             ) -> Simplification:
    """Greedy deletion keeping the last token and at least ``keep`` of the activation."""
    current = list(prompt)
    start = float(last_token_activation(model, unit, [current])[0])
    value = start
    steps: list[tuple[int, float]] = []
    while len(current) > 1:
        candidates = [current[:i] + current[i + 1:] for i in range(len(current) - 1)]
        acts = last_token_activation(model, unit, candidates)
        best = int(np.argmax(acts))
        if acts[best] < keep * start:
            break
        current, value = candidates[best], float(acts[best])
        steps.append((len(current), value))
    return Simplification(tuple(prompt), tuple(current), start, value, tuple(steps))


@torch.no_grad()
def noise_sensitivity(model: ModelBackend, unit: Neuron, prompt: list[int], sigma: float = 1.0,
                      samples: int = 16, seed: int = 0) -> np.ndarray:
    """Per prompt token, the mean drop of the neuron's last-token activation when Gaussian
    noise (``sigma`` times the embedding's RMS) is added to that token's embedding alone.

    One batch of ``len(prompt) * samples`` sequences; seeded.
    """
    check_unit(unit, model)
    bos = [model.bos_token_id] if model.prepend_bos else []
    ids = torch.tensor([bos + list(prompt)])
    first, n = len(bos), len(prompt)
    gen = torch.Generator().manual_seed(seed)
    base = float(last_token_activation(model, unit, [prompt])[0])
    batch = ids.expand(n * samples, -1).clone()
    store: dict[str, Tensor] = {}

    def noisy(emb: Tensor, hook: object = None) -> Tensor:
        emb = emb.clone()
        rms = emb.pow(2).mean().sqrt()
        # drawn on the CPU (the seeded generator; the same noise on any device), then moved
        noise = torch.randn(n * samples, emb.shape[-1], generator=gen) * sigma
        noise = noise.to(emb.device) * rms
        rows = torch.arange(n * samples, device=emb.device)
        emb[rows, first + rows // samples] += noise.to(emb)
        return emb

    def grab(act: Tensor, hook: object = None) -> None:
        store["a"] = act[:, -1, unit.index].double()

    model.logits(batch, [("hook_embed", noisy), (unit.hook, grab)])
    drops: np.ndarray = (base - store["a"].view(n, samples).mean(1)).cpu().numpy()
    return drops


@dataclass(frozen=True)
class OptimisedPrompt:
    tokens: tuple[int, ...]
    activation: float  # of the projected (real-token) prompt
    soft_activation: float  # of the continuous embeddings before projection
    trace: tuple[float, ...]  # soft activation every 10 steps


def optimise_prompt(model: ModelBackend, unit: Neuron, length: int = 5, steps: int = 100,
                    lr: float = 0.1, seed: int = 0) -> OptimisedPrompt:
    """Gradient ascent on ``length`` free input embeddings to maximise the neuron at the
    last position, then projection of each to the real token with the most similar
    (cosine) embedding; the projected prompt's activation is what counts."""
    check_unit(unit, model)
    w_e = model.embed_weight()  # [V, d]
    gen = torch.Generator().manual_seed(seed)
    start = torch.randint(0, w_e.shape[0], (length,), generator=gen)
    soft = w_e[start].clone().requires_grad_(True)
    bos = [model.bos_token_id] if model.prepend_bos else []
    ids = torch.tensor([bos + start.tolist()])
    opt = torch.optim.Adam([soft], lr=lr)
    store: dict[str, Tensor] = {}
    trace: list[float] = []

    def put(emb: Tensor, hook: object = None) -> Tensor:
        return torch.cat([emb[:, :len(bos)], soft[None]], dim=1)

    def grab(act: Tensor, hook: object = None) -> None:
        store["a"] = act[0, -1, unit.index]

    for step in range(steps):
        model.run(ids, [("hook_embed", put), (unit.hook, grab)], grad=True)
        with torch.enable_grad():
            loss = -store["a"]
            opt.zero_grad()
            torch.autograd.backward(loss)
            opt.step()
        if step % 10 == 0:
            trace.append(float(-loss))
    with torch.no_grad():
        sims = torch.nn.functional.normalize(soft, dim=-1) @ torch.nn.functional.normalize(
            w_e, dim=-1).T
        tokens = sims.argmax(-1).tolist()
    value = float(last_token_activation(model, unit, [tokens])[0])
    return OptimisedPrompt(tuple(tokens), value, trace[-1] if trace else float("nan"),
                           tuple(trace))
