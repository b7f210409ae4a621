"""Issue 30, item 4: a random-unit baseline says what it tests.  ``beats_random_units`` is a
rank test of exchangeability: a unit whose true effect beats 97.25% of its layer passes
"k=39, percentile=97.5" 37% of the time (docs/calibration.md), which is right for that test
and wrong for a percentile.  ``beats_percentile_of_layer`` tests the stated percentile, the
noise of every measured effect included."""

import numpy as np
import pytest

from neurospec import expect, neuron
from neurospec.claims.context import using
from neurospec.claims.rerun import random_p
from neurospec.data.corpus import load_corpus
from neurospec.errors import ClaimFailed
from neurospec.evidence.sink import collecting
from neurospec.stats.baselines import min_units, percentile_test


def test_a_unit_just_below_the_stated_percentile_rarely_passes():
    rng = np.random.default_rng(0)
    true = np.sort(rng.normal(0, 1, 256))
    unit = 248  # beats 248 of the 255 others: 97.25%
    se = 0.05
    k = min_units(97.5, 0.025)
    percentile = rank = 0
    for _ in range(400):
        seen = true + rng.normal(0, se, 256)
        chosen = rng.choice(np.delete(np.arange(256), unit), k, replace=False)
        percentile += percentile_test(seen[unit], se, seen[chosen], [se] * k, 97.5).passed
        chosen = rng.choice(np.delete(np.arange(256), unit), 39, replace=False)
        rank += random_p(seen[unit], list(seen[chosen])) <= 0.025
    assert percentile <= 10, percentile  # at most the nominal 2.5%
    assert rank >= 80, rank  # the rank test rejects exchangeability: not a percentile test
    assert k == 174


def test_a_percentile_test_needs_enough_random_units():
    assert min_units(95, 0.025) == 86 and min_units(97.5, 0.025) == 174
    assert not percentile_test(5.0, 0.1, [0.0] * 50, [0.1] * 50, 95).passed


@pytest.fixture(scope="module")
def sets():
    return load_corpus("german").subset(60), load_corpus("english").subset(60)


def test_the_german_neuron_beats_95_percent_of_its_layer(tiny, sets):
    de, en = sets
    with collecting(), using(model=tiny):
        r = expect(neuron("L0N125")).activates_more(on=de, than=en, by_at_least=0.5) \
            .beats_percentile_of_layer(95)
    t = r.record.details["percentile_test"]
    assert r.passed and t["k"] == 86 and t["not_shown_below"] <= 1
    assert "noise-aware percentile test" in r.record.claim


def test_the_rank_test_is_worded_as_what_it_is(tiny, sets):
    de, en = sets
    with collecting(), using(model=tiny):
        r = expect(neuron("L0N125")).activates_more(on=de, than=en, by_at_least=0.5) \
            .beats_random_units(k=20, percentile=95)
        assert "stands out from 20 random units" in r.record.claim
        with pytest.raises(ClaimFailed, match="use k >= 86"):
            expect(neuron("L0N125")).activates_more(on=de, than=en, by_at_least=0.5) \
                .beats_percentile_of_layer(95, k=40)
