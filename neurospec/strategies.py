"""Hypothesis strategies for prompts like seed 000's: random common tokens of a language,
optionally followed by a fixed ending n-gram, or a base prompt with chosen columns replaced
by random tokens.  Prompts are lists of token ids (no BOS; the model adds it if set).

Each strategy also carries its distribution as a sampler (:func:`sampler`): every token drawn
uniformly and independently from the list.  ``fires_on`` estimates its share on seeded
i.i.d. draws from that distribution (hypothesis favours simple examples, so its draws are
not a sample of it) and keeps hypothesis for shrinking a counterexample.

Example:
    >>> german = common_tokens(model, load_corpus("german"), top=100)
    >>> prompts(german, length=12, ending=model.encode([" Vorschlägen"])[0])
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import numpy as np
from hypothesis import strategies as st

from neurospec.data.corpus import Corpus


def common_tokens(model, corpus: Corpus, top: int = 100, min_chars: int = 2) -> list[int]:
    """The ``top`` most frequent tokens of ``corpus`` with at least ``min_chars`` letters
    (punctuation, whitespace and BOS excluded, as seed 000 excluded them)."""
    counts = Counter(t for ids in model.encode(corpus.texts) for t in ids)
    out = []
    for tok, _ in counts.most_common():
        if tok == model.bos_token_id:
            continue
        if sum(ch.isalpha() for ch in model.str_tokens([tok])[0]) >= min_chars:
            out.append(tok)
        if len(out) == top:
            break
    return out


def prompts(tokens: list[int], length: int, ending: list[int] | tuple[int, ...] = ()
            ) -> st.SearchStrategy[list[int]]:
    """``length`` tokens drawn from ``tokens``, then ``ending``."""
    tokens, ending = list(tokens), list(ending)
    strategy = st.lists(st.sampled_from(tokens), min_size=length, max_size=length).map(
        lambda body: body + ending)
    return _with_sampler(strategy, lambda rng: [tokens[i] for i in
                                                rng.integers(0, len(tokens), length)] + ending)


def replaced_columns(base: list[int], columns: list[int], tokens: list[int]
                     ) -> st.SearchStrategy[list[int]]:
    """``base`` with the token at each of ``columns`` replaced by one drawn from ``tokens``."""
    def put(new: list[int]) -> list[int]:
        out = list(base)
        for c, t in zip(columns, new):
            out[c] = t
        return out
    tokens = list(tokens)
    strategy = st.lists(st.sampled_from(tokens), min_size=len(columns),
                        max_size=len(columns)).map(put)
    return _with_sampler(strategy, lambda rng: put([tokens[i] for i in
                                                    rng.integers(0, len(tokens), len(columns))]))


_SAMPLER = "_neurospec_sampler"


def _with_sampler(strategy: st.SearchStrategy, draw: Callable[[np.random.Generator], list[int]]
                  ) -> st.SearchStrategy:
    setattr(strategy, _SAMPLER, draw)
    return strategy


def sampler(strategy: st.SearchStrategy) -> Callable[[np.random.Generator], list[int]] | None:
    """The i.i.d. sampler of a strategy made here (None for other strategies)."""
    return getattr(strategy, _SAMPLER, None)
