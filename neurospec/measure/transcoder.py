"""Transcoder features on a model: checking a transcoder against a model, feature activations,
ablating a feature inside the replacement (error term kept), and how well transcoders stand in
for the MLPs (variance of the MLP outputs explained, loss recovered).

Ablation inside the replacement: block ``t``'s MLP output is written as ``T_t(x) + (MLP_t(x) -
T_t(x))``, the transcoders' prediction plus an error term held at its value.  Unablated this is
the model itself, exactly.  Ablating feature ``i`` of block ``L`` (to zero, or to a value ``v``)
changes only the feature's own decoder contribution: ``MLP_t += (v - f_i(x_L)) W_dec[i, t - L]``
for each block ``t`` the feature writes to (its own block; every later block for a cross-layer
transcoder), at every counted position.  ``f_i`` is read from the same pass.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from neurospec.data.corpus import Corpus
from neurospec.data.tokens import tokenize
from neurospec.errors import CheckpointError, InvalidArgument, UnitOutOfRange
from neurospec.measure.activations import UnitActivations, counted_tokens, hook_pass, split_docs
from neurospec.measure.forward import CorpusRun, clean_and, clean_key, run_corpus
from neurospec.measure.transcoder_files import TranscoderLike, load_transcoder
from neurospec.measure.transcoder_formats import Transcoder, TranscoderSet
from neurospec.models.protocol import Hook, ModelBackend
from neurospec.units import Unit

__all__ = ["Quality", "ReplacementAblation", "ReplacementEffect", "Transcoder",
           "TranscoderSet", "check_transcoder", "explained", "load_transcoder",
           "make_replacement_ablation", "replacement_effects", "replacement_quality",
           "transcoder_activations"]


def _check_one(model: ModelBackend, tc: Transcoder) -> None:
    model.check_hook_name(tc.hook_in)
    if tc.d_in != model.d_model or tc.d_out != model.d_model:
        raise CheckpointError(f"the transcoder from {tc.source} maps {tc.d_in}-dim inputs to "
                              f"{tc.d_out}-dim outputs but {model.name} has d_model "
                              f"{model.d_model}; it belongs to another model", value=tc.source)
    if tc.targets.stop > model.n_layers:
        raise CheckpointError(f"the transcoder from {tc.source} writes to blocks up to "
                              f"{tc.targets.stop - 1} but {model.name} has blocks "
                              f"0..{model.n_layers - 1}", value=tc.source)
    for t in tc.targets:
        model.check_hook_name(tc.hook_out(t))


def check_transcoder(model: ModelBackend, tc: TranscoderLike, feature: Unit | None = None
                     ) -> Transcoder:
    """The transcoder of ``feature``'s block (checked against the model: hooks, widths,
    blocks) and the feature in range; without a feature, a single transcoder checked."""
    if isinstance(tc, TranscoderSet):
        if feature is None:
            for one in tc.layers:
                _check_one(model, one)
            return tc.layers[0]
        tc = tc.at(feature.layer)
    _check_one(model, tc)
    if feature is not None:
        if feature.layer != tc.layer:
            raise InvalidArgument(f"{feature} is a block-{feature.layer} feature but the "
                                  f"transcoder reads {tc.hook_in}", value=feature)
        if not 0 <= feature.index < tc.d_tc:
            raise UnitOutOfRange(f"{feature}: the transcoder has features 0..{tc.d_tc - 1}",
                                 value=feature)
    return tc


def transcoder_activations(model: ModelBackend, tc: TranscoderLike, corpus: Corpus,
                           feature: Unit) -> UnitActivations:
    """The feature's activations at every counted position of every document."""
    one = check_transcoder(model, tc, feature)
    tcz = tokenize(model, corpus)
    flat, sizes = hook_pass(model, tcz, one.hook_in)
    with torch.no_grad():
        values = torch.cat([one.feature(c, feature.index) for c in torch.split(flat, 4096)])
    return UnitActivations(feature, corpus, split_docs(values.double().cpu().numpy(), sizes),
                           counted_tokens(model, tcz), tcz.truncated)


@dataclass(frozen=True)
class ReplacementAblation:
    """A transcoder feature set to ``value`` inside the replacement (error term kept)."""

    unit: Unit
    transcoder: Transcoder
    mode: str  # zero / mean / value
    value: float
    over: str | None

    def describe(self) -> str:
        what = {"zero": "zero-ablating", "mean": "mean-ablating", "value": "setting"}[self.mode]
        tail = (f" (mean over {self.over}, {self.value:.3g})" if self.mode == "mean" else
                f" to {self.value:g}" if self.mode == "value" else "")
        return f"{what} {self.unit}{tail} in the transcoder replacement"

    def key(self) -> tuple[str, str, str, float, str | None]:
        return (self.unit.name, self.transcoder.source, self.mode, self.value, self.over)


