"""Issue 30, item 3: near-copies (five versions of a text, one word changed: the shape of a
templated prompt set) and declared groups are resampled as one observation, and the record
says how many groups and documents there were.  Treating every version as an independent
document passed 0.23-0.29 of boundary claims on the German neuron (``docs/calibration.md``)."""

import numpy as np
import pytest

from neurospec import expect, neuron
from neurospec.claims.context import using
from neurospec.data.corpus import Corpus, load_corpus
from neurospec.data.near_duplicates import corpus_groups, near_duplicate_groups
from neurospec.evidence.sink import collecting

GERMAN = neuron("L0N125")


def versions(texts, families: int, seed: int = 0) -> list[str]:
    """``families`` families of five versions: a text and four copies, one word changed."""
    rng = np.random.default_rng(seed)
    out = []
    for t in texts:
        w = t.split()
        if len(w) < 6:
            continue
        fam = [t] + [" ".join(w[:k] + ["Haus"] + w[k + 1:]) for k in rng.choice(
            len(w), 4, replace=False)]
        if len(set(fam)) == 5:
            out += fam
        if len(out) == 5 * families:
            return out
    raise AssertionError("not enough documents")


def test_families_of_versions_are_found():
    texts = versions(load_corpus("german").texts, 20)
    groups = near_duplicate_groups(texts)
    whole = sum(len(set(groups[i:i + 5])) == 1 for i in range(0, 100, 5))
    assert whole >= 18 and len(set(groups)) <= 22


def test_a_claim_on_near_copies_counts_families_not_versions(tiny):
    de = Corpus.from_texts(versions(load_corpus("german").texts, 8), name="german versions")
    en = load_corpus("english").subset(40)
    with collecting(), using(model=tiny):
        r = expect(GERMAN).activates_more(on=de, than=en, auroc_at_least=0.6)
    groups = r.record.data["groups"]
    assert groups[0]["groups"] == 8 and groups[0]["docs_in_shared_groups"] == 40
    assert groups[1]["groups"] == 40 and r.record.n == 48


def test_declared_groups_resample_together(tiny):
    texts = list(load_corpus("german").texts[:30])
    declared = Corpus.from_texts(texts, name="de by source", groups=[i // 3 for i in range(30)])
    assert len(set(corpus_groups(declared))) == 10
    en = load_corpus("english").subset(30)
    with collecting(), using(model=tiny):
        grouped = expect(GERMAN).activates_more(on=declared, than=en, by_at_least=0.5)
        plain = expect(GERMAN).activates_more(on=Corpus.from_texts(texts, name="de"), than=en,
                                              by_at_least=0.5)
    assert grouped.record.n == 10 + 30 and plain.record.n == 60
    assert grouped.record.data["groups"][0]["declared"]


def test_a_jsonl_group_field_declares_groups(tmp_path):
    f = tmp_path / "prompts.jsonl"
    f.write_text('{"text": "Paris liegt in", "group": "t1"}\n'
                 '{"text": "Rom liegt in", "group": "t1"}\n'
                 '{"text": "Was ist die Hauptstadt von Spanien?", "group": "t2"}\n')
    c = Corpus.from_file(f)
    assert c.groups == ("t1", "t1", "t2") and corpus_groups(c).tolist() == [0, 0, 1]
    with pytest.raises(Exception, match="one label per document"):
        Corpus.from_texts(["a", "b"], groups=["t1"])
