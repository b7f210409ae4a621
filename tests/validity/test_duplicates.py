"""Item 9: duplicated documents count once; shared across the two sets of a contrast, an
error."""

import pytest

from neurospec.claims.expect import expect
from neurospec.data.corpus import Corpus, load_corpus
from neurospec.errors import DatasetError, Underpowered


def test_repeats_within_a_set_are_dropped_and_recorded():
    c = Corpus.from_texts(["Der Hund bellt.", "Die Katze.", "Der  Hund bellt. ", "Die Katze."])
    assert len(c) == 2 and c.texts == ("Der Hund bellt.", "Die Katze.")
    assert c.dropped == (("2", "0"), ("3", "1"))


def test_two_documents_repeated_do_not_meet_min_docs(tiny, manifest):
    unit = manifest["german_neuron"]["unit"]
    de = load_corpus("german").subset(2)
    english = load_corpus("english").subset(40)
    repeated = Corpus.from_texts(list(de.texts) * 5, name="german x5")
    with pytest.raises(Underpowered, match="has 2 documents"):
        expect(unit, model=tiny).activates_more(on=repeated, than=english, by_at_least=0.0)


def test_a_document_in_both_sets_is_an_error(tiny, manifest):
    unit = manifest["german_neuron"]["unit"]
    de, en = load_corpus("german").subset(30), load_corpus("english").subset(30)
    leaky = Corpus.from_texts(list(en.texts[:29]) + [de.texts[4]], name="english+1")
    with pytest.raises(DatasetError, match="in both"):
        expect(unit, model=tiny).activates_more(on=de, than=leaky, by_at_least=0.0)
