"""What makes runs fast must not change a number: the cache shared across claims, the token
budget of batches, and the stacked sweeps."""

import numpy as np
import pytest

from neurospec import expect, neuron
from neurospec.claims.context import using
from neurospec.data.corpus import load_corpus
from neurospec.data.tokens import tokenize
from neurospec.evidence.sink import collecting
from neurospec.measure.forward import run_corpus


def _claims(model, de, en):
    # the off-target claim on 300 English documents: on the 40 of `en` the loss changes are
    # too skewed for any mean test (that claim ends undefined)
    off = load_corpus("english").subset(300, start=100)
    with collecting() as records, using(model=model):
        expect(neuron("L0N125")).activates_more(on=de, than=en, by_at_least=0.5)
        (expect(neuron("L0N125")).ablated(to="mean", over=en)
            .raises_loss(on=de, by_at_least=0.01).and_not_on(off, tolerance=0.05))
    return [(r.kind, r.effect, r.ci, r.p) for r in records]


def test_cached_and_uncached_runs_give_identical_numbers(tiny, small_sets):
    de, en = small_sets
    tiny.cache.clear()
    first = _claims(tiny, de, en)
    assert len(tiny.cache) > 0
    hits = tiny.cache.hits
    again = _claims(tiny, de, en)  # everything from the cache now
    assert tiny.cache.hits > hits
    budget = tiny.cache.max_bytes
    try:
        tiny.cache.clear()
        tiny.cache.max_bytes = 0  # caching off: every pass recomputed
        uncached = _claims(tiny, de, en)
        assert len(tiny.cache) == 0
    finally:
        tiny.cache.max_bytes = budget
    assert first == again == uncached


def test_cache_stays_within_its_byte_budget(tiny, small_sets):
    from neurospec.models.cache import nbytes

    de, en = small_sets
    budget = tiny.cache.max_bytes
    try:
        tiny.cache.clear()
        tiny.cache.max_bytes = 300_000
        _claims(tiny, de, en)
        assert 0 < tiny.cache.bytes <= 300_000
        assert tiny.cache.bytes == sum(nbytes(v) for v, _ in tiny.cache._items.values())
    finally:
        tiny.cache.clear()
        tiny.cache.max_bytes = budget


@pytest.mark.parametrize("budget", [64, 300, 2000])
def test_token_budget_bounds_every_batch(tiny, small_sets, budget):
    de, _ = small_sets
    tc = tokenize(tiny, de)
    seen = []
    for docs, ids, _lengths in tc.batches(budget):
        assert ids.numel() <= budget or len(docs) == 1  # one over-long document goes alone
        seen += docs
    assert sorted(seen) == list(range(len(de)))


def test_batch_size_does_not_change_losses(tiny, small_sets):
    de, _ = small_sets
    tc = tokenize(tiny, de)
    big = run_corpus(tiny, tc, max_tokens=8192).doc_losses
    small = run_corpus(tiny, tc, max_tokens=200).doc_losses
    np.testing.assert_allclose(small, big, atol=2e-5)
    old = tiny.batch_tokens
    try:
        tiny.batch_tokens = 200  # what --neurospec-max-batch-tokens sets
        np.testing.assert_allclose(run_corpus(tiny, tc).doc_losses, big, atol=2e-5)
    finally:
        tiny.batch_tokens = old
