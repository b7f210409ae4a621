"""Path patching / direct effect (seed 000, ``get_direct_effect``): how much of a unit's
effect on the loss flows through chosen downstream components alone.

Four runs on the same documents:

1. clean, the unit active;
2. the unit ablated, caching every downstream component's output;
3. the unit active, every downstream component *not* in ``through`` frozen to its value
   from (2), caching the ``through`` components;
4. the unit ablated, every downstream component frozen to (2) except ``through``, which
   takes its value from (3).

``loss(2) - loss(1)`` is the total effect; ``loss(2) - loss(4)`` the part that flows through
``through`` alone.  Downstream components are the attention and MLP outputs
(``blocks.L.hook_attn_out`` / ``hook_mlp_out``) of every later layer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from neurospec.data.corpus import Corpus
from neurospec.data.tokens import tokenize
from neurospec.errors import InvalidArgument
from neurospec.measure.ablation import Ablation, set_column
from neurospec.measure.forward import token_losses
from neurospec.models.protocol import Hook, HookFn, ModelBackend


@dataclass(frozen=True)
class PathEffect:
    """Per-document mean losses of the four runs."""

    ablation: Ablation
    through: tuple[str, ...]
    corpus: Corpus
    clean: np.ndarray
    ablated: np.ndarray
    path_only: np.ndarray  # run 4

    @property
    def total(self) -> np.ndarray:
        total: np.ndarray = self.ablated - self.clean
        return total

    @property
    def via(self) -> np.ndarray:
        via: np.ndarray = self.ablated - self.path_only
        return via


def downstream_components(model: ModelBackend, layer: int) -> list[str]:
    return [f"blocks.{L}.{h}" for L in range(layer + 1, model.n_layers)
            for h in ("hook_attn_out", "hook_mlp_out")]


def _save(store: dict[str, Tensor], name: str) -> HookFn:
    """A hook keeping a copy of its activation in ``store[name]``."""
    def fn(act: Tensor, hook: object = None) -> None:
        store[name] = act.detach().clone()
    return fn


def _put(value: Tensor) -> HookFn:
    """A hook replacing its activation by ``value``."""
    def fn(act: Tensor, hook: object = None) -> Tensor:
        return value
    return fn


def _losses(model: ModelBackend, ids: Tensor, mask: Tensor, hooks: Sequence[Hook]
            ) -> np.ndarray:
    """Mean next-token loss of each document of the batch ``ids`` under ``hooks`` (``mask``
    ``[b, pos - 1]``: 1.0 at each document's real positions)."""
    tl = token_losses(model.logits(ids, hooks), ids).cpu()
    losses: np.ndarray = ((tl * mask).sum(1) / mask.sum(1)).numpy()
    return losses


@torch.no_grad()
def path_patching(model: ModelBackend, ablation: Ablation, corpus: Corpus,
                  through: Sequence[str]) -> PathEffect:
    """Run the four passes and return the per-document losses."""
    unit = ablation.unit
    comps = downstream_components(model, unit.layer)
    through = tuple(through)
    bad = [c for c in through if c not in comps]
    if not through or bad:
        for c in bad:
            model.check_hook_name(c)
        raise InvalidArgument(f"path patching of {unit} goes through downstream components; "
                              f"{list(bad) or 'none given'} is not one of {comps}", value=bad)
    if ablation.mode == "resample" or ablation.value is None:
        raise InvalidArgument("path patching needs a fixed ablation value (zero, mean or a "
                              "number)", value=ablation.mode)
    tc = tokenize(model, corpus)

    ablate = set_column(unit.index, ablation.value, tc.first)
    n = len(tc.docs)
    out = {k: np.zeros(n) for k in ("clean", "ablated", "path")}
    for docs, ids, lengths in tc.batches(model.batch_tokens):
        mask = (torch.arange(ids.shape[1] - 1)[None] < (lengths[:, None] - 1)).double()
        abl_cache: dict[str, Tensor] = {}
        act_cache: dict[str, Tensor] = {}
        clean = _losses(model, ids, mask, [])
        ablated = _losses(model, ids, mask, [(unit.hook, ablate)]
                          + [(c, _save(abl_cache, c)) for c in comps])
        others = [c for c in comps if c not in through]
        model.logits(ids, [(c, _put(abl_cache[c])) for c in others]
                     + [(c, _save(act_cache, c)) for c in through])
        path = _losses(model, ids, mask, [(unit.hook, ablate)]
                       + [(c, _put(abl_cache[c])) for c in others]
                       + [(c, _put(act_cache[c])) for c in through])
        out["clean"][docs], out["ablated"][docs], out["path"][docs] = clean, ablated, path
    return PathEffect(ablation, through, corpus, out["clean"], out["ablated"], out["path"])
