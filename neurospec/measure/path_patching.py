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

from dataclasses import dataclass

import numpy as np
import torch

from neurospec.data.corpus import Corpus
from neurospec.data.tokens import tokenize
from neurospec.errors import InvalidArgument
from neurospec.measure.ablation import Ablation, set_column
from neurospec.measure.forward import token_losses


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
        return self.ablated - self.clean

    @property
    def via(self) -> np.ndarray:
        return self.ablated - self.path_only


def downstream_components(model, layer: int) -> list[str]:
    return [f"blocks.{L}.{h}" for L in range(layer + 1, model.n_layers)
            for h in ("hook_attn_out", "hook_mlp_out")]


@torch.no_grad()
def path_patching(model, ablation: Ablation, corpus: Corpus, through: list[str]) -> PathEffect:
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
    if ablation.mode == "resample":
        raise InvalidArgument("path patching needs a fixed ablation value (zero, mean or a "
                              "number)", value=ablation.mode)
    tc = tokenize(model, corpus)

    ablate = set_column(unit.index, ablation.value, tc.first)

    def save(store, name):
        def fn(act, hook=None):
            store[name] = act.detach().clone()
        return fn

    def put(value):
        def fn(act, hook=None):
            return value
        return fn

    n = len(tc.docs)
    out = {k: np.zeros(n) for k in ("clean", "ablated", "path")}
    for docs, ids, lengths in tc.batches(model.batch_tokens):
        mask = (torch.arange(ids.shape[1] - 1)[None] < (lengths[:, None] - 1)).double()

        def losses(hooks):
            tl = token_losses(model.logits(ids, hooks), ids).cpu()
            return ((tl * mask).sum(1) / mask.sum(1)).numpy()

        abl_cache, act_cache = {}, {}
        clean = losses([])
        ablated = losses([(unit.hook, ablate)] + [(c, save(abl_cache, c)) for c in comps])
        others = [c for c in comps if c not in through]
        model.logits(ids, [(c, put(abl_cache[c])) for c in others]
                     + [(c, save(act_cache, c)) for c in through])
        path = losses([(unit.hook, ablate)] + [(c, put(abl_cache[c])) for c in others]
                      + [(c, put(act_cache[c])) for c in through])
        out["clean"][docs], out["ablated"][docs], out["path"][docs] = clean, ablated, path
    return PathEffect(ablation, through, corpus, out["clean"], out["ablated"], out["path"])
