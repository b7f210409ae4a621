"""Attention heads (seed 002): ablating a head's output, and removing only its direct effect
on the logits.

- ``head_ablation``: replace the head's ``hook_z`` (its output before ``W_O``) at every counted
  position by zero or by its mean over a reference corpus.  ``z`` is linear in the head's
  result, so this is zero / mean ablation of the result itself.
- ``head_direct_effect``: one clean pass; the head's result ``r = z_h @ W_O[h]`` is centred
  (a final LayerNorm subtracts the mean; an RMSNorm does not), scaled by the norm's weight,
  divided by the final norm's scale of the clean run (frozen) and projected on ``W_U``; that
  direct effect is subtracted from the logits (optionally adding back its mean over a
  reference corpus), and the per-token loss recomputed.  Refused where a post-attention norm
  rescales the heads' sum or the final logits are soft-capped.  Everything downstream of the head still sees
  its output: only the direct path is removed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from neurospec.data.corpus import Corpus
from neurospec.data.tokens import tokenize
from neurospec.errors import InvalidArgument
from neurospec.measure.forward import clean_run, run_corpus, token_losses
from neurospec.models.architecture import refuse
from neurospec.units import Head, check_unit


@dataclass(frozen=True)
class HeadEffect:
    """Per-token loss changes on one corpus, and which targets already appeared before."""

    head: Head
    how: str
    corpus: Corpus
    token_delta: tuple[np.ndarray, ...]  # per doc, per next-token position
    repeated: tuple[np.ndarray, ...]  # per doc, bool: the target token occurred earlier

    @property
    def delta(self) -> np.ndarray:
        return np.array([d.mean() for d in self.token_delta])


def _repeated(tc) -> tuple[np.ndarray, ...]:
    out = []
    for d in tc.docs:
        ids = d.tolist()
        seen, flags = set(), []
        for p in range(1, len(ids)):
            seen.add(ids[p - 1])
            flags.append(ids[p] in seen and p - 1 >= tc.first)
        out.append(np.array(flags, dtype=bool))
    return tuple(out)


def _z_name(head: Head) -> str:
    return head.hook


def mean_z(model, head: Head, over: Corpus) -> torch.Tensor:
    tc = tokenize(model, over)
    z = run_corpus(model, tc, capture=[_z_name(head)], losses=False).captured[_z_name(head)]
    return torch.cat([x[:, head.index] for x in z]).mean(0)


def head_ablation(model, head: Head, corpus: Corpus, mode: str = "zero",
                  over: Corpus | None = None) -> HeadEffect:
    """Per-token loss change when the head's output is zeroed or mean-ablated."""
    check_unit(head, model)
    if mode not in ("zero", "mean"):
        raise InvalidArgument(f"head ablation mode {mode!r}: use 'zero' or 'mean'", value=mode)
    if mode == "mean" and over is None:
        raise InvalidArgument("mean head ablation needs over=<corpus>", value=mode)
    value = mean_z(model, head, over) if mode == "mean" else None
    tc = tokenize(model, corpus)

    def fn(z, hook=None):
        z = z.clone()
        z[:, tc.first:, head.index] = 0.0 if value is None else value.to(z)
        return z

    base = clean_run(model, tc)
    run = run_corpus(model, tc, hooks=lambda d, l: [(_z_name(head), fn)])
    deltas = tuple(a - b for a, b in zip(run.token_losses, base.token_losses))
    return HeadEffect(head, f"{mode}-ablated", corpus, deltas, _repeated(tc))


