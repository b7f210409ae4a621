"""Ablating a unit read as one coordinate of a hook (a neuron, a residual direction ...) and
measuring the per-document change of the next-token loss.

The ablation replaces the unit's coordinate at every counted (non-BOS) position by: zero;
its mean over a reference corpus; a fixed value; or (``resample``) the value the unit has at
a random counted position of a reference corpus (seeded).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from neurospec.data.corpus import Corpus
from neurospec.data.tokens import TokenizedCorpus, tokenize
from neurospec.errors import InvalidArgument
from neurospec.measure.activations import unit_activations
from neurospec.measure.forward import HookFactory, clean_and
from neurospec.models.passes import SetColumn
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

    def key(self) -> tuple[str, str, float | None, str | None, int]:
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
        delta: np.ndarray = self.ablated - self.clean
        return delta


def set_column(index: int, value: float | Tensor, first: int) -> SetColumn:
    """The one column-ablation hook function: set coordinate ``index`` of the hook's last
    dimension at every position from ``first`` on to ``value`` (a number, or per-position
    values ``[batch, pos]``); :class:`~neurospec.models.passes.SetColumn` as a hook."""
    return SetColumn("", index, value, first)


def ablation_hooks(ablation: Ablation, tc: TokenizedCorpus) -> HookFactory:
    """Per batch of ``tc``, the hook applying ``ablation`` (resampled values are seeded by the
    batch's first document, so every pass over the same batch draws the same)."""
    unit = ablation.unit

    def hooks(docs: list[int], lengths: Tensor) -> list[SetColumn]:
        value: float | Tensor | None = ablation.value
        if ablation.mode == "resample":
            assert ablation.pool is not None, "a resample ablation draws from its pool"
            gen = np.random.default_rng([ablation.seed, docs[0]])
            value = torch.tensor(gen.choice(ablation.pool,
                                            size=(len(lengths), int(lengths.max()))),
                                 dtype=torch.float32)
        assert value is not None, "only a resample ablation has no fixed value"
        return [SetColumn(unit.hook, unit.index, value, tc.first)]
    return hooks


def ablation_effect(model: ModelBackend, ablation: Ablation, corpus: Corpus) -> AblationEffect:
    """Losses on ``corpus`` with and without ``ablation``, paired per document (cached).
    Without the clean losses in the cache, both passes are one call (one remote request)."""
    return ablation_effects(model, [ablation], corpus)[0]


def ablation_effects(model: ModelBackend, ablations: list[Ablation], corpus: Corpus
                     ) -> list[AblationEffect]:
    """:func:`ablation_effect` of several ablations on one corpus: those not cached are
    measured in one call of ``run_passes`` (with the clean run when it is not cached), which
    a remote backend sends as one request (a random-unit baseline's units share it)."""
    tc = tokenize(model, corpus)
    keys = [("ablation", corpus.hash, model.prepend_bos) + a.key() for a in ablations]
    found: dict[int, AblationEffect] = {}
    for k, key in enumerate(keys):
        if (hit := model.cache.get(key)) is not None:
            found[k] = hit
    todo = [k for k in range(len(ablations)) if k not in found]
    if todo:
        base, *runs = clean_and(model, tc, *[ablation_hooks(ablations[k], tc) for k in todo])
        for k, run in zip(todo, runs):
            found[k] = AblationEffect(
                ablations[k], corpus, base.doc_losses, run.doc_losses,
                tuple(a - b for a, b in zip(run.token_losses, base.token_losses)), tc.truncated)
            model.cache.put(keys[k], found[k])
    return [found[k] for k in range(len(ablations))]
