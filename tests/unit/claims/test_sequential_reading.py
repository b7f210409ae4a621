"""The reading order of sequential mode: seeded, whole groups adjacent, batches measured
once each (no model: a fake measurement counts what it is asked for)."""

import numpy as np

from neurospec.claims.sequential import read_sets, read_shares, reading
from neurospec.data.corpus import Corpus

WORDS = [f"w{k}" for k in range(5000)]


def _corpus(n: int, name: str, groups=None) -> Corpus:
    """``n`` documents of distinct random words (no near-copies), numbered."""
    rng = np.random.default_rng(len(name) * 1000 + n)
    return Corpus.from_texts([f"number {i} " + " ".join(rng.choice(WORDS, 12)) for i in range(n)],
                             name=name, groups=groups)


def test_reading_order_is_seeded_and_keeps_groups_together():
    c = _corpus(60, "a", groups=[f"g{i // 3}" for i in range(60)])
    r1, r2, r3 = reading(c, 0), reading(c, 0), reading(c, 1)
    assert r1.order.tolist() == r2.order.tolist() != r3.order.tolist()
    assert sorted(r1.order.tolist()) == list(range(60))
    assert r1.n_groups == 20 and r1.ends[-1] == 60
    for start, stop in zip([0, *r1.ends[:-1]], r1.ends):  # each group's documents adjacent
        assert len(set(r1.groups[start:stop].tolist())) == 1


def test_each_batch_is_measured_once_and_a_clear_effect_stops_early():
    a, b = _corpus(300, "a"), _corpus(300, "b")
    asked: list[tuple[int, int]] = []
    rng = np.random.default_rng(0)
    values = [rng.normal(1.0, 1, 300), rng.normal(0.0, 1, 300)]

    def measure(i, batch):
        asked.append((i, len(batch)))
        idx = [int(t.split()[1]) for t in batch.texts]
        return list(values[i][idx])

    out = read_sets([a, b], measure, "mean_diff", 0.0, ">=", seed=3)
    assert out.result.verdict == "pass" and out.docs < 600 / 3
    assert sum(n for i, n in asked if i == 0) == len(out.read[0]) == len(out.items[0])
    assert out.note()["documents"] == out.docs and out.note()["of"] == 600
    chart = out.chart("difference of means")
    assert chart["stopped"] == out.result.last.n and len(chart["points"]) == len(asked) // 2


def test_a_share_claim_draws_in_batches_and_stops():
    asked = []

    def hits(start, stop):
        asked.append((start, stop))
        return np.ones(stop - start, dtype=bool)

    out = read_shares(hits, 400, 0.8)
    assert out.result.verdict == "pass" and out.docs < 400 and asked[0] == (0, 40)
    assert all(s == e for (_, e), (s, _) in zip(asked, asked[1:]))  # contiguous, no re-reads
    assert out.p <= 0.025