def make_replacement_ablation(model: ModelBackend, tc: TranscoderLike, unit: Unit,
                              to: str | float = "zero", over: Corpus | None = None
                              ) -> ReplacementAblation:
    """``to``: ``'zero'``, ``'mean'`` (over the corpus ``over``) or a number."""
    one = check_transcoder(model, tc, unit)
    if isinstance(to, (int, float)) and not isinstance(to, bool):
        if not np.isfinite(float(to)):
            raise InvalidArgument(f"ablated(to={to!r}): the value must be finite, e.g. to=0.0",
                                  value=to)
        return ReplacementAblation(unit, one, "value", float(to), None)
    if to == "zero":
        return ReplacementAblation(unit, one, "zero", 0.0, None)
    if to != "mean":
        raise InvalidArgument(f"ablated(to={to!r}): a transcoder feature is ablated to 'zero', "
                              f"'mean' (with over=<corpus>) or a number", value=to)
    if over is None:
        raise InvalidArgument(f"ablated(to='mean') needs over=<corpus>, the text whose mean "
                              f"activation of {unit} it uses, e.g. over=corpus('english')",
                              value=to)
    mean = float(transcoder_activations(model, one, over, unit).all_tokens.mean())
    return ReplacementAblation(unit, one, "mean", mean, over.name)


def ablation_hooks(ab: ReplacementAblation, first: int) -> list[Hook]:
    """The hooks of one pass: read the feature at the block's input, then move each target
    block's MLP output by ``(value - f) W_dec[i, t - L]`` from position ``first`` on."""
    tc, i = ab.transcoder, ab.unit.index
    store: dict[str, Tensor] = {}

    def read(x: Tensor, hook: object = None) -> None:
        store["f"] = tc.to(x.device).feature(x, i)

    def move(t: int) -> Hook:
        def fn(out: Tensor, hook: object = None) -> Tensor:
            d = tc.w_dec[i, t - tc.layer].to(out)
            change = (ab.value - store["f"]).to(out)[..., None] * d
            out = out.clone()
            out[:, first:] += change[:, first:]
            return out
        return (tc.hook_out(t), fn)

    return [(tc.hook_in, read)] + [move(t) for t in tc.targets]


@dataclass(frozen=True)
class ReplacementEffect:
    """Per-document losses with and without a feature ablated in the replacement."""

    ablation: ReplacementAblation
    corpus: Corpus
    clean: np.ndarray
    ablated: np.ndarray
    token_delta: tuple[np.ndarray, ...]
    truncated: int

    @property
    def delta(self) -> np.ndarray:
        delta: np.ndarray = self.ablated - self.clean
        return delta


def replacement_effects(model: ModelBackend, ablations: Sequence[ReplacementAblation],
                        corpus: Corpus) -> list[ReplacementEffect]:
    """Each ablation's effect on ``corpus`` (cached), the uncached ones in one call."""
    tcz = tokenize(model, corpus)
    keys = [("tc_ablation", corpus.hash, model.prepend_bos) + a.key() for a in ablations]
    found = {k: hit for k, key in enumerate(keys) if (hit := model.cache.get(key)) is not None}
    todo = [k for k in range(len(ablations)) if k not in found]
    if todo:
        factories = [functools.partial(lambda ab, docs, lengths: ablation_hooks(ab, tcz.first),
                                       ablations[k]) for k in todo]
        base, *runs = clean_and(model, tcz, *factories, what="transcoder ablation")
        for k, run in zip(todo, runs):
            found[k] = ReplacementEffect(
                ablations[k], corpus, base.doc_losses, run.doc_losses,
                tuple(a - b for a, b in zip(run.token_losses, base.token_losses)),
                tcz.truncated)
            model.cache.put(keys[k], found[k])
    return [found[k] for k in range(len(ablations))]


@dataclass(frozen=True)
class Quality:
    """How well a set of transcoders stands in for the MLPs on a corpus.

    Attributes:
        clean, replaced, zero: per-document mean losses of the model, of the model with every
            covered MLP's output replaced by the transcoders' prediction (no error term), and
            with those outputs zeroed.
        sse, sum_sq, sums: per block, per document: the squared error of the prediction of the
            MLP output ``y`` (on the clean model's inputs), ``sum |y|^2`` and ``sum y``
            (``[docs, d_model]``); ``tokens``: counted positions per document.
    """

    clean: np.ndarray
    replaced: np.ndarray
    zero: np.ndarray
    sse: dict[int, np.ndarray]
    sum_sq: dict[int, np.ndarray]
    sums: dict[int, np.ndarray]
    tokens: np.ndarray

    @property
    def loss_recovered(self) -> float:
        """``(zero - replaced) / (zero - clean)``, of the corpus means."""
        return float((self.zero.mean() - self.replaced.mean())
                     / (self.zero.mean() - self.clean.mean()))

    @property
    def variance_explained(self) -> dict[int, float]:
        """Per block, ``1 - sum |T(x) - y|^2 / sum |y - mean y|^2`` over all counted tokens."""
        return {layer: float(explained(self.sse[layer].sum(), self.sum_sq[layer].sum(),
                                       self.sums[layer].sum(0), float(self.tokens.sum())))
                for layer in self.sse}


