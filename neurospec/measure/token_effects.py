"""Which tokens an ablation boosts and deboosts (seed 000), and the split of its effect on
the true next token into the change of that token's logit and of the log-sum-exp over the
vocabulary (constructive vs destructive interference).

For every counted prediction position ``p`` of every document: ``dlogp[p, v] = log p_abl(v)
- log p_clean(v)``; per document the mean over its positions; tokens are ranked by the mean
over documents.  Tokens that never occur in the corpus can be excluded as junk.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from neurospec.data.corpus import Corpus
from neurospec.data.tokens import tokenize
from neurospec.measure.ablation import Ablation, ablation_hooks
from neurospec.models.protocol import ModelBackend


@dataclass(frozen=True)
class TokenEffects:
    """Per-document mean log-prob change of every token, and the answer-token split."""

    ablation: Ablation
    corpus: Corpus
    dlogp: np.ndarray  # [n_docs, d_vocab] float32: mean change of log p(v) per document
    d_answer_logit: np.ndarray  # [n_docs]: mean change of the true next token's logit
    d_lse: np.ndarray  # [n_docs]: mean change of log-sum-exp over the vocabulary
    eligible: np.ndarray  # [d_vocab] bool: not junk

    @property
    def mean(self) -> np.ndarray:
        means: np.ndarray = self.dlogp.mean(0)
        return means

    def deboosted(self, k: int) -> list[int]:
        m = np.where(self.eligible, self.mean, np.inf)
        return [int(i) for i in np.argsort(m, kind="stable")[:k]]

    def boosted(self, k: int) -> list[int]:
        m = np.where(self.eligible, self.mean, -np.inf)
        return [int(i) for i in np.argsort(-m, kind="stable")[:k]]


@torch.no_grad()
def token_effects(model: ModelBackend, ablation: Ablation, corpus: Corpus,
                  junk: list[int] | None = None, only_seen: bool = True) -> TokenEffects:
    """Log-prob change of every vocabulary token when ``ablation`` is applied.

    Args:
        junk: token ids never to rank.
        only_seen: rank only tokens that occur in ``corpus`` (others are junk here).
    """
    tc = tokenize(model, corpus)
    hooks = ablation_hooks(ablation, tc)
    n = len(tc.docs)
    dlogp = np.zeros((n, model.d_vocab), dtype=np.float32)
    d_logit = np.zeros(n)
    d_lse = np.zeros(n)
    for docs, ids, lengths in tc.batches(model.batch_tokens):
        clean = model.logits(ids).float().cpu()
        abl = model.logits(ids, hooks(docs, lengths)).float().cpu()
        lse_c, lse_a = torch.logsumexp(clean, -1), torch.logsumexp(abl, -1)
        diff = (abl - lse_a[..., None]) - (clean - lse_c[..., None])  # [b, pos, V]
        for row, (k, length) in enumerate(zip(docs, lengths.tolist())):
            # positions whose prediction the ablation can change: first .. length-2
            pos = slice(tc.first, length - 1)
            dlogp[k] = diff[row, pos].mean(0).numpy()
            tgt = ids[row, tc.first + 1:length]
            d_logit[k] = float((abl[row, pos].gather(-1, tgt[:, None]) -
                                clean[row, pos].gather(-1, tgt[:, None])).mean())
            d_lse[k] = float((lse_a[row, pos] - lse_c[row, pos]).mean())
    eligible = np.ones(model.d_vocab, dtype=bool)
    if only_seen:
        seen = np.zeros(model.d_vocab, dtype=bool)
        for d in tc.docs:
            seen[d[tc.first:].numpy()] = True
        eligible &= seen
    if junk:
        eligible[np.asarray(junk, dtype=int)] = False
    return TokenEffects(ablation, corpus, dlogp, d_logit, d_lse, eligible)
