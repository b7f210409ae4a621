"""Running a model over a tokenised corpus: per-token losses and captured activations,
batched by a token budget, with interventions supplied as hooks.

Pure measurement: no pytest, no statistics.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from neurospec.data.tokens import TokenizedCorpus
from neurospec.errors import NumericalError

# A factory of hooks for one batch: (document indices, lengths) -> [(hook name, fn)].
HookFactory = Callable[[list[int], Tensor], Sequence[tuple[str, Callable]]]


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


def run_corpus(model, tc: TokenizedCorpus, *, hooks: HookFactory | None = None,
               capture: Sequence[str] = (), losses: bool = True,
               max_tokens: int | None = None) -> CorpusRun:
    """One pass of ``model`` over ``tc``.

    Args:
        hooks: intervention hooks per batch (run before any capture hook of the same name).
        capture: hook names whose output is kept for the counted positions of each document.
        losses: compute next-token losses.
        max_tokens: tokens per batch (default: the model's ``batch_tokens``, which
            ``--neurospec-max-batch-tokens`` sets).
    """
    n = len(tc.docs)
    per_doc_losses: list[np.ndarray | None] = [None] * n
    captured: dict[str, list[Tensor | None]] = {name: [None] * n for name in capture}
    for docs, ids, lengths in tc.batches(max_tokens or model.batch_tokens):
        store: dict[str, Tensor] = {}
        active = list(hooks(docs, lengths)) if hooks else []
        for name in capture:
            active.append((name, _saver(store, name)))
        logits = model.logits(ids, active)
        for name in capture:
            acts = store[name]
            if not torch.isfinite(acts).all():
                raise NumericalError(f"{model.name}: NaN or Inf in activations at {name} on "
                                     f"dataset {tc.corpus.name!r} (documents {docs[:5]}); "
                                     f"{_numerical_hint(model)}", value=name)
            for row, (k, length) in enumerate(zip(docs, lengths.tolist())):
                captured[name][k] = acts[row, tc.first:length].float().cpu()
        if losses:
            tl = token_losses(logits, ids).cpu()
            if not torch.isfinite(tl).all():
                raise NumericalError(f"{model.name}: NaN or Inf in the loss on dataset "
                                     f"{tc.corpus.name!r} (documents {docs[:5]}); "
                                     f"{_numerical_hint(model)}", value=tc.corpus.name)
            for row, (k, length) in enumerate(zip(docs, lengths.tolist())):
                per_doc_losses[k] = tl[row, :length - 1].numpy()
    return CorpusRun(tuple(per_doc_losses) if losses else (),
                     {k: tuple(v) for k, v in captured.items()})


def _numerical_hint(model) -> str:
    """Why a pass produced NaN / Inf, as far as the weights tell, and what to do."""
    bad = model.nonfinite_weights()
    if bad:
        return (f"the checkpoint's weights hold NaN/Inf ({', '.join(bad[:3])}"
                f"{', ...' if len(bad) > 3 else ''}): it is corrupt or its training diverged; "
                f"use an earlier or re-exported checkpoint")
    return (f"the weights are finite, so check the intervention values and the dtype "
            f"({model.dtype}; float16 overflows easily: use float32 or bfloat16)")


def _saver(store: dict, name: str):
    def save(act: Tensor, hook=None) -> None:
        store[name] = act.detach().clone()
    return save


def clean_key(model, tc: TokenizedCorpus) -> tuple:
    return ("clean_loss", tc.corpus.hash, model.prepend_bos)


def clean_run(model, tc: TokenizedCorpus) -> CorpusRun:
    """The un-intervened losses of a corpus (cached on the model)."""
    return model.cache.get_or_compute(clean_key(model, tc), lambda: run_corpus(model, tc))
