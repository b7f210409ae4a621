"""Ablating a unit read as one coordinate of a hook (a neuron, a residual direction ...) and
measuring the per-document change of the next-token loss.

The ablation replaces the unit's coordinate at every counted (non-BOS) position by: zero;
its mean over a reference corpus; a fixed value; or (``resample``) the value the unit has at
a random counted position of a reference corpus (seeded).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from neurospec.data.corpus import Corpus
from neurospec.data.tokens import TokenizedCorpus, tokenize
from neurospec.errors import InvalidArgument
from neurospec.measure.activations import unit_activations
from neurospec.measure.forward import HookFactory, clean_run, run_corpus
from neurospec.models.protocol import ModelBackend
from neurospec.units import HookedUnit, check_unit


@dataclass(frozen=True)
class Ablation:
    """How a unit is ablated: the mode, and the reference it takes values from."""

    unit: HookedUnit
    mode: str
    value: float | None  # the replacement (zero / mean / value); None for resample
    over: str | None  # name of the reference corpus (mean / resample)
    pool: np.ndarray | None = None  # resample: activations to draw from
    seed: int = 0

    def describe(self) -> str:
        if self.mode == "zero":
            return f"zero-ablating {self.unit}"
        if self.mode == "mean":
            return f"ablating {self.unit} (mean over {self.over}, {self.value:.3g})"
        if self.mode == "value":
            return f"setting {self.unit} to {self.value:g}"
        return f"resample-ablating {self.unit} (from {self.over})"

    def key(self) -> tuple:
        return (self.unit.name, self.mode, self.value, self.over, self.seed)


def make_ablation(model: ModelBackend, unit: HookedUnit, to: str | float = "mean",
                  over: Corpus | None = None, seed: int = 0) -> Ablation:
    """Build an :class:`Ablation`; ``to`` is ``'zero'``, ``'mean'``, ``'resample'`` or a number."""
    check_unit(unit, model)
    if isinstance(to, bool) or not isinstance(to, (str, int, float)):
        raise InvalidArgument(f"ablated(to={to!r}): expected 'zero', 'mean', 'resample' or a "
                              f"number", value=to)
    if isinstance(to, (int, float)):
        largest = float(torch.finfo(getattr(torch, str(model.dtype))).max)
        try:
            value = float(to)
        except OverflowError:
            value = float("inf")
        if not abs(value) <= largest:
            raise InvalidArgument(f"ablated(to={to!r:.40}): the value must be finite and fit the "
                                  f"model's {model.dtype} (|to| <= {largest:.3g}); activations "
                                  f"are of order 1-10, e.g. to=0.0", value=to)
        return Ablation(unit, "value", value, None)
    if to not in ("zero", "mean", "resample"):
        raise InvalidArgument(f"ablated(to={to!r}): unknown mode; use 'zero', 'mean', "
                              f"'resample' or a number", value=to)
    if to == "zero":
        return Ablation(unit, "zero", 0.0, None)
    if over is None:
        raise InvalidArgument(f"ablated(to={to!r}) needs over=<corpus>, the text whose "
                              f"activations of {unit} it uses, e.g. over=corpus('english')",
                              value=to)
    acts = unit_activations(model, over, unit).all_tokens
    if to == "mean":
        return Ablation(unit, "mean", float(acts.mean()), over.name)
    return Ablation(unit, "resample", None, over.name, pool=acts, seed=seed)


@dataclass(frozen=True)
class AblationEffect:
    """Per-document losses with and without the ablation, on one corpus."""

    ablation: Ablation
    corpus: Corpus
    clean: np.ndarray  # per doc mean loss (nats)
    ablated: np.ndarray
    token_delta: tuple[np.ndarray, ...]  # per doc, per next-token position
    truncated: int

    @property
    def delta(self) -> np.ndarray:
        """Per-document change of the mean loss (ablated - clean)."""
        return self.ablated - self.clean


def set_column(index: int, value: float | torch.Tensor, first: int) -> Callable:
    """The one column-ablation hook: set coordinate ``index`` of the hook's last dimension
    at every position from ``first`` on to ``value`` (a number, or per-position values
    ``[batch, pos]``)."""
    def fn(act, hook=None):
        act = act.clone()
        if isinstance(value, torch.Tensor):
            act[:, first:, index] = value[:, first:act.shape[1]].to(act)
        else:
            act[:, first:, index] = value
        return act
    return fn


def ablation_hooks(ablation: Ablation, tc: TokenizedCorpus) -> HookFactory:
    """Per batch of ``tc``, the hook applying ``ablation`` (resampled values are seeded by the
    batch's first document, so every pass over the same batch draws the same)."""
    unit = ablation.unit

    def hooks(docs: list[int], lengths: torch.Tensor):
        value = ablation.value
        if ablation.mode == "resample":
            gen = np.random.default_rng([ablation.seed, docs[0]])
            value = torch.tensor(gen.choice(ablation.pool, size=(len(lengths), int(lengths.max()))),
                                 dtype=torch.float32)
        return [(unit.hook, set_column(unit.index, value, tc.first))]
    return hooks


def ablation_effect(model, ablation: Ablation, corpus: Corpus) -> AblationEffect:
    """Losses on ``corpus`` with and without ``ablation``, paired per document (cached)."""
    tc = tokenize(model, corpus)

    def compute():
        base = clean_run(model, tc)
        run = run_corpus(model, tc, hooks=ablation_hooks(ablation, tc))
        return AblationEffect(ablation, corpus, base.doc_losses, run.doc_losses,
                              tuple(a - b for a, b in zip(run.token_losses, base.token_losses)),
                              tc.truncated)

    return model.cache.get_or_compute(("ablation", corpus.hash, model.prepend_bos) + ablation.key(),
                                      compute)
