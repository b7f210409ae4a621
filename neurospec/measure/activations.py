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
from neurospec.errors import NumericalError, RemoteUnsupported
from neurospec.measure.forward import LOGIT_FREE_BATCH_TOKENS, CorpusRun, clean_key, run_corpus
from neurospec.models.passes import Job, Pass, Read
from neurospec.models.protocol import ModelBackend
from neurospec.units import HookedUnit, Unit, check_unit

# Counted tokens up to which an activation pass also computes the clean losses.
LOSSES_WITH_ACTIVATIONS = 65_536


def hook_pass(model: ModelBackend, tc: TokenizedCorpus, hook: str) -> tuple[Tensor, list[int]]:
    """The output of ``hook`` at all counted positions of all documents as one
    ``[tokens, width]`` tensor, with each document's length (cached; shared by neuron
    claims, layer sweeps and SAEs reading the same hook)."""
    key = ("acts", tc.corpus.hash, model.prepend_bos, hook)
    if model.narrow_reads and key not in model.cache:
        raise RemoteUnsupported(
            f"{model.name} runs remotely, and this measurement reads every coordinate of "
            f"{hook} on every token of {tc.corpus.name!r} (a whole layer, an SAE's input); "
            f"only per-token losses and single units' activations come back from a remote "
            f"run. Run it on a local copy of the model (remote=False)", value=hook)

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


def layer_activations(model: ModelBackend, tc: TokenizedCorpus, layer: int
                      ) -> tuple[Tensor, ...]:
    """All neurons of MLP ``layer``: per document ``[counted positions, d_mlp]`` (views of
    one cached pass)."""
    flat, sizes = hook_pass(model, tc, f"blocks.{layer}.mlp.hook_post")
    return torch.split(flat, sizes)


@dataclass(frozen=True)
class UnitActivations:
    """One unit's activations on one corpus, per document, with the tokens they sit on."""

    unit: Unit  # a hooked unit, or an SAE feature
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
    small = tc.n_tokens <= LOSSES_WITH_ACTIVATIONS and not model.narrow_reads
    if small or layer_key in model.cache:
        flat, sizes = hook_pass(model, tc, unit.hook)
        column = flat[:, unit.index].double().numpy()
    else:
        # A large corpus: the whole layer would take tokens x d_mlp floats (1.4 GB for
        # 100 000 short documents); keep this neuron's column only.
        # A remote model: one column, whatever the size (only it crosses the network).
        column, sizes = model.cache.get_or_compute(_column_key(model, tc, unit),
                                                   lambda: _column_pass(model, tc, unit))
    tokens = counted_tokens(model, tc)
    return UnitActivations(unit, corpus, split_docs(column, sizes), tokens, tc.truncated)


# The names by which neurons' activations were first known (a neuron is a hooked unit).
NeuronActivations = UnitActivations
neuron_activations = unit_activations


def _column_key(model: ModelBackend, tc: TokenizedCorpus, unit: HookedUnit) -> tuple:
    return ("acts_column", tc.corpus.hash, model.prepend_bos, unit.hook, unit.index)


def _column_pass(model: ModelBackend, tc: TokenizedCorpus, unit: HookedUnit
                 ) -> tuple[np.ndarray, list[int]]:
    run = run_corpus(model, tc, capture=[unit.hook], losses=False, column=unit.index)
    return _column_of(run, unit)


def _column_of(run: CorpusRun, unit: HookedUnit) -> tuple[np.ndarray, list[int]]:
    per_doc = run.captured[unit.hook]
    return torch.cat(per_doc)[:, 0].double().numpy(), [len(a) for a in per_doc]


def prefetch_columns(model: ModelBackend, corpora: list[Corpus], unit: HookedUnit) -> None:
    """For a model that reads narrowly (a remote one), the unit's column on every corpus of a
    claim in one call of ``run_passes`` (one request); elsewhere nothing (each corpus is
    read when asked for, and a small one shares the cached pass of its whole layer)."""
    prefetch_unit_columns(model, corpora, [unit], least=2)


def prefetch_unit_columns(model: ModelBackend, corpora: list[Corpus], units: list[HookedUnit],
                          least: int = 1) -> None:
    """For a model that reads narrowly, the columns of ``units`` on ``corpora`` that are not
    cached, in one call of ``run_passes`` (one request; a random-unit baseline's units share
    it), when at least ``least`` (corpus, unit) pairs are missing; elsewhere nothing."""
    if not model.narrow_reads:
        return
    for u in units:
        check_unit(u, model)
    todo: list[tuple[TokenizedCorpus, list[HookedUnit]]] = []
    for corpus in corpora:
        tc = tokenize(model, corpus)
        missing = [u for u in units
                   if ("acts", tc.corpus.hash, model.prepend_bos, u.hook) not in model.cache
                   and _column_key(model, tc, u) not in model.cache]
        if missing:
            todo.append((tc, missing))
    if sum(len(m) for _, m in todo) < least:
        return  # nothing to bundle
    jobs: list[Job] = []
    spans = []
    for tc, missing in todo:
        hooks: dict[str, list[int]] = {}
        for u in missing:
            hooks.setdefault(u.hook, []).append(u.index)
        reads = tuple(Read(h, tuple(sorted(set(ix)))) for h, ix in hooks.items())
        start = len(jobs)
        order: list[int] = []
        for docs, ids, lengths in tc.batches(max(model.batch_tokens, LOGIT_FREE_BATCH_TOKENS)):
            jobs.append(Job(ids, lengths, tc.first, (Pass(reads=reads, losses=False),)))
            order += docs
        spans.append((tc, missing, reads, start, len(jobs), order))
    results = model.run_passes(jobs, "activations")
    for tc, missing, reads, start, end, order in spans:
        sizes = [len(d) - tc.first for d in tc.docs]
        for read in reads:
            got = torch.cat([results[k][0].reads[read.point] for k in range(start, end)])
            pieces = dict(zip(order, torch.split(got, [sizes[d] for d in order])))
            flat = torch.cat([pieces[d] for d in range(len(tc.docs))])
            if not torch.isfinite(flat).all():
                raise NumericalError(f"{model.name}: NaN or Inf in activations at {read.point} "
                                     f"on dataset {tc.corpus.name!r}", value=read.point)
            assert read.columns is not None
            for u in missing:
                if u.hook == read.point:
                    col = flat[:, read.columns.index(u.index)].double().numpy()
                    model.cache.put(_column_key(model, tc, u), (col, sizes))


def counted_tokens(model, tc: TokenizedCorpus) -> tuple[np.ndarray, ...]:
    """Per document, the token ids at the counted positions (cached)."""
    return model.cache.get_or_compute(("counted_tokens", tc.corpus.hash, model.prepend_bos),
                                      lambda: tuple(d[tc.first:].numpy() for d in tc.docs))


def split_docs(values: np.ndarray, sizes: list[int]) -> tuple[np.ndarray, ...]:
    """Per-token values of all documents, cut back into documents."""
    return tuple(np.split(values, np.cumsum(sizes)[:-1]))