def _direct_effect_parts(model, head: Head):
    arch = model.architecture
    what, instead = "removing a head's direct effect", "use head ablation instead"
    if arch.post_attn_norm:
        raise refuse(what, f"{arch.model_type} normalises the attention output before adding it "
                           f"to the residual (post-attention norm), so one head's share of the "
                           f"residual is not its own result", instead)
    if arch.logit_softcap is not None:
        raise refuse(what, f"{arch.model_type} soft-caps its final logits, so a head's direct "
                           f"effect on them is not additive", instead)
    norm = model.final_norm
    if norm is None:
        raise refuse(what, f"its final norm {arch.final_norm_module} is of an unknown form",
                     instead)
    w_o = model.attn_out_weight(head.layer)  # [n_heads * d_head, d_model]
    d_head = w_o.shape[0] // model.n_heads
    w_oh = w_o[head.index * d_head:(head.index + 1) * d_head]  # [d_head, d_model]
    # everything on the unembedding's device (a model spread over GPUs has its layers elsewhere)
    w_u = model.unembed_weight()
    w_oh = w_oh.to(w_u.device)
    gamma = (norm.weight.to(w_oh) if norm.weight is not None
             else torch.ones(w_oh.shape[1], dtype=w_oh.dtype, device=w_oh.device))
    return w_oh, gamma, w_u, norm.centred


@torch.no_grad()
def head_direct_effect(model, head: Head, corpus: Corpus, add_mean_over: Corpus | None = None
                       ) -> HeadEffect:
    """Per-token loss change when only the head's direct effect on the logits is removed."""
    check_unit(head, model)
    tc = tokenize(model, corpus)
    w_oh, gamma, w_u, centred = _direct_effect_parts(model, head)
    zname = _z_name(head)

    def direct(z, scale):  # z [b, pos, d_head], scale [b, pos, 1] -> [b, pos, V]
        r = z.to(w_oh.device) @ w_oh
        if centred:  # a LayerNorm subtracts the mean; an RMSNorm does not
            r = r - r.mean(-1, keepdim=True)
        return ((r * gamma) / scale.to(r.device)) @ w_u

    mean_de = None
    if add_mean_over is not None:
        ref = tokenize(model, add_mean_over)
        total, count = 0.0, 0
        for docs, ids, lengths in ref.batches(model.batch_tokens):
            store = {}
            model.logits(ids, [(zname, lambda z, hook=None: store.__setitem__("z", z)),
                               ("ln_final.hook_scale",
                                lambda s, hook=None: store.__setitem__("s", s))])
            de = direct(store["z"][:, :, head.index], store["s"])
            mask = torch.arange(ids.shape[1])[None] < lengths[:, None]
            mask[:, :ref.first] = False
            total = total + (de * mask[..., None].to(de.device)).sum((0, 1))
            count += int(mask.sum())
        mean_de = total / count
    deltas: list = [None] * len(tc.docs)
    for docs, ids, lengths in tc.batches(model.batch_tokens):
        store = {}
        logits = model.logits(ids, [(zname, lambda z, hook=None: store.__setitem__("z", z)),
                                    ("ln_final.hook_scale",
                                     lambda s, hook=None: store.__setitem__("s", s))])
        new = logits - direct(store["z"][:, :, head.index], store["s"]).to(logits.device)
        if mean_de is not None:
            new = new + mean_de.to(logits.device)
        # the clean losses come from the same pass: no second forward over the corpus
        tl = (token_losses(new, ids) - token_losses(logits, ids)).cpu()
        for row, (k, length) in enumerate(zip(docs, lengths.tolist())):
            deltas[k] = tl[row, :length - 1].numpy()
    how = "direct effect removed" + (" (mean added back)" if mean_de is not None else "")
    return HeadEffect(head, how, corpus, tuple(deltas), _repeated(tc))


@torch.no_grad()
def attention_pattern(model, head: Head, tokens: torch.Tensor) -> np.ndarray:
    """The head's attention pattern ``[query, key]`` on one sequence of token ids."""
    check_unit(head, model)
    store: dict = {}
    name = f"blocks.{head.layer}.attn.hook_pattern"
    model.logits(tokens[None], [(name, lambda p, hook=None: store.__setitem__("p", p))])
    return store["p"][0, head.index].double().cpu().numpy()
