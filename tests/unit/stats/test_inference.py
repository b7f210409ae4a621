import numpy as np
import pytest
from scipy import stats as sps

from neurospec.claims.verdict import decide
from neurospec.stats import auroc, cohens_d, mean_ci, two_sample
from neurospec.stats.inference import sign_flip_p


def test_ci_verdict_needs_the_whole_interval():
    # point estimate above the threshold, CI reaching below it: fail
    assert decide((0.12, 0.22), 0.2, ">=") == ("fail", "CI lower bound 0.12 < 0.2")
    assert decide((0.21, 0.30), 0.2, ">=") == ("pass", "")
    assert decide((-0.01, 0.005), 0.02, "within")[0] == "pass"
    assert decide((-0.03, 0.005), 0.02, "within")[0] == "fail"
    assert decide((0.1, 0.4), 0.5, "<=")[0] == "pass"
    assert decide((0.1, 0.6), 0.5, "<=")[0] == "fail"


def test_mean_ci_covers_the_mean_and_is_seeded():
    x = np.random.default_rng(1).normal(0.3, 1.0, 200)
    a, b = mean_ci(x, seed=3), mean_ci(x, seed=3)
    assert a == b
    assert a.ci[0] < x.mean() < a.ci[1]
    # close to the t-interval for a mean of 200 normal values
    t = sps.t.interval(0.95, len(x) - 1, loc=x.mean(), scale=sps.sem(x))
    assert a.ci == pytest.approx(t, abs=0.03)


def test_mean_ci_coverage_is_near_nominal():
    rng = np.random.default_rng(0)
    hits = 0
    for i in range(200):
        x = rng.exponential(1.0, 60)  # skewed: where BCa earns its keep
        lo, hi = mean_ci(x, seed=i).ci
        hits += lo <= 1.0 <= hi
    assert 0.89 <= hits / 200 <= 0.99


def test_sign_flip_p_matches_its_definition():
    d = np.array([0.5, 0.2, 0.4, 0.1, 0.3, 0.6, 0.2, 0.5])  # all positive: p = 1/2^8 exactly
    assert sign_flip_p(d, "greater", 0, 99999) == pytest.approx(1 / 256, rel=0.15)
    assert sign_flip_p(np.zeros(5)) == 1.0
    assert sign_flip_p(-d, "less", 0, 99999) == pytest.approx(1 / 256, rel=0.15)


def test_two_sample_effects():
    rng = np.random.default_rng(2)
    a, b = rng.normal(1.0, 1.0, 300), rng.normal(0.0, 1.0, 300)
    e = two_sample(a, b, measure="cohens_d", seed=0)
    assert e.ci[0] < 1.0 < e.ci[1]
    assert e.estimate == pytest.approx(cohens_d(a, b))
    assert e.p_value < 1e-3  # the bootstrap floor: 1 / (resamples + 1)
    m = two_sample(a, b, measure="mean_diff", seed=0)
    assert m.estimate == pytest.approx(a.mean() - b.mean())


def test_auroc_against_mann_whitney():
    rng = np.random.default_rng(4)
    a, b = rng.normal(0.5, 1, 50), rng.normal(0, 1, 70)
    u = sps.mannwhitneyu(a, b).statistic
    assert auroc(a, b) == pytest.approx(u / (50 * 70))
    assert auroc([1, 1], [1, 1]) == 0.5


def test_studentized_ci_matches_welch_for_normal_data():
    from neurospec.stats.inference import studentized_ci

    rng = np.random.default_rng(5)
    a, b = rng.normal(1, 1, 150), rng.normal(0, 2, 120)
    lo, hi = studentized_ci(a, b, seed=0)
    se = np.sqrt(a.var(ddof=1) / 150 + b.var(ddof=1) / 120)
    d = a.mean() - b.mean()
    assert (lo, hi) == pytest.approx((d - 1.97 * se, d + 1.97 * se), abs=0.06)
    assert studentized_ci(np.ones(10)) is None and studentized_ci(np.ones(2)) is None


def test_one_sided_false_passes_near_nominal_on_skewed_data():
    # a paired change with a long right tail and true mean 0: the CI's lower bound should
    # clear 0 about 2.5% of the time (BCa gave ~5% here at n = 30)
    rng = np.random.default_rng(6)
    passes = 0
    for i in range(300):
        x = rng.lognormal(0, 1, 30) - np.exp(0.5)
        passes += mean_ci(x, seed=i).ci[0] >= 0
    assert passes / 300 <= 0.05
