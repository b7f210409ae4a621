from scipy.stats import binomtest

from neurospec.stats.proportion import share_ci


def test_share_ci_is_the_exact_clopper_pearson_interval_and_one_sided_p():
    # one-sided 97.5%: the lower end of the two-sided 95% interval, like every other claim
    est = share_ci(9, 12, 0.5)
    ref = binomtest(9, 12, 0.5, alternative="greater")
    ci = ref.proportion_ci(0.975, method="exact")
    two_sided = binomtest(9, 12, 0.5).proportion_ci(0.95, method="exact")
    assert abs(est.ci[0] - two_sided.low) < 1e-12
    assert est.estimate == 0.75 and est.n == 12
    assert est.ci == (ci.low, ci.high) and est.p_value == ref.pvalue
    assert share_ci(0, 12).ci[0] == 0.0 and share_ci(12, 12).ci[1] == 1.0
