"""Tokenised corpora: per-document token ids with BOS, truncation counted, batches by a
token budget, and which positions count.

A document's *counted positions* are every position except a prepended BOS: BOS is not
text, so activation statistics and ablations leave it out.  Losses are the next-token
losses at positions ``0..n-2`` (predicting tokens ``1..n-1``).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass

import torch
from torch import Tensor

from neurospec.data.corpus import Corpus


@dataclass(frozen=True)
class TokenizedCorpus:
    """A corpus tokenised for one model."""

    corpus: Corpus
    docs: tuple[Tensor, ...]  # each [n_tokens] int64, BOS included when prepend_bos
    bos: bool
    truncated: int  # how many documents were cut to the model's context

    @property
    def first(self) -> int:
        """Index of the first counted position."""
        return 1 if self.bos else 0

    @property
    def n_tokens(self) -> int:
        """Counted positions over all documents."""
        return sum(len(d) - self.first for d in self.docs)

    def batches(self, max_tokens: int = 8192) -> Iterator[tuple[list[int], Tensor, Tensor]]:
        """Yield ``(doc_indices, ids [b, pos], lengths [b])``, right-padded with the last token.

        Documents are grouped by length so that little compute goes to padding; right
        padding is exact for a causal model (padded positions never influence real ones,
        and only real positions are read back).
        """
        sizes = [len(d) for d in self.docs]
        order = sorted(range(len(self.docs)), key=lambda k: (sizes[k], k))
        i = 0
        while i < len(order):
            j = i + 1
            while j < len(order) and sizes[order[j]] * (j - i + 1) <= max_tokens:
                j += 1
            idx = order[i:j]
            lengths = torch.tensor([sizes[k] for k in idx])
            ids = torch.nn.utils.rnn.pad_sequence([self.docs[k] for k in idx], batch_first=True)
            # Pad with each row's last token (one vectorised step, not a copy per document).
            last = ids[torch.arange(len(idx)), lengths - 1]
            pad = torch.arange(ids.shape[1])[None, :] >= lengths[:, None]
            yield idx, torch.where(pad, last[:, None], ids), lengths
            i = j


def tokenize(model, corpus: Corpus) -> TokenizedCorpus:
    """Tokenise ``corpus`` for ``model`` (cached on the model by corpus hash).

    Documents longer than the context are cut to it, with one warning per corpus; the
    count is kept (``truncated``) and recorded in evidence.
    """
    def compute() -> TokenizedCorpus:
        bos = [model.bos_token_id] if model.prepend_bos else []
        docs, cut = [], 0
        for ids in encode_cut(model, corpus.texts, model.n_ctx):
            ids = bos + list(ids)
            if len(ids) > model.n_ctx:
                ids, cut = ids[:model.n_ctx], cut + 1
            docs.append(torch.tensor(ids, dtype=torch.long))
        top = max(int(d.max()) for d in docs)
        if top >= model.d_vocab:
            from neurospec.errors import DatasetError

            raise DatasetError(f"dataset {corpus.name!r}: the tokenizer gave token id {top}, but "
                               f"{model.name}'s vocabulary has {model.d_vocab} rows; the "
                               f"tokenizer does not belong to this model", value=corpus.name)
        model.preflight(max(len(d) for d in docs), f"dataset {corpus.name!r}")
        if any(len(d) - len(bos) < 2 for d in docs):
            short = [corpus.ids[k] for k, d in enumerate(docs) if len(d) - len(bos) < 2]
            from neurospec.errors import DatasetError

            raise DatasetError(f"dataset {corpus.name!r}: documents {short[:5]} have fewer than 2 "
                               f"tokens, so they have no next-token loss; remove them",
                               value=corpus.name)
        if cut:
            from neurospec.errors import NeurospecWarning

            warnings.warn(f"dataset {corpus.name!r}: {cut} of {len(docs)} documents are longer "
                          f"than {model.name}'s context of {model.n_ctx} tokens and were truncated "
                          f"(counted in each record's data.truncated)", NeurospecWarning,
                          stacklevel=2)
        return TokenizedCorpus(corpus, tuple(docs), bool(bos), cut)

    return model.cache.get_or_compute(("tokens", corpus.hash, model.prepend_bos), compute)


# Tokens kept beyond the limit when a text is cut before tokenising: the cut can only change
# the last few tokens (a word split in two), so the first ``limit`` stay exactly as they
# are in the whole text's tokenisation.
MARGIN = 64


def encode_cut(model, texts: tuple[str, ...], limit: int) -> list[list[int]]:
    """Token ids of each text, tokenising at most what the first ``limit`` tokens need.

    A 5 MB document is cut to a prefix (8 characters per token to start with) before the
    tokenizer sees it; when a prefix yields too few tokens to be sure of the first
    ``limit + MARGIN``, it is widened (x4) and tokenised again.  A cut text still comes
    back longer than ``limit``, so its truncation is counted as before.
    """
    out: list[list[int]] = [[] for _ in texts]
    todo, chars = list(range(len(texts))), (limit + MARGIN) * 8
    while todo:
        cut = [texts[k][:chars] for k in todo]
        again = []
        for k, text, ids in zip(todo, cut, model.encode(cut)):
            if len(text) < len(texts[k]) and len(ids) <= limit + MARGIN:
                again.append(k)
            else:
                out[k] = list(ids)
        todo, chars = again, chars * 4
    return out
