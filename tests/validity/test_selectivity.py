"""Item 2: selectivity measured so that it means selectivity.  A d of *document means* grows
with document length: L1N54's is 1.54, so "d >= 1.5" would pass on it, although a German token
of it outfires an English one less than half the time (token AUROC 0.43; L1N19 was such a
neuron in the fortunes-only model). The token AUROC and the token-level d, with CIs that
resample whole documents, do not pass it."""

import numpy as np
import pytest

from neurospec import expect, neuron
from neurospec.claims.context import using
from neurospec.data.corpus import load_corpus
from neurospec.errors import ClaimFailed
from neurospec.evidence.sink import collecting
from neurospec.measure.activations import neuron_activations
from neurospec.stats.clustered import token_auroc_ci, token_d_ci
from neurospec.stats.inference import two_sample

GERMAN = neuron("L0N125")


@pytest.fixture(scope="module")
def sets():
    return load_corpus("german"), load_corpus("english")


def test_a_neuron_with_token_auroc_below_half_is_not_selective(tiny, sets):
    de, en = sets
    unit = neuron("L1N54")
    # the measure this replaced: Cohen's d of document means clears 1.5 on this neuron
    on, off = neuron_activations(tiny, de, unit), neuron_activations(tiny, en, unit)
    doc_d = two_sample(on.doc_means, off.doc_means, measure="cohens_d")
    assert doc_d.estimate >= 1.5
    with collecting(), using(model=tiny):
        with pytest.raises(ClaimFailed, match="token Cohen's d"):
            expect(unit).activates_more(on=de, than=en, effect_size_at_least=1.5)
        with pytest.raises(ClaimFailed, match="token AUROC"):
            expect(unit).activates_more(on=de, than=en, auroc_at_least=0.6)
    auroc = token_auroc_ci(on.per_token, off.per_token)
    assert auroc.estimate < 0.5


def test_the_german_neuron_is_selective_by_auroc_and_by_ablation(tiny, sets):
    de, en = sets
    with collecting(), using(model=tiny):
        r = expect(GERMAN).activates_more(on=de, than=en, auroc_at_least=0.85)
        (expect(GERMAN).ablated(to="mean", over=en.subset(200))
            .raises_loss(on=de.subset(200), by_at_least=0.03))
    assert r.passed and r.record.metric == "token_auroc" and 0.85 < r.record.ci[0] < r.effect
    assert r.record.details["definition"].startswith("chance that a counted token")
    assert r.effect == pytest.approx(r.record.details["token_auroc"])


def test_the_token_effect_size_does_not_grow_with_document_length(tiny, sets):
    de, en = sets
    a = neuron_activations(tiny, de.subset(200), GERMAN).per_token
    b = neuron_activations(tiny, en.subset(200), GERMAN).per_token
    short = token_d_ci([x[:8] for x in a], [x[:8] for x in b]).estimate
    full = token_d_ci(a, b).estimate
    assert abs(full - short) < 0.25 * full  # a d of document means grows ~2.8x here


def test_a_resample_without_variance_makes_the_claim_undefined(tiny):
    flat = [np.zeros(5)] * 12
    est = token_d_ci(flat, flat)
    assert np.isnan(est.ci[0]) and np.isnan(est.ci[1])
    assert token_auroc_ci(flat, flat).estimate == 0.5