def explained(sse: float | np.ndarray, sum_sq: float | np.ndarray, sums: np.ndarray,
              n: float | np.ndarray) -> np.ndarray | float:
    """``1 - sse / (sum_sq - |sums|^2 / n)`` (vectorised over leading dimensions)."""
    out: np.ndarray | float = 1.0 - sse / (sum_sq - (sums ** 2).sum(-1) / n)
    return out


def _predict(tcs: TranscoderSet, xs: dict[int, Tensor], target: int) -> Tensor:
    """The transcoders' prediction of block ``target``'s MLP output from the inputs ``xs``."""
    own = tcs.at(target)
    x = xs[target]
    out = own.own_output(x, own.encode(x))
    for src in tcs.layers:
        if src.layer < target and target in src.targets:
            out = out + src.decode(src.encode(xs[src.layer]), target)
    return out


def replacement_quality(model: ModelBackend, tcs: TranscoderLike, corpus: Corpus) -> Quality:
    """:class:`Quality` of ``tcs`` (one transcoder, or a set) on ``corpus``."""
    tcs = tcs if isinstance(tcs, TranscoderSet) else TranscoderSet((tcs,), tcs.source)
    check_transcoder(model, tcs)
    tcz = tokenize(model, corpus)
    layers = [t.layer for t in tcs.layers]
    if any(t not in layers for one in tcs.layers for t in one.targets):
        raise InvalidArgument(f"the transcoders from {tcs.source} write to blocks they do not "
                              f"read; the replacement needs a transcoder for each", value=layers)
    # one clean pass reads every block's MLP input and output, and gives the clean losses
    points = [p for t in tcs.layers for p in (t.hook_in, t.hook_out())]
    run = run_corpus(model, tcz, capture=points, losses=True)
    model.cache.put(clean_key(model, tcz), CorpusRun(run.token_losses, {}))
    xs = {t.layer: torch.cat(run.captured[t.hook_in]) for t in tcs.layers}
    sizes = [len(a) for a in run.captured[points[0]]]
    sse, sum_sq, sums = {}, {}, {}
    with torch.no_grad():
        for t in tcs.layers:
            y = torch.cat(run.captured[t.hook_out()])
            err = ((_predict(tcs, xs, t.layer) - y) ** 2).sum(-1).double()
            sse[t.layer] = np.array([float(e.sum()) for e in torch.split(err, sizes)])
            yd = y.double()
            sum_sq[t.layer] = np.array([float((c ** 2).sum()) for c in torch.split(yd, sizes)])
            sums[t.layer] = torch.stack([c.sum(0) for c in torch.split(yd, sizes)]).numpy()

    def replaced(docs: list[int], lengths: Tensor) -> list[Hook]:
        store: dict[int, Tensor] = {}

        def read(layer: int) -> Hook:
            def fn(x: Tensor, hook: object = None) -> None:
                store[layer] = x
            return (tcs.at(layer).hook_in, fn)

        def put(layer: int) -> Hook:
            def fn(out: Tensor, hook: object = None) -> Tensor:
                with torch.no_grad():
                    moved = TranscoderSet(tuple(t.to(out.device) for t in tcs.layers), "")
                    pred = _predict(moved, store, layer).to(out)
                out = out.clone()
                out[:, tcz.first:] = pred[:, tcz.first:]
                return out
            return (tcs.at(layer).hook_out(), fn)
        return [h for layer in layers for h in (read(layer), put(layer))]

    def zeroed(docs: list[int], lengths: Tensor) -> list[Hook]:
        def fn(out: Tensor, hook: object = None) -> Tensor:
            out = out.clone()
            out[:, tcz.first:] = 0
            return out
        return [(tcs.at(layer).hook_out(), fn) for layer in layers]

    clean, rep, zero = clean_and(model, tcz, replaced, zeroed, what="transcoder replacement")
    return Quality(clean.doc_losses, rep.doc_losses, zero.doc_losses, sse, sum_sq, sums,
                   np.array(sizes, dtype=np.float64))

