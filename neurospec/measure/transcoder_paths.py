"""Paths through transcoder features: the direct effect along each edge of a chain
``A -> B -> ... -> T`` (``T`` a later feature's pre-activation, or one token's logit) and the
effect of the path as a whole, as attribution graphs define them.

Everything after the first feature's block is frozen at its value on the document: every
attention pattern and norm scale (for a logit target the final norm's scale too) and every MLP
output except the path features' own decoder writes (their other features and errors are
other nodes).  The target is then linear in each feature's contribution.

**Edge** ``X -> Y`` (as :func:`~neurospec.measure.transcoder_edges.direct_effects`), per
counted target token ``q``::

    e_XY(q) = sum_p a_X(p) J_XY(p, q),      J_XY(p, q) = d y_Y(q) / d a_X(p) (frozen)

where a unit of ``a_X(p)`` writes X's decoder row(s) at position ``p`` and ``y_Y`` is Y's
pre-activation, or the token's logit (the unembedding of the final norm with its scale
frozen; the logit itself, not demeaned).

**Path** ``A -> B -> T``, per counted target token ``q``::

    path(q) = sum_p' sum_p a_A(p) J_AB(p, p') g_B(p') J_BT(p', q)

with ``g_B(p')`` B's local derivative at its clean pre-activation: ``[pre > 0]`` for ReLU,
``[pre > threshold]`` for JumpReLU (the jump itself is not differentiated, as in attribution
graphs), ``[B is among the top k and active]`` for TopK.  This is A's linear effect on ``T``
carried through B only: A's direct effect on B's pre-activation at each position, passed
through B's gate there, times B's direct effect per unit activation on ``T``.  A longer path
gets one ``J g`` factor per intermediate feature.  Source positions are the counted ones (not
BOS), as in ``drives()``; intermediate positions are all positions.

Per document each quantity is summed over the counted target tokens; a claim divides corpus
sums by the counted tokens.

Computation: one forward pass per batch with zero coefficients along the path features'
decoder rows (and the random sources' rows); each edge is one backward pass from ``y`` summed
over counted tokens; the path propagates ``c_T = [q counted]`` back through the chain,
``c_k(p) = g_k(p) * d <c_{k+1}, y_k> / d coef_k(p)``, and ends with ``a_A * d <c_1, y_0> /
d coef_A``.  The TransformerLens backend only (freezing needs its ``hook_pattern`` and
``hook_scale`` points).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from neurospec.data.corpus import Corpus
from neurospec.data.tokens import tokenize
from neurospec.errors import InvalidArgument, UnsupportedArchitecture
from neurospec.measure.transcoder import Transcoder
from neurospec.measure.transcoder_edges import refuse_unfreezable
from neurospec.models.protocol import Hook, ModelBackend

__all__ = ["Logit", "PathEffects", "Step", "gate", "logit", "path_effects", "token_id"]


@dataclass(frozen=True)
class Logit:
    """A token's logit at every counted position, as the end of a path
    (``logit(" Berlin")``, or a token id)."""

    token: str | int

    def __str__(self) -> str:
        return f"logit({self.token!r})"


def logit(token: str | int) -> Logit:
    """The logit of ``token`` (one token of the model's vocabulary, or its id) as the target
    of ``drives()``: ``expect("L0T3", transcoder=tc).drives(logit(" Berlin"), via="L1T7",
    ...)``."""
    if isinstance(token, bool) or not isinstance(token, (str, int)) or token == "":
        raise InvalidArgument(f"logit({token!r}): give one token as text (e.g. ' Berlin', with "
                              f"its leading space) or its id", value=token)
    return Logit(token)


def token_id(model: ModelBackend, target: Logit) -> int:
    """The vocabulary id of ``target``'s token; text must be exactly one token."""
    vocab = int(model.unembed_weight().shape[-1])
    if isinstance(target.token, int):
        if not 0 <= target.token < vocab:
            raise InvalidArgument(f"{target}: {model.name} has token ids 0..{vocab - 1}",
                                  value=target.token)
        return target.token
    ids = model.encode([target.token])[0]
    if len(ids) != 1:
        pieces = model.str_tokens(ids)
        raise InvalidArgument(f"{target} is {len(ids)} tokens for {model.name} ({pieces}); a "
                              f"logit is one token: name one, e.g. logit({pieces[0]!r}) if "
                              f"any, or give its id", value=target.token)
    return int(ids[0])


@dataclass(frozen=True)
class Step:
    """A feature on a path: feature ``index`` of ``tc``; ``others``: random features of the
    same transcoder measured as sources of the edge out of it (its baseline; for the first
    step also the path's)."""

    tc: Transcoder
    index: int
    others: tuple[int, ...] = ()

    @property
    def sources(self) -> list[int]:
        return [self.index, *self.others]


@dataclass(frozen=True)
class PathEffects:
    """Per-document sums over counted target tokens.

    Attributes:
        edges: per edge ``k`` (step ``k`` to the next step or the target),
            ``[1 + len(others_k), docs]``: row 0 the path's feature, then its random others.
        path: ``[1 + len(others_0), docs]``: the path from the first step (row 0) and from
            each of its random others through the same features to the same target.
        tokens: counted target tokens per document.
        by_source: per document, the path's effect (row 0) split by source position (its
            counted positions), for the card's contexts.
        source_tokens: per document, the token ids at those positions.
    """

    edges: tuple[np.ndarray, ...]
    path: np.ndarray
    tokens: np.ndarray
    by_source: tuple[np.ndarray, ...]
    source_tokens: tuple[np.ndarray, ...]


def gate(tc: Transcoder, x: Tensor, index: int) -> Tensor:
    """Feature ``index``'s local derivative (activation by pre-activation) at inputs ``x``
    ``[..., d_in]``: 1 where it passes its pre-activation on, else 0 (see the module)."""
    pre = tc.pre(x)
    if tc.activation == "topk":
        return (tc.encode(x)[..., index] != 0).to(pre.dtype)
    if tc.activation == "jumprelu":
        assert tc.threshold is not None, "a JumpReLU transcoder is read with its threshold"
        return (pre[..., index] > tc.threshold[index]).to(pre.dtype)
    return (pre[..., index] > 0).to(pre.dtype)


def _check(model: ModelBackend, steps: Sequence[Step], target: Step | int) -> list[int]:
    """The blocks of the steps and the target (``n_layers`` for a logit), increasing."""
    refuse_unfreezable(model)
    if not steps:
        raise InvalidArgument("a path starts at a transcoder feature", value=steps)
    ends = [s.tc.layer for s in steps]
    ends.append(target.tc.layer if isinstance(target, Step) else model.n_layers)
    for a, b in zip(ends, ends[1:]):
        if b <= a:
            raise InvalidArgument(f"a feature of block {a} reaches the features of later blocks "
                                  f"only, not block {b}: list a path's features by block, "
                                  f"earliest first", value=ends)
    if not isinstance(target, Step) and model.architecture.logit_softcap is not None:
        raise UnsupportedArchitecture(f"{model.name} soft-caps its logits (tanh), so a logit is "
                                      f"not linear in a feature's contribution; end the path at "
                                      f"a feature", value=model.name)
    return ends


def _frozen(model: ModelBackend, first: int, end: int, to_logit: bool) -> list[str]:
    names = []
    for layer in range(first + 1, min(end, model.n_layers - 1) + 1):
        names += [f"blocks.{layer}.attn.hook_pattern", f"blocks.{layer}.ln1.hook_scale",
                  f"blocks.{layer}.ln2.hook_scale"]
        if layer < end:
            names.append(f"blocks.{layer}.hook_mlp_out")
    if to_logit:
        names.append("ln_final.hook_scale")
    return names


def _grad(y: Tensor, weight: Tensor, coef: Tensor) -> Tensor:
    """``d <weight, y> / d coef`` (zeros where ``y`` does not depend on ``coef``)."""
    (g,) = torch.autograd.grad((y * weight.to(y)).sum(), coef, retain_graph=True,
                               allow_unused=True)
    return torch.zeros_like(coef) if g is None else g


def path_effects(model: ModelBackend, steps: Sequence[Step], target: Step | int,
                 corpus: Corpus) -> PathEffects:
    """Each edge's and the whole path's direct effects on ``corpus`` (see the module);
    ``target`` a feature (its ``others`` unused) or a token id (its logit)."""
    ends = _check(model, steps, target)
    to_logit = not isinstance(target, Step)
    frozen = _frozen(model, ends[0], ends[-1], to_logit)
    writes: dict[str, list[tuple[int, int]]] = {}  # hook -> (step, block written)
    for k, s in enumerate(steps):
        for t in s.tc.targets:
            if t < ends[k + 1]:
                writes.setdefault(s.tc.hook_out(t), []).append((k, t))
    for name in frozen + list(writes):
        model.check_hook_name(name)
    tcz = tokenize(model, corpus)
    n_docs = len(tcz.docs)
    edges = [np.zeros((len(s.sources), n_docs)) for s in steps]
    path = np.zeros((len(steps[0].sources), n_docs))
    tokens = np.zeros(n_docs)
    by_source: list[np.ndarray] = [np.zeros(0)] * n_docs
    src_tokens: list[np.ndarray] = [np.zeros(0, dtype=np.int64)] * n_docs
    for docs, ids, lengths in tcz.batches(model.batch_tokens):
        store: dict[str, Tensor] = {}

        def read(k: int, s: Step, store: dict[str, Tensor] = store) -> Hook:
            def fn(x: Tensor, hook: object = None) -> None:
                tc = s.tc.to(x.device)
                with torch.no_grad():
                    a = tc.encode(x.detach())[..., s.sources]  # [b, pos, 1 + others]
                store[f"a{k}"] = a
                store[f"c{k}"] = torch.zeros_like(a).requires_grad_(True)
                if k:  # the end of the edge into this step
                    store[f"y{k - 1}"] = tc.pre(x)[..., s.index]
                    store[f"g{k}"] = gate(tc, x.detach(), s.index)
            return (s.tc.hook_in, fn)

        def write(name: str, ks: list[tuple[int, int]], store: dict[str, Tensor] = store
                  ) -> Hook:
            def fn(out: Tensor, hook: object = None) -> Tensor:
                out = out.detach()
                for k, t in ks:
                    s = steps[k]
                    d = s.tc.w_dec[s.sources, t - s.tc.layer].to(out)  # [1 + others, d]
                    out = out + store[f"c{k}"].to(out) @ d
                return out
            return (name, fn)

        def freeze(x: Tensor, hook: object = None) -> Tensor:
            return x.detach()

        def read_target(x: Tensor, hook: object = None, store: dict[str, Tensor] = store
                        ) -> None:
            assert isinstance(target, Step)
            store[f"y{len(steps) - 1}"] = target.tc.to(x.device).pre(x)[..., target.index]

        hooks: list[Hook] = [read(k, s) for k, s in enumerate(steps)]
        hooks += [write(name, ks) for name, ks in writes.items()]
        hooks += [(name, freeze) for name in frozen if name not in writes]
        if isinstance(target, Step):
            hooks.append((target.tc.hook_in, read_target))
        out = model.run(ids, hooks, grad=True)
        if not isinstance(target, Step):  # the token's logit
            store[f"y{len(steps) - 1}"] = out[..., target]
        mask = torch.arange(ids.shape[1])[None] < lengths[:, None]
        mask[:, :tcz.first] = False
        with torch.enable_grad():
            m = mask.to(out.device)
            grads = [_grad(store[f"y{k}"], m, store[f"c{k}"]) for k in range(len(steps))]
            weight = m.to(grads[-1].dtype)
            for k in range(len(steps) - 1, 0, -1):
                g = grads[k] if k == len(steps) - 1 else _grad(store[f"y{k}"], weight,
                                                              store[f"c{k}"])
                weight = (store[f"g{k}"] * g[..., 0]).detach()
            through = (grads[0] if len(steps) == 1 else
                       _grad(store["y0"], weight, store["c0"]))
        src = m[..., None].to(grads[0].dtype)
        per_edge = [(store[f"a{k}"] * g * src).detach().double().cpu()
                    for k, g in enumerate(grads)]
        per_path = (store["a0"] * through * src).detach().double().cpu()  # [b, pos, 1 + R]
        for row, (d, length) in enumerate(zip(docs, lengths.tolist())):
            for k, e in enumerate(per_edge):
                edges[k][:, d] = e[row, tcz.first:length].sum(0).numpy()
            path[:, d] = per_path[row, tcz.first:length].sum(0).numpy()
            tokens[d] = length - tcz.first
            by_source[d] = per_path[row, tcz.first:length, 0].numpy()
            src_tokens[d] = ids[row, tcz.first:length].cpu().numpy()
    return PathEffects(tuple(edges), path, tokens, tuple(by_source), tuple(src_tokens))
