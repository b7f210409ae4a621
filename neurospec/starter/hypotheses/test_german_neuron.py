"""Two claims about the German neuron L0N125 of neurospec's bundled model tiny-bilingual.

Run them with `pytest` in this folder; the report is reports/run.html. Change the model in
pyproject.toml (neurospec_model) or per test with @pytest.mark.model("your-model-folder").
"""

from neurospec import expect, neuron

GERMAN = neuron("L0N125")


def test_fires_more_on_my_german_sentences(corpus):
    # data/my_german.jsonl and data/my_english.txt are your own data (this starter's examples).
    expect(GERMAN).activates_more(on=corpus("my_german"), than=corpus("my_english"),
                                  by_at_least=0.5)


def test_ablating_it_raises_german_loss(corpus):
    # Bundled held-out documents: replace the neuron by its mean on English text.
    (expect(GERMAN).ablated(to="mean", over=corpus("english"))
        .raises_loss(on=corpus("german"), by_at_least=0.02)
        .and_not_on(corpus("english"), tolerance=0.01))
