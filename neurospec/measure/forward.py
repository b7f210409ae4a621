"""Running a model over a tokenised corpus: per-token losses and captured activations,
batched by a token budget, with interventions supplied as hooks.

Pure measurement: no pytest, no statistics.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import cast

import numpy as np
import torch
from torch import Tensor

from neurospec.data.tokens import TokenizedCorpus
from neurospec.errors import NumericalError
from neurospec.models.bridge import default_batch_tokens
from neurospec.models.protocol import Hook, HookFn, ModelBackend

# A factory of hooks for one batch: (document indices, lengths [b]) -> [(hook name, fn)].
HookFactory = Callable[[list[int], Tensor], Sequence[Hook]]


def same_hooks(*hooks: Hook) -> HookFactory:
    """A :data:`HookFactory` that gives every batch the same ``hooks``."""
    def factory(docs: list[int], lengths: Tensor) -> list[Hook]:
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


def token_losses(logits: Tensor, ids: Tensor) -> Tensor:
    """Next-token cross-entropy ``[b, pos-1]`` (float32 logsumexp, then float64)."""
    logits = logits[:, :-1].float()
    lse = torch.logsumexp(logits, dim=-1)
    picked = logits.gather(-1, ids[:, 1:, None].to(logits.device))[..., 0]
    return (lse - picked).double()


# Tokens per batch on a CPU for a pass that computes no logits (measured on tiny-bilingual,
# 20 000 short documents, layer 0: 1024 tokens 11.9 s, 4096 9.1 s, 16384 8.5 s).
LOGIT_FREE_BATCH_TOKENS = 8192


class _Captured(Exception):
    """Raised by the last capture hook of a pass that needs no logits: the rest of the
    forward (later blocks, the unembedding) would be computed for nothing."""


def run_corpus(model: ModelBackend, tc: TokenizedCorpus, *, hooks: HookFactory | None = None,
               capture: Sequence[str] = (), losses: bool = True,
               max_tokens: int | None = None, column: int | None = None) -> CorpusRun:
    """One pass of ``model`` over ``tc``.

    Args:
        hooks: intervention hooks per batch (run before any capture hook of the same name).
        capture: hook names whose output is kept for the counted positions of each document.
        losses: compute next-token losses.  Without them (and without intervention hooks)
            the forward stops once every captured hook has fired.
        column: keep only this column of each captured output (``[positions, 1]``): one
            neuron of a large corpus without holding the whole layer.
        max_tokens: tokens per batch (default: the model's ``batch_tokens``, which
            ``--neurospec-max-batch-tokens`` sets; at least 8192 for a pass without logits
            when it is the CPU default).
    """
    n = len(tc.docs)
    stop = not losses and not hooks and bool(capture)
    if max_tokens is None:
        max_tokens = model.batch_tokens
        if stop and max_tokens == default_batch_tokens(str(model.device), model.d_vocab):
            # The CPU default keeps a batch's logits near cache size; a pass that stops
            # before the logits can take more tokens at once (fewer per-call overheads).
            # A budget the user set (--neurospec-max-batch-tokens) is kept as given.
            max_tokens = max(max_tokens, LOGIT_FREE_BATCH_TOKENS)
    per_doc_losses: list[np.ndarray | None] = [None] * n
    captured: dict[str, list[Tensor | None]] = {name: [None] * n for name in capture}
    for docs, ids, lengths in tc.batches(max_tokens):
        store: dict[str, Tensor] = {}
        active = list(hooks(docs, lengths)) if hooks else []
        for name in capture:
            active.append((name, _saver(store, name, len(capture) if stop else 0, column)))
        logits: Tensor | None
        try:
            logits = model.logits(ids, active)
        except _Captured:
            logits = None
        for name in capture:
            acts = store[name]
            if not torch.isfinite(acts).all():
                raise NumericalError(f"{model.name}: NaN or Inf in activations at {name} on "
                                     f"dataset {tc.corpus.name!r} (documents {docs[:5]}); "
                                     f"{_numerical_hint(model)}", value=name)
            pos = torch.arange(acts.shape[1], device=acts.device)[None, :]
            keep = (pos >= tc.first) & (pos < lengths.to(acts.device)[:, None])
            pieces = torch.split(acts[keep].float().cpu(), (lengths - tc.first).tolist())
            for k, piece in zip(docs, pieces):
                captured[name][k] = piece
        if losses:
            assert logits is not None, "a pass that computes losses does not stop early"
            tl = token_losses(logits, ids).cpu()
            if not torch.isfinite(tl).all():
                raise NumericalError(f"{model.name}: NaN or Inf in the loss on dataset "
                                     f"{tc.corpus.name!r} (documents {docs[:5]}); "
                                     f"{_numerical_hint(model)}", value=tc.corpus.name)
            keep = torch.arange(tl.shape[1])[None, :] < (lengths - 1)[:, None]
            loss_pieces = np.split(tl[keep].numpy(), np.cumsum((lengths - 1).tolist())[:-1])
            for k, loss_piece in zip(docs, loss_pieces):
                per_doc_losses[k] = loss_piece
    # every document is in exactly one batch: no None is left
    return CorpusRun(cast("tuple[np.ndarray, ...]", tuple(per_doc_losses)) if losses else (),
                     {k: cast("tuple[Tensor, ...]", tuple(v)) for k, v in captured.items()})


def hook_output(model: ModelBackend, ids: Tensor, hook: str) -> Tensor:
    """The output of ``hook`` on ``ids``; the forward stops there (no later block, no logits:
    a layer-0 neuron on short prompts costs a third of a full pass)."""
    store: dict[str, Tensor] = {}
    try:
        model.logits(ids, [(hook, _saver(store, hook, stop_after=1))])
    except _Captured:
        pass
    return store[hook]


def _numerical_hint(model: ModelBackend) -> str:
    """Why a pass produced NaN / Inf, as far as the weights tell, and what to do."""
    bad = model.nonfinite_weights()
    if bad:
        return (f"the checkpoint's weights hold NaN/Inf ({', '.join(bad[:3])}"
                f"{', ...' if len(bad) > 3 else ''}): it is corrupt or its training diverged; "
                f"use an earlier or re-exported checkpoint")
    return (f"the weights are finite, so check the intervention values and the dtype "
            f"({model.dtype}; float16 overflows easily: use float32 or bfloat16)")


def _saver(store: dict[str, Tensor], name: str, stop_after: int = 0,
           column: int | None = None) -> HookFn:
    def save(act: Tensor, hook: object = None) -> None:
        store[name] = (act if column is None else act[..., column:column + 1]).detach().clone()
        if stop_after and len(store) == stop_after:
            raise _Captured(name)
    return save


def clean_key(model: ModelBackend, tc: TokenizedCorpus) -> tuple[str, str, bool]:
    return ("clean_loss", tc.corpus.hash, model.prepend_bos)


def clean_run(model: ModelBackend, tc: TokenizedCorpus) -> CorpusRun:
    """The un-intervened losses of a corpus (cached on the model)."""
    return model.cache.get_or_compute(clean_key(model, tc), lambda: run_corpus(model, tc))
