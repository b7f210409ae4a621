"""The German context neuron of tiny-bilingual: seed notebook 000 (L3N669 in pythia-70m)
in miniature, on the bundled model and its held-out German and English documents.

The neuron was found by fixtures/build/build_tiny_bilingual.py (see MANIFEST.json:
"german_neuron"); these claims re-check it on every run, model or code change.
"""

import pytest

from neurospec import expect, neuron

pytestmark = pytest.mark.model("tiny-bilingual")

GERMAN = neuron("L0N125")
RANDOM_OTHER = neuron("L0N7")  # an arbitrary other neuron of the same layer


def test_fires_on_german_not_english(corpus):
    # a German token outfires an English one 90% of the time (token AUROC 0.904, 95% CI by
    # document [0.894, 0.913]: too close to 0.9 to claim it, so the claim is 0.85)
    expect(GERMAN).activates_more(on=corpus("german"), than=corpus("english"),
                                  auroc_at_least=0.85)


def test_fires_on_german_by_a_large_token_effect_size(corpus):
    # token-level Cohen's d (SD of the two sets' tokens weighted equally): 1.88, 95% CI
    # [1.80, 1.95] (it does not grow with document length, nor change with the sets' sizes)
    expect(GERMAN).activates_more(on=corpus("german"), than=corpus("english"),
                                  effect_size_at_least=1.8)


def test_fires_more_on_german_by_a_clear_margin(corpus):
    expect(GERMAN).activates_more(on=corpus("german"), than=corpus("english"), by_at_least=1.0)


def test_mean_ablation_raises_german_loss_not_english(corpus):
    (expect(GERMAN).ablated(to="mean", over=corpus("english"))
        .raises_loss(on=corpus("german"), by_at_least=0.03, against_random=20)
        .and_not_on(corpus("english"), tolerance=0.01))


def test_mean_ablation_costs_german_more_than_random_neurons_do(corpus):
    # decided on the random neurons `against_random=20` above measured (the same seeded draw,
    # one replay): the unit's effect above 95% of 20 random layer-0 neurons' on the same docs
    (expect(GERMAN).ablated(to="mean", over=corpus("english"))
        .raises_loss(on=corpus("german"), by_at_least=0.03)
        .beats_random_units(k=20, percentile=95))


@pytest.mark.xfail(strict=True, reason="deliberately false: shows a failing verdict's evidence")
def test_false_it_fires_more_on_english(corpus):
    expect(GERMAN).activates_more(on=corpus("english"), than=corpus("german"), by_at_least=0.1)


@pytest.mark.xfail(strict=True, reason="deliberately false: the effect is 0.07 nats, below 0.1")
def test_false_ablation_costs_a_tenth_of_a_nat(corpus):
    expect(GERMAN).ablated(to="mean", over=corpus("english")).raises_loss(
        on=corpus("german"), by_at_least=0.1)


@pytest.mark.xfail(strict=True, reason="deliberately false: a random neuron is no German neuron")
def test_false_a_random_neuron_is_german(corpus):
    expect(RANDOM_OTHER).activates_more(on=corpus("german"), than=corpus("english"),
                                        effect_size_at_least=1.5)


# Random-unit baselines and the vacuity check (claims you can trust).
def test_german_neuron_beats_random_neurons_of_its_layer(corpus):
    expect(GERMAN).activates_more(on=corpus("german"), than=corpus("english"),
                                  by_at_least=1.0).beats_random_units(k=100, percentile=99)


@pytest.mark.vacuity(20)
def test_sharp_claim_is_not_vacuous(corpus):
    # checked against 20 random neurons of layer 0: none of them passes it too
    expect(GERMAN).activates_more(on=corpus("german"), than=corpus("english"),
                                  auroc_at_least=0.85)


@pytest.mark.xfail(strict=True, reason="deliberately false: an arbitrary neuron is not special")
def test_false_arbitrary_neuron_beats_random_neurons(corpus):
    expect(RANDOM_OTHER).activates_more(on=corpus("german"), than=corpus("english"),
                                        by_at_least=0.0).beats_random_units(k=50, percentile=95)


@pytest.mark.vacuity(20, strict=True)
@pytest.mark.xfail(strict=True, reason="deliberately vacuous: 'some neuron of layer 1 fires "
                                       "more on German, by any amount' holds for many neurons")
def test_false_vague_claim_is_vacuous(corpus):
    expect("L1N6").activates_more(on=corpus("german").subset(100),
                                  than=corpus("english").subset(100), by_at_least=0.0)


def test_matched_negative_two_english_halves_do_not_differ(corpus):
    english = corpus("english")
    expect(GERMAN).activates_more(on=corpus("german"), than=english, by_at_least=1.0) \
        .but_not_when(on=english.subset(200), than=english.subset(200, start=200))


@pytest.mark.xfail(strict=True, reason="deliberately false: the control (German vs English "
                                       "again, on fewer documents) holds as well")
def test_false_matched_negative_that_holds(corpus):
    expect(GERMAN).activates_more(on=corpus("german"), than=corpus("english"),
                                  by_at_least=1.0).but_not_when(on=corpus("german").subset(100))
