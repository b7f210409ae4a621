"""Seed 003's wrong-vs-right answer comparison on tiny-bilingual: German prompts followed by
their true next word, or by the English word " the"; the wrong answer's loss pulls harder on
the German neuron's weights."""

import pytest

from neurospec import expect, neuron

pytestmark = pytest.mark.model("tiny-bilingual")

GERMAN = neuron("L0N125")


def _pairs(model, corpus, n=80):
    prompts, right = [], []
    for text in corpus.texts:
        ids = model.encode([text])[0]
        for cut in range(8, min(len(ids), 40)):
            answer = model.tokenizer.decode(ids[cut:cut + 1])
            prompt = model.tokenizer.decode(ids[:cut])
            if answer.startswith(" ") and answer.strip().isalpha() and \
                    model.encode([prompt + answer])[0] == (model.encode([prompt])[0]
                                                           + ids[cut:cut + 1]):
                prompts.append(prompt)
                right.append(answer)
                break
        if len(prompts) == n:
            break
    return prompts, right, [" the"] * len(prompts)


def test_wrong_english_answers_pull_harder_on_the_german_neuron(model, corpus):
    prompts, right, wrong = _pairs(model, corpus("german"))
    expect(GERMAN).updates_more_for_wrong_answers(prompts, right, wrong, weights="in",
                                                  by_at_least=0.2)


@pytest.mark.xfail(strict=True, reason="deliberately false: the right answers pull less")
def test_false_right_answers_pull_harder(model, corpus):
    prompts, right, wrong = _pairs(model, corpus("german"))
    expect(GERMAN).updates_more_for_wrong_answers(prompts, wrong, right, weights="in",
                                                  by_at_least=0.2)
