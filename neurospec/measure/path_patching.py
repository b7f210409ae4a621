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

from neurospec.data.corpus import Corpus
from neurospec.data.tokens import tokenize
from neurospec.errors import InvalidArgument
from neurospec.measure.ablation import Ablation
from neurospec.models.passes import Job, Pass, Put, Read, SetColumn
from neurospec.models.protocol import ModelBackend


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


@torch.no_grad()
def path_patching(model: ModelBackend, ablation: Ablation, corpus: Corpus,
                  through: Sequence[str]) -> PathEffect:
    """Run the four passes and return the per-document losses.

    Per batch: (1) clean; (2) ablated, keeping every downstream component's output; (3) the
    clean model with the components not patched frozen at their ablated outputs, keeping the
    ``through`` components' outputs; (4) ablated, with the others frozen at their ablated
    outputs and ``through`` at (3)'s.  All four are one call of ``run_passes``: a remote model
    runs them as one request, and the kept outputs never leave the server."""
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
    ablate = SetColumn(unit.hook, unit.index, ablation.value, tc.first)
    others = [c for c in comps if c not in through]
    passes = (
        Pass(),
        Pass(edits=(ablate,), reads=tuple(Read(c, keep=f"ablated {c}") for c in comps)),
        Pass(edits=tuple(Put(c, f"ablated {c}") for c in others),
             reads=tuple(Read(c, keep=f"clean {c}") for c in through), losses=False),
        Pass(edits=(ablate, *(Put(c, f"ablated {c}") for c in others),
                    *(Put(c, f"clean {c}") for c in through))),
    )
    jobs, batches = [], []
    for docs, ids, lengths in tc.batches(model.batch_tokens):
        jobs.append(Job(ids, lengths, tc.first, passes))
        batches.append((docs, lengths))
    n = len(tc.docs)
    out = {k: np.zeros(n) for k in ("clean", "ablated", "path")}
    for (docs, lengths), (clean, ablated, _, path) in zip(batches,
                                                         model.run_passes(jobs, "path patching")):
        for key, run in (("clean", clean), ("ablated", ablated), ("path", path)):
            assert run.losses is not None
            pieces = torch.split(run.losses, (lengths - 1).tolist())
            out[key][docs] = [float(p.mean()) for p in pieces]
    return PathEffect(ablation, through, corpus, out["clean"], out["ablated"], out["path"])
