import numpy as np

from neurospec.data.near_duplicates import _jaccard, merge_groups, near_duplicate_groups, shingles


def test_shingles_ignore_case_and_whitespace_and_are_stable():
    a, b = shingles("Der  Hund\nbellt laut."), shingles("der hund bellt LAUT.")
    np.testing.assert_array_equal(a, b)
    assert _jaccard(a, shingles("Die Katze schläft auf dem Sofa.")) < 0.1
    assert len(shingles("ab")) == 1  # shorter than a shingle: one hash of the whole text


def test_one_changed_word_joins_the_group_of_the_first_version():
    base = "Wer anderen eine Grube gräbt, fällt selbst hinein, sagt man bei uns."
    texts = [base, base.replace("Grube", "Falle"), "Ein ganz anderer Satz über Wetter.",
             base.replace("bei uns", "im Dorf")]
    assert near_duplicate_groups(texts).tolist() == [0, 0, 1, 0]


def test_similarity_does_not_chain_through_a_corpus():
    # each text is close to the next, but the last is far from the first: it is compared
    # with the group's first document only, so it opens a group of its own
    words = "eins zwei drei vier fünf sechs sieben acht neun zehn elf zwölf".split()
    texts = [" ".join(words[i:i + 8]) for i in range(5)]
    groups = near_duplicate_groups(texts, threshold=0.6)
    assert groups[0] == groups[1] and groups[-1] != groups[0]


def test_merge_groups_keeps_declared_and_found_groups_and_ignores_none():
    found = [0, 0, 1, 2, 3]
    declared = [None, "t1", "t1", None, None]
    assert merge_groups(found, declared).tolist() == [0, 0, 0, 1, 2]
