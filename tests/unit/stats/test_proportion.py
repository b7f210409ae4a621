from scipy.stats import binomtest

from neurospec.stats.proportion import share_ci


def test_share_ci_is_the_exact_clopper_pearson_interval_and_one_sided_p():
    est = share_ci(9, 12, 0.5)
    ref = binomtest(9, 12, 0.5, alternative="greater")
    ci = ref.proportion_ci(0.95, method="exact")
    assert est.estimate == 0.75 and est.n == 12
    assert est.ci == (ci.low, ci.high) and est.p_value == ref.pvalue
    assert share_ci(0, 12).ci[0] == 0.0 and share_ci(12, 12).ci[1] == 1.0
