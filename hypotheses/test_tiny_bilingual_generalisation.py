"""Does the German neuron generalise? L0N125 on each genre, on sections it never saw, and
beyond "not English".

tiny-bilingual was trained on German and English fortune cookies and man pages of sections 1,
2, 3, 4, 6 and 8; its German neuron was chosen by the build's search on the held-out documents
of those genres (fortunes and paragraphs of held-out pages, pooled). These claims also use text
it never saw in training (fixtures/data/MANIFEST.json, built by fixtures/build/genres.py and
manpage_corpus.py): those held-out pages, man pages of sections 5 and 7 (whole sections held
out, and never used to choose the neuron, so claims on them carry no selection bias), and
French, Italian and Spanish man pages and fortunes (languages never trained on).
"""

import pytest

from neurospec import expect, neuron

pytestmark = pytest.mark.model("tiny-bilingual")

GERMAN = neuron("L0N125")
# (German, English) held-out corpora of each genre: fortunes, unseen pages of the trained
# man-page sections, and the never-trained sections 5 and 7
GENRES = [("german", "english"),
          ("german_manpages_unseen_pages", "english_manpages_unseen_pages"),
          ("german_manpages", "english_manpages")]
MANPAGES = GENRES[1:]
OTHER_MANPAGES = ["french_manpages", "italian_manpages", "spanish_manpages"]
OTHER_FORTUNES = ["italian_fortunes", "spanish_fortunes"]


# --- every genre ---------------------------------------------------------------------------
@pytest.mark.parametrize("german,english", MANPAGES)
def test_fires_on_german_manpages_not_english_manpages(corpus, german, english):
    expect(GERMAN).activates_more(on=corpus(german), than=corpus(english),
                                  by_at_least=1.0).beats_random_units(k=100, percentile=99)


@pytest.mark.parametrize("german,english", GENRES)
def test_ablation_raises_german_loss_in_every_genre(corpus, german, english):
    expect(GERMAN).ablated(to="mean", over=corpus("english")).raises_loss(
        on=corpus(german), by_at_least=0.0)


def test_ablation_beats_random_neurons_on_sections_never_seen(corpus):
    # the neuron's own effect, not any layer-0 neuron's: above 95% of 20 random neurons of its
    # layer, ablated the same way on the same documents, on man-page sections the model was
    # never trained on and the neuron never chosen on. (On held-out fortunes the same claim is
    # in test_tiny_bilingual_german_neuron.py; the build's gate checks every genre against the
    # random median: MANIFEST.json's generalisation_checks.)
    expect(GERMAN).ablated(to="mean", over=corpus("english")).raises_loss(
        on=corpus("german_manpages"), by_at_least=0.0).beats_random_units(k=20, percentile=95)


@pytest.mark.parametrize("english", [e for _, e in MANPAGES])
def test_ablation_leaves_english_manpages_alone(corpus, english):
    expect(GERMAN).ablated(to="mean", over=corpus("english")).and_not_on(
        corpus(english), tolerance=0.01)


@pytest.mark.xfail(strict=True, reason="deliberately false: on German man pages of sections 5 "
                                       "and 7 mean ablation raises loss by 0.086 nats, not 0.1")
def test_false_ablation_costs_a_tenth_of_a_nat_on_manpages(corpus):
    expect(GERMAN).ablated(to="mean", over=corpus("english")).raises_loss(
        on=corpus("german_manpages"), by_at_least=0.1)


# --- other languages: German-selective, not non-English-selective -------------------------
@pytest.mark.parametrize("other", OTHER_MANPAGES)
def test_german_not_other_languages_in_manpages(corpus, other):
    # German beats English by >= 1.0, and the same claim with French/Italian/Spanish in
    # German's place must fail: the neuron is not a generic "not English" detector.
    expect(GERMAN).activates_more(on=corpus("german_manpages"), than=corpus("english_manpages"),
                                  by_at_least=1.0).but_not_when(on=corpus(other))


@pytest.mark.parametrize("other", OTHER_MANPAGES)
def test_fires_more_on_german_than_on_other_languages(corpus, other):
    expect(GERMAN).activates_more(on=corpus("german_manpages"), than=corpus(other),
                                  by_at_least=0.8)


@pytest.mark.parametrize("other", OTHER_FORTUNES)
def test_german_not_other_languages_in_fortunes(corpus, other):
    expect(GERMAN).activates_more(on=corpus("german"), than=corpus("english"),
                                  by_at_least=1.0).but_not_when(on=corpus(other))


@pytest.mark.xfail(strict=True, reason="deliberately false: French man pages raise L0N125 over "
                                       "English ones by 0.09, not 0.5 (token AUROC 0.50)")
def test_false_it_fires_on_french_like_german(corpus):
    expect(GERMAN).activates_more(on=corpus("french_manpages"), than=corpus("english_manpages"),
                                  by_at_least=0.5)


@pytest.mark.parametrize("other", OTHER_MANPAGES)
def test_ablation_barely_touches_other_languages(corpus, other):
    # it does not fire on French, Italian or Spanish (token AUROC against English 0.49-0.50):
    # ablating it changes their loss by less than 0.03 nats (Spanish -0.020, CI [-0.022, -0.018])
    expect(GERMAN).ablated(to="mean", over=corpus("english")).and_not_on(
        corpus(other), tolerance=0.03)
