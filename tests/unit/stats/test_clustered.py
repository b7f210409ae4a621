import numpy as np
import pytest

from neurospec.stats.clustered import _flat, _pair_counts, token_auroc_ci, token_d_ci
from neurospec.stats.effects import auroc


def _docs(rng, n, loc):
    return [rng.normal(loc, 1, rng.integers(1, 30)).round(1) for _ in range(n)]


def test_pair_counts_equal_the_naive_double_loop():
    rng = np.random.default_rng(0)
    a_docs, b_docs = _docs(rng, 7, 0.5), _docs(rng, 5, 0.0) + [np.array([])]
    a, da = _flat(a_docs, "A")
    b, db = _flat(b_docs, "B")
    got = _pair_counts(a, da, len(a_docs), b, db, len(b_docs), group=3)
    ref = [[(x[:, None] > y[None]).sum() + 0.5 * (x[:, None] == y[None]).sum() for y in b_docs]
           for x in a_docs]
    np.testing.assert_array_equal(got, ref)


def test_token_auroc_and_d_equal_the_pooled_token_statistics():
    rng = np.random.default_rng(1)
    a_docs, b_docs = _docs(rng, 30, 0.7), _docs(rng, 25, 0.0)
    a, b = np.concatenate(a_docs), np.concatenate(b_docs)
    e = token_auroc_ci(a_docs, b_docs, seed=0)
    assert e.estimate == pytest.approx(auroc(a, b)) and e.ci[0] < e.estimate < e.ci[1]
    # the two sets' token variances weighted equally, whatever their sizes
    d = (a.mean() - b.mean()) / np.sqrt((a.var(ddof=1) + b.var(ddof=1)) / 2)
    e = token_d_ci(a_docs, b_docs, seed=0)
    assert e.estimate == pytest.approx(d) and e.ci[0] < e.estimate < e.ci[1]


def test_resampling_documents_widens_the_ci_when_tokens_cluster():
    # every token of a document shares the document's level: the tokens are not independent
    rng = np.random.default_rng(2)
    a_docs = [np.full(50, rng.normal(0.2, 1)) for _ in range(20)]
    b_docs = [np.full(50, rng.normal(0.0, 1)) for _ in range(20)]
    clustered = token_d_ci(a_docs, b_docs, seed=0).ci
    as_tokens = token_d_ci([np.array([x]) for d in a_docs for x in d],
                           [np.array([x]) for d in b_docs for x in d], seed=0).ci
    assert clustered[1] - clustered[0] > 3 * (as_tokens[1] - as_tokens[0])
