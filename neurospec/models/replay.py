"""Replaying only the blocks after a layer, exactly as the full pass runs them.

Used by the downstream sweep and the random-unit baselines: one full pass keeps the residual
after layer ``L`` and each later block's arguments; many variants of that residual are then
stacked along the batch and run through the later blocks, the final norm, the unembedding
and (where the model has it) the final logit soft-capping.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

import torch
from torch import Tensor

from neurospec.models.protocol import Hook, ModelBackend


class BridgedModel(ModelBackend, Protocol):
    """A backend built on a TransformerLens ``TransformerBridge`` (``bridge``), whose blocks
    :func:`split_run` calls directly."""

    bridge: Any


@torch.no_grad()
def split_run(model: BridgedModel, tokens: Tensor, after_layer: int, hooks: Sequence[Hook] = ()
              ) -> tuple[Tensor, Tensor, Callable[[Tensor], Tensor]]:
    """One forward pass that also returns the residual after block ``after_layer`` and a
    function running only the blocks after it (plus final norm and unembedding).

    Returns ``(logits, resid [b, pos, d_model], replay)``; ``replay(r)`` takes residuals
    ``[c * b, pos, d_model]`` (``c`` stacked variants of the same ``b`` sequences, variant
    major) and returns their logits.  The later blocks are called directly with the
    arguments the full pass gave them, so the early blocks are not recomputed (TL's own
    ``start_at_layer`` still runs them).  Bridge hooks do not fire during ``replay``.
    """
    bridge = model.bridge
    blocks = [bridge.blocks[k].original_component for k in range(after_layer + 1, model.n_layers)]
    last = bridge.blocks[model.n_layers - 1].original_component

    def finish(h: Tensor) -> Tensor:
        # the bridge's own final norm and unembedding, as the full pass runs them
        logits: Tensor = bridge.unembed(bridge.ln_final(h))
        return model.soft_cap(logits)

    return replay_blocks(lambda: model.logits(tokens, hooks), blocks, last, finish)


@torch.no_grad()
def replay_blocks(full_pass: Callable[[], Tensor], blocks: list[torch.nn.Module],
                  last: torch.nn.Module, finish: Callable[[Tensor], Tensor]
                  ) -> tuple[Tensor, Tensor, Callable[[Tensor], Tensor]]:
    """:func:`split_run` for any backend: ``full_pass()`` runs the model (its logits are
    returned) while forward pre-hooks on the Hugging Face ``blocks`` (those after the split)
    keep their arguments; ``last`` is the final block, ``finish`` the final norm, unembedding
    and soft-capping."""
    seen: list[tuple[tuple[Any, ...], dict[str, Any]]] = []
    entry: dict[str, Tensor] = {}

    def grab_block(module: torch.nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any]
                   ) -> None:
        seen.append((args, kwargs))

    def grab_final(module: torch.nn.Module, args: tuple[Any, ...], out: Any) -> None:
        entry.setdefault("final", out[0] if isinstance(out, tuple) else out)

    handles = [b.register_forward_pre_hook(grab_block, with_kwargs=True) for b in blocks]
    handles.append(last.register_forward_hook(grab_final))
    try:
        logits = full_pass()
    finally:
        for h in handles:
            h.remove()
    if blocks:
        first_args, first_kwargs = seen[0]
        resid = first_args[0] if first_args else first_kwargs["hidden_states"]
    else:
        resid = entry["final"]
    n = resid.shape[0]
    calls = [(args[1:], kwargs) for args, kwargs in seen[:len(blocks)]]

    def replay(r: Tensor) -> Tensor:
        c = r.shape[0] // n
        h = r
        for block, (rest, kwargs) in zip(blocks, calls):
            # a KV cache (positional in GPT-2's blocks, a keyword in GPT-NeoX's) would
            # grow with every replay: drop it
            kw = {k: _tile(_no_cache(v), n, c) for k, v in kwargs.items()
                  if k != "hidden_states"}
            if "use_cache" in kw:
                kw["use_cache"] = False
            out = block(h, *(_tile(_no_cache(a), n, c) for a in rest), **kw)
            h = out[0] if isinstance(out, tuple) else out
        return finish(h)

    return logits, resid.detach().clone(), replay


def _no_cache(x: Any) -> Any:
    from transformers.cache_utils import Cache

    return None if isinstance(x, Cache) else x


def _tile(x: Any, n: int, c: int) -> Any:
    """Repeat a captured per-batch argument for ``c`` stacked variants (batch dim ``n``)."""
    if isinstance(x, Tensor) and x.dim() > 0 and x.shape[0] == n and c > 1:
        return x.repeat(c, *([1] * (x.dim() - 1)))
    if isinstance(x, tuple):
        return tuple(_tile(v, n, c) for v in x)
    return x
