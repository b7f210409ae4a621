"""Running a model over a tokenised corpus: per-token losses and captured activations,
batched by a token budget, with interventions stated as edits
(:mod:`neurospec.models.passes`).

Every pass goes through ``model.run_passes``: the bridge runs it batch by batch with hooks,
the nnsight backend as one session (one request to NDIF), so the same claim costs one queue
wait however many batches its corpus has.  Several variants of a pass (the clean run and an
ablation, or one ablation per random unit) can share that one call (:func:`run_variants`).

Pure measurement: no pytest, no statistics.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from neurospec.data.tokens import TokenizedCorpus
from neurospec.errors import NumericalError
from neurospec.models.bridge import default_batch_tokens
from neurospec.models.passes import Edit, Job, Pass, Read, token_losses
from neurospec.models.protocol import Hook, ModelBackend

__all__ = ["CorpusRun", "EditFactory", "HookFactory", "Spec", "clean_and", "clean_key",
           "clean_run", "hook_output", "run_corpus", "run_specs", "run_variants", "same_hooks",
           "token_losses"]

# The interventions of one batch: (document indices, lengths) -> edits (SetColumn, SetHead)
# or, where no edit says it, (hook name, fn) pairs (Python hooks: local models only).
EditFactory = Callable[[list[int], Tensor], Sequence[Any]]
HookFactory = EditFactory


def same_hooks(*hooks: Hook | Edit) -> EditFactory:
    """An :data:`EditFactory` that gives every batch the same ``hooks`` (or edits)."""
    def factory(docs: list[int], lengths: Tensor) -> list[Hook | Edit]:
        return list(hooks)
    return factory


@dataclass(frozen=True)
class CorpusRun:
    """Per-document results of one pass over a corpus."""

    token_losses: tuple[np.ndarray, ...]  # per doc: next-token losses, float64 [n - 1]
    captured: dict[str, tuple[Tensor, ...]]  # hook -> per doc [counted positions, d]

    @property
    def doc_losses(self) -> np.ndarray:
        """Mean next-token loss of each document (nats)."""
        return np.array([x.mean() for x in self.token_losses])


# Tokens per batch on a CPU for a pass that computes no logits (measured on tiny-bilingual,
# 20 000 short documents, layer 0: 1024 tokens 11.9 s, 4096 9.1 s, 16384 8.5 s).
LOGIT_FREE_BATCH_TOKENS = 8192


def run_corpus(model: Any, tc: TokenizedCorpus, *, hooks: EditFactory | None = None,
               capture: Sequence[str] = (), losses: bool = True,
               max_tokens: int | None = None, column: int | None = None) -> CorpusRun:
    """One pass of ``model`` over ``tc``.

    Args:
        hooks: the interventions per batch (applied before any capture of the same point).
        capture: hook names whose value is kept for the counted positions of each document.
        losses: compute next-token losses.  Without them (and without interventions)
            the forward stops once every captured point is read.
        column: keep only this column of each captured output (``[positions, 1]``): one
            neuron of a large corpus without holding the whole layer.
        max_tokens: tokens per batch (default: the model's ``batch_tokens``, which
            ``--neurospec-max-batch-tokens`` sets; at least 8192 for a pass without logits
            when it is the CPU default).
    """
    return run_variants(model, tc, [hooks], capture=capture, losses=losses,
                        max_tokens=max_tokens, column=column)[0]


def run_variants(model: Any, tc: TokenizedCorpus, variants: Sequence[EditFactory | None], *,
                 capture: Sequence[str] = (), losses: bool = True,
                 max_tokens: int | None = None, column: int | None = None,
                 what: str = "corpus pass") -> list[CorpusRun]:
    """:func:`run_corpus` for several variants of the interventions (None: the clean model)
    in one call of ``model.run_passes`` (one nnsight session)."""
    spec = Spec(tc, tuple(variants), tuple(capture), losses, max_tokens, column)
    return run_specs(model, [spec], what)[0]


@dataclass(frozen=True)
class Spec:
    """One corpus's passes for :func:`run_specs` (the arguments of :func:`run_variants`)."""

    tc: TokenizedCorpus
    variants: tuple[EditFactory | None, ...] = (None,)
    capture: tuple[str, ...] = ()
    losses: bool = True
    max_tokens: int | None = None
    column: int | None = None


