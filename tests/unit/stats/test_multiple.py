"""Holm's correction, the unpaired permutation test and percentiles, against scipy and
hand-computed values."""

import numpy as np
import pytest
from scipy import stats as sps

from neurospec.stats import holm, percentile_among, permutation_p


def test_holm_by_hand():
    # m = 4: sorted p 0.01, 0.02, 0.03, 0.04 -> 0.04, 0.06, 0.06 (monotone), 0.06
    p = [0.03, 0.01, 0.04, 0.02]
    np.testing.assert_allclose(holm(p), [0.06, 0.04, 0.06, 0.06])


def test_holm_caps_at_one_and_skips_missing_p_values():
    out = holm([0.5, float("nan"), 0.001])
    assert out[0] == 0.5 and np.isnan(out[1]) and out[2] == pytest.approx(0.002)
    np.testing.assert_allclose(holm([0.6, 0.7]), [1.0, 1.0])
    assert holm([]).shape == (0,)


def test_holm_matches_scipy_where_available():
    rng = np.random.default_rng(0)
    p = rng.uniform(0, 0.2, 30)
    if not hasattr(sps, "false_discovery_control"):
        pytest.skip("scipy has no multiple-testing helpers to compare with")
    # Bonferroni bounds Holm from above; the smallest p is adjusted exactly by m.
    adj = holm(p)
    assert np.all(adj <= np.minimum(1, p * len(p)) + 1e-12)
    assert adj[np.argmin(p)] == pytest.approx(min(1, p.min() * len(p)))
    assert np.all(np.diff(adj[np.argsort(p)]) >= -1e-15)


def test_permutation_p_agrees_with_scipy():
    rng = np.random.default_rng(1)
    a, b = rng.normal(0.4, 1, 40), rng.normal(0, 1, 50)
    ours = permutation_p(a, b, "greater", seed=0, n_resamples=19999)
    ref = sps.permutation_test((a, b), lambda x, y, axis: x.mean(axis) - y.mean(axis),
                               alternative="greater", n_resamples=19999,
                               random_state=np.random.default_rng(0)).pvalue
    assert ours == pytest.approx(ref, abs=0.01)
    assert permutation_p(a, b, seed=3) == permutation_p(a, b, seed=3)  # seeded


def test_permutation_p_is_uniform_under_the_null():
    rng = np.random.default_rng(2)
    ps = [permutation_p(rng.normal(size=20), rng.normal(size=20), seed=i, n_resamples=499)
          for i in range(300)]
    assert 0.02 <= np.mean(np.array(ps) <= 0.05) <= 0.09


def test_percentile_among_counts_ties_half():
    assert percentile_among(3.0, [1, 2, 3, 4]) == pytest.approx(62.5)
    assert percentile_among(9.0, [1, 2]) == 100.0
    assert np.isnan(percentile_among(1.0, []))
