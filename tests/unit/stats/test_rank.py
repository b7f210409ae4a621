"""A unit's rank among its layer is read from one vector of means (regression: a column's
mean computed apart differs from its entry in ``matrix.mean(0)`` in the last bits, so the
top unit outranked itself and came out second, depending on thread count and layout)."""

import numpy as np

from neurospec.stats.resample import rank_of


def _matrix() -> np.ndarray:
    rng = np.random.default_rng(0)
    m = rng.random((400, 8)) * rng.choice([1e-3, 1.0, 1e3], size=(400, 8))
    m[:, 0] += 5.0
    return m


def test_the_two_ways_of_computing_a_mean_differ_here():
    # the premise of the regression: if this stops holding the next test proves less
    m = _matrix()
    assert m.mean(0)[0] != m[:, 0].mean()


def test_the_top_unit_ranks_first_whatever_the_summation_order():
    m = _matrix()
    means = m.mean(0)
    top = int(np.argmax(means))
    assert int(rank_of(top)(means)) == 1
    assert int(rank_of(top)(np.ascontiguousarray(m.T).mean(1))) == 1


def test_ties_share_the_better_rank_and_order_is_by_size():
    means = np.array([3.0, 1.0, 3.0, 2.0])
    assert [int(rank_of(i)(means)) for i in range(4)] == [1, 4, 1, 3]
