import numpy as np

from neurospec.stats import mean_ci
from neurospec.stats.permutation import skewness_of_difference, skewness_of_mean


def test_an_equivalence_claim_is_guarded_on_the_side_facing_the_tail_only():
    rng = np.random.default_rng(3)
    x = 0.05 - rng.lognormal(0, 0.9, 60) * 0.05  # a long low tail
    assert skewness_of_mean(x) < -0.2
    guarded = mean_ci(x, threshold=1.0, direction="within", seed=0)
    upper_only = mean_ci(x, threshold=1.0, direction="<=", seed=0)
    assert "Cantelli" in guarded.method
    assert guarded.ci[1] == upper_only.ci[1]  # the upper side faces no tail: not widened


def test_skewness_of_a_difference_is_negative_for_a_long_tail_in_the_second_set():
    rng = np.random.default_rng(4)
    a, b = rng.normal(0, 1, 80), rng.lognormal(0, 1, 80)
    assert skewness_of_difference(a, b) < 0 < skewness_of_difference(b, a)


def test_a_mean_is_no_narrower_than_students_t_at_the_two_sided_975_level():
    from scipy.stats import t

    rng = np.random.default_rng(5)
    x = rng.normal(1, 1, 25)
    e = mean_ci(x, seed=0)
    se = x.std(ddof=1) / 5
    assert e.ci[0] <= x.mean() - t.ppf(0.9875, 24) * se + 1e-12
    assert "Satterthwaite" in e.method