def run_specs(model: Any, specs: Sequence[Spec], what: str = "corpus pass"
              ) -> list[list[CorpusRun]]:
    """The passes of several corpora in one call of ``model.run_passes`` (one request to a
    remote backend); per spec, a :class:`CorpusRun` per variant."""
    jobs: list[Job] = []
    spans: list[tuple[int, list[tuple[list[int], Tensor]]]] = []
    for spec in specs:
        tc = spec.tc
        stop = not spec.losses and bool(spec.capture) and all(v is None for v in spec.variants)
        max_tokens = spec.max_tokens
        if max_tokens is None:
            max_tokens = model.batch_tokens
            if stop and max_tokens == default_batch_tokens(str(model.device), model.d_vocab):
                # The CPU default keeps a batch's logits near cache size; a pass that stops
                # before the logits can take more tokens at once (fewer per-call overheads).
                # A budget the user set (--neurospec-max-batch-tokens) is kept as given.
                max_tokens = max(max_tokens, LOGIT_FREE_BATCH_TOKENS)
        cols = None if spec.column is None else (spec.column,)
        reads = tuple(Read(name, cols) for name in spec.capture)
        batches: list[tuple[list[int], Tensor]] = []
        start = len(jobs)
        for docs, ids, lengths in tc.batches(max_tokens):
            passes = tuple(Pass(edits=tuple(v(docs, lengths)) if v is not None else (),
                                reads=reads, losses=spec.losses) for v in spec.variants)
            jobs.append(Job(ids, lengths, tc.first, passes))
            batches.append((docs, lengths))
        spans.append((start, batches))
    results = model.run_passes(jobs, what) if jobs else []
    return [_collect(model, spec, batches, results[start:start + len(batches)])
            for spec, (start, batches) in zip(specs, spans)]


def _collect(model: Any, spec: Spec, batches: list[tuple[list[int], Tensor]],
             results: list[list[Any]]) -> list[CorpusRun]:
    tc = spec.tc
    n = len(tc.docs)
    runs = []
    for k in range(len(spec.variants)):
        per_doc_losses: list[Any] = [None] * n
        captured: dict[str, list[Any]] = {name: [None] * n for name in spec.capture}
        for (docs, lengths), outs in zip(batches, results):
            out = outs[k]
            for name in spec.capture:
                acts = out.reads[name]
                if not torch.isfinite(acts).all():
                    raise NumericalError(
                        f"{model.name}: NaN or Inf in activations at {name} on dataset "
                        f"{tc.corpus.name!r} (documents {docs[:5]}); {_numerical_hint(model)}",
                        value=name)
                for d, piece in zip(docs, torch.split(acts, (lengths - tc.first).tolist())):
                    captured[name][d] = piece
            if spec.losses:
                tl = out.losses
                if not torch.isfinite(tl).all():
                    raise NumericalError(f"{model.name}: NaN or Inf in the loss on dataset "
                                         f"{tc.corpus.name!r} (documents {docs[:5]}); "
                                         f"{_numerical_hint(model)}", value=tc.corpus.name)
                for d, piece in zip(docs, torch.split(tl, (lengths - 1).tolist())):
                    per_doc_losses[d] = piece.numpy()
        runs.append(CorpusRun(tuple(per_doc_losses) if spec.losses else (),
                              {name: tuple(v) for name, v in captured.items()}))
    return runs


def hook_output(model: Any, ids: Tensor, hook: str, column: int | None = None) -> Tensor:
    """The value of ``hook`` on ``ids`` as the hook has it (``[b, pos, ...]``, a pattern
    ``[b, heads, q, k]``), float32 (``column``: that coordinate only, ``[b, pos, 1]``); the
    forward stops there (no later block, no logits: a layer-0 neuron on short prompts costs
    a third of a full pass)."""
    lengths = torch.full((ids.shape[0],), ids.shape[1])
    read = Read(hook, None if column is None else (column,), whole=True)
    out = model.run_passes([Job(ids, lengths, 0, (Pass(reads=(read,), losses=False),))],
                           "read")[0][0]
    value: Tensor = out.reads[hook]
    return value


def _numerical_hint(model: ModelBackend) -> str:
    """Why a pass produced NaN / Inf, as far as the weights tell, and what to do."""
    bad = model.nonfinite_weights()
    if bad:
        return (f"the checkpoint's weights hold NaN/Inf ({', '.join(bad[:3])}"
                f"{', ...' if len(bad) > 3 else ''}): it is corrupt or its training diverged; "
                f"use an earlier or re-exported checkpoint")
    return (f"the weights are finite, so check the intervention values and the dtype "
            f"({model.dtype}; float16 overflows easily: use float32 or bfloat16)")


def clean_key(model, tc: TokenizedCorpus) -> tuple:
    return ("clean_loss", tc.corpus.hash, model.prepend_bos)


def clean_run(model: ModelBackend, tc: TokenizedCorpus) -> CorpusRun:
    """The un-intervened losses of a corpus (cached on the model)."""
    return model.cache.get_or_compute(clean_key(model, tc), lambda: run_corpus(model, tc))


def clean_and(model: Any, tc: TokenizedCorpus, *variants: EditFactory,
              what: str = "corpus pass") -> tuple[CorpusRun, ...]:
    """The clean run (cached) and a run per variant; all in one call of ``run_passes`` when
    the clean losses are not cached yet."""
    key = clean_key(model, tc)
    cached = model.cache.get(key)
    if cached is not None:
        return (cached, *run_variants(model, tc, variants, what=what))
    clean, *rest = run_variants(model, tc, [None, *variants], what=what)
    model.cache.put(key, clean)
    return (clean, *rest)
