"""The BCa jackknife of Cohen's d in O(n) equals the straightforward one (recompute d with
each document left out), so every CI stays what it was; and it runs at 20 000 documents
per set (100 000 in ``benchmarks/many_docs.py``), where the straightforward one would hold
n^2 values."""

import math
import tracemalloc

import numpy as np
import pytest

from neurospec.stats.bootstrap import _leave_one_out, percentile
from neurospec.stats.effects import cohens_d, cohens_d_leave_one_out
from neurospec.stats.inference import two_sample


def _naive(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    out = [cohens_d(np.delete(a, i), b) for i in range(len(a))]
    out += [cohens_d(a, np.delete(b, j)) for j in range(len(b))]
    return np.array(out, dtype=np.float64)


SETS = {
    "normal": (np.random.default_rng(1).normal(0.4, 1.0, 37),
               np.random.default_rng(2).normal(0.0, 2.0, 23)),
    "skewed, large offset": (1e4 + np.random.default_rng(3).exponential(1.0, 40),
                             1e4 + np.random.default_rng(4).exponential(0.5, 31)),
    "ties": (np.array([0.0, 0, 0, 1, 1, 2, 2, 2, 5]), np.array([0.0, 0, 1, 1, 1, 1])),
    "one value left after a removal": (np.array([3.0, 3.0, 7.0]), np.array([1.0, 1.0, 1.0])),
}


@pytest.mark.parametrize("name", SETS)
def test_closed_form_equals_recomputing_d_without_each_document(name):
    a, b = SETS[name]
    fast, slow = cohens_d_leave_one_out(a, b), _naive(a, b)
    assert fast.shape == slow.shape == (len(a) + len(b),)
    assert np.array_equal(np.isinf(fast), np.isinf(slow))
    finite = np.isfinite(slow)
    # values near 1e4 with unit spread: the difference of means keeps ~12 digits either way
    # (it is the reference's own rounding), so there agreement is to 1e-10
    tol = 1e-10 if "offset" in name else 1e-12
    np.testing.assert_allclose(fast[finite], slow[finite], rtol=tol, atol=tol)


def test_chunked_generic_jackknife_equals_the_one_row_per_document_form():
    a, b = SETS["normal"]
    blocks = [blk for k in range(2) for blk in _leave_one_out([a, b], k)]
    generic = np.concatenate([cohens_d(x, y, axis=-1) for x, y in blocks])
    np.testing.assert_allclose(generic, _naive(a, b), rtol=1e-12, atol=0)


@pytest.mark.parametrize("name", ["normal", "skewed, large offset", "ties"])
def test_bca_with_the_closed_form_is_the_same_interval(name):
    a, b = SETS[name]
    stat = lambda x, y: cohens_d(x, y, axis=-1)  # noqa: E731
    fast = percentile(stat, (a, b), seed=7, n_resamples=2000,
                      jackknife=cohens_d_leave_one_out)
    slow = percentile(stat, (a, b), seed=7, n_resamples=2000)
    assert fast.bca == slow.bca
    np.testing.assert_array_equal(fast.values, slow.values)  # same resamples
    assert math.isclose(fast.accel, slow.accel, rel_tol=1e-9, abs_tol=1e-14)
    assert fast.z0 == slow.z0
    for side in ("lo", "hi"):
        assert math.isclose(fast.bound(side, 0.025), slow.bound(side, 0.025), rel_tol=1e-12)


def test_two_sample_cohens_d_at_many_documents_is_bounded():
    rng = np.random.default_rng(0)
    a, b = rng.normal(0.3, 1, 20_000), rng.normal(0, 1, 20_000)
    tracemalloc.start()
    try:
        est = two_sample(a, b, measure="cohens_d", seed=0)
        peak_mb = tracemalloc.get_traced_memory()[1] / 1e6
    finally:
        tracemalloc.stop()
    assert est.method == "bootstrap BCa"
    assert est.ci[0] < est.estimate < est.ci[1] and 0.25 < est.estimate < 0.35
    assert peak_mb < 300  # a leave-one-out matrix alone would hold 1.6e9 values
