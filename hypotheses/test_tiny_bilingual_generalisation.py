"""Does the German neuron generalise? L0N230 beyond fortune cookies and beyond "not English".

tiny-bilingual was trained on fortune cookies only. These claims use corpora it never saw
(fixtures/data/MANIFEST.json, built by fixtures/build/genres.py and manpage_corpus.py): German
and English man-page paragraphs (sections 5 and 7; and pages of sections 1-4, 6, 8), and
French, Italian and Spanish man pages and fortunes.

What holds: the neuron still *fires* on German in another genre, and it is German-selective,
not merely non-English-selective (French, Italian and Spanish raise it a little). What does
not hold: *ablating* it does not raise German loss on man pages of sections 5 and 7, and on
other sections only a little, no more than some random neurons (xfails below) — the README's
ablation claim is a claim about German fortunes.
"""

import pytest

from neurospec import expect, neuron

pytestmark = pytest.mark.model("tiny-bilingual")

GERMAN = neuron("L0N230")
OTHER_MANPAGES = ["french_manpages", "italian_manpages", "spanish_manpages"]
OTHER_FORTUNES = ["italian_fortunes", "spanish_fortunes"]


# --- another genre: man pages -------------------------------------------------------------
# sections 5 and 7, and pages of sections 1, 2, 3, 4, 6, 8 (`*_manpages_unseen_pages`)
MANPAGES = [("german_manpages", "english_manpages"),
            ("german_manpages_unseen_pages", "english_manpages_unseen_pages")]


@pytest.mark.parametrize("german,english", MANPAGES)
def test_fires_on_german_manpages_not_english_manpages(corpus, german, english):
    expect(GERMAN).activates_more(on=corpus(german), than=corpus(english),
                                  by_at_least=1.0).beats_random_units(k=100, percentile=99)


@pytest.mark.parametrize("english", [e for _, e in MANPAGES])
def test_ablation_leaves_english_manpages_alone(corpus, english):
    expect(GERMAN).ablated(to="mean", over=corpus("english")).and_not_on(
        corpus(english), tolerance=0.01)


@pytest.mark.xfail(strict=True, reason="does not generalise: on German man pages (never trained "
                                       "on) mean-ablating L0N230 changes loss by +0.0035 nats, "
                                       "95% CI [-0.0023, 0.0092]; on held-out German fortunes "
                                       "it is +0.068")
def test_false_ablation_raises_german_manpage_loss(corpus):
    # The CI alone decides this claim; the random-neuron baseline on man pages is the next
    # test's (20 more ablations of 300 long documents would double this file's time).
    expect(GERMAN).ablated(to="mean", over=corpus("english")).raises_loss(
        on=corpus("german_manpages"), by_at_least=0.0)


def test_ablation_raises_german_loss_on_other_manpage_sections_a_little(corpus):
    # pages of sections 1, 2, 3, 4, 6, 8: +0.0125 nats, CI [0.0050, 0.0201] (against
    # sections 5 and 7: +0.0035, CI [-0.0023, 0.0091]); on German fortunes +0.068
    expect(GERMAN).ablated(to="mean", over=corpus("english")).raises_loss(
        on=corpus("german_manpages_unseen_pages"), by_at_least=0.0, against_random=20)


@pytest.mark.xfail(strict=True, reason="does not generalise: on German man pages of sections "
                                       "1-4, 6, 8 the ablation's +0.0125 nats is at the 85th "
                                       "percentile of 20 random layer-0 neurons, not above 95%")
def test_false_that_loss_is_the_german_neuron_s_own(corpus):
    expect(GERMAN).ablated(to="mean", over=corpus("english")).raises_loss(
        on=corpus("german_manpages_unseen_pages"), by_at_least=0.0
    ).beats_random_units(k=20, percentile=95)


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


@pytest.mark.xfail(strict=True, reason="deliberately false: French man pages raise L0N230 over "
                                       "English ones by 0.22, not 0.5 (token AUROC 0.63)")
def test_false_it_fires_on_french_like_german(corpus):
    expect(GERMAN).activates_more(on=corpus("french_manpages"), than=corpus("english_manpages"),
                                  by_at_least=0.5)


def test_ablation_barely_touches_french(corpus):
    # it lowers French loss slightly (-0.0125 nats, CI [-0.0148, -0.0104]): the neuron's weak
    # firing on French is a small cost there, not a French feature
    expect(GERMAN).ablated(to="mean", over=corpus("english")).and_not_on(
        corpus("french_manpages"), tolerance=0.02)
