"""A unit's activations on a corpus: the coordinate of its hook (a neuron's post-nonlinearity
MLP activation, or any unit read as one coordinate of a hook) at the counted positions."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from neurospec.data.corpus import Corpus
from neurospec.data.tokens import TokenizedCorpus, tokenize
from neurospec.measure.forward import CorpusRun, clean_key, run_corpus
from neurospec.models.protocol import ModelBackend
from neurospec.units import HookedUnit, check_unit

# Counted tokens up to which an activation pass also computes the clean losses.
LOSSES_WITH_ACTIVATIONS = 65_536


def hook_pass(model, tc: TokenizedCorpus, hook: str) -> tuple[Tensor, list[int]]:
    """The output of ``hook`` at all counted positions of all documents as one
    ``[tokens, width]`` tensor, with each document's length (cached; shared by neuron
    claims, layer sweeps and SAEs reading the same hook)."""
    key = ("acts", tc.corpus.hash, model.prepend_bos, hook)

    def compute() -> tuple[Tensor, list[int]]:
        # A small corpus: the same pass yields the clean losses, which ablation claims on it
        # often need next, so keep them.  A large one: stop the forward at the hook (later
        # blocks and the unembedding are most of the cost; 5x faster on 100 000 documents).
        small = tc.n_tokens <= LOSSES_WITH_ACTIVATIONS
        run = run_corpus(model, tc, capture=[hook], losses=small)
        if small:
            model.cache.put(clean_key(model, tc), CorpusRun(run.token_losses, {}))
        per_doc = run.captured[hook]
        return torch.cat(per_doc), [len(a) for a in per_doc]

    return model.cache.get_or_compute(key, compute)


def layer_activations(model, tc: TokenizedCorpus, layer: int) -> tuple[Tensor, ...]:
    """All neurons of MLP ``layer``: per document ``[counted positions, d_mlp]`` (views of
    one cached pass)."""
    flat, sizes = hook_pass(model, tc, f"blocks.{layer}.mlp.hook_post")
    return torch.split(flat, sizes)


@dataclass(frozen=True)
class UnitActivations:
    """One unit's activations on one corpus, per document, with the tokens they sit on."""

    unit: HookedUnit
    corpus: Corpus
    per_token: tuple[np.ndarray, ...]  # per doc, float64 [counted positions]
    tokens: tuple[np.ndarray, ...]  # per doc, token ids at those positions
    truncated: int

    @functools.cached_property
    def doc_means(self) -> np.ndarray:
        """Mean activation of each document: the unit of inference."""
        return np.array([a.mean() for a in self.per_token])

    @functools.cached_property
    def all_tokens(self) -> np.ndarray:
        return np.concatenate(self.per_token)


def unit_activations(model: ModelBackend, corpus: Corpus, unit: HookedUnit
                     ) -> UnitActivations:
    """Activations of ``unit`` (coordinate ``unit.index`` of hook ``unit.hook``) on every
    counted token of every document of ``corpus``.

    Example:
        >>> acts = neuron_activations(model, load_corpus("german"), neuron("L1N42"))
        >>> acts.doc_means.mean()
    """
    check_unit(unit, model)
    tc = tokenize(model, corpus)
    # One column of the layer, all documents at once (claims about many neurons of a layer,
    # random-unit baselines and vacuity checks read many columns of the same cached pass).
    layer_key = ("acts", tc.corpus.hash, model.prepend_bos, unit.hook)
    if tc.n_tokens <= LOSSES_WITH_ACTIVATIONS or layer_key in model.cache:
        flat, sizes = hook_pass(model, tc, unit.hook)
        column = flat[:, unit.index].double().numpy()
    else:
        # A large corpus: the whole layer would take tokens x d_mlp floats (1.4 GB for
        # 100 000 short documents); keep this neuron's column only.
        column, sizes = model.cache.get_or_compute(
            ("acts_column", tc.corpus.hash, model.prepend_bos, unit.hook, unit.index),
            lambda: _column_pass(model, tc, unit))
    tokens = counted_tokens(model, tc)
    return UnitActivations(unit, corpus, split_docs(column, sizes), tokens, tc.truncated)


# The names by which neurons' activations were first known (a neuron is a hooked unit).
NeuronActivations = UnitActivations
neuron_activations = unit_activations


def _column_pass(model: ModelBackend, tc: TokenizedCorpus, unit: HookedUnit
                 ) -> tuple[np.ndarray, list[int]]:
    run = run_corpus(model, tc, capture=[unit.hook], losses=False, column=unit.index)
    per_doc = run.captured[unit.hook]
    return torch.cat(per_doc)[:, 0].double().numpy(), [len(a) for a in per_doc]


def counted_tokens(model, tc: TokenizedCorpus) -> tuple[np.ndarray, ...]:
    """Per document, the token ids at the counted positions (cached)."""
    return model.cache.get_or_compute(("counted_tokens", tc.corpus.hash, model.prepend_bos),
                                      lambda: tuple(d[tc.first:].numpy() for d in tc.docs))


def split_docs(values: np.ndarray, sizes: list[int]) -> tuple[np.ndarray, ...]:
    """Per-token values of all documents, cut back into documents."""
    return tuple(np.split(values, np.cumsum(sizes)[:-1]))
