import numpy as np
import pytest

from neurospec.claims.verdict import decide
from neurospec.stats.cluster_t import satterthwaite_df, statistic_skewness
from neurospec.stats.clustered import token_d_ci
from neurospec.stats.grouping import group_means


def test_satterthwaite_df_of_equal_terms_is_n_minus_1_and_drops_with_one_large_term():
    assert satterthwaite_df([np.ones(10), -np.ones(10)]) == pytest.approx(19)
    spiky = np.r_[np.full(19, 0.1), 5.0]
    assert satterthwaite_df([spiky - spiky.mean()]) < 2


def test_statistic_skewness_has_the_sign_of_the_tail():
    rng = np.random.default_rng(0)
    x = rng.lognormal(0, 1, 200)
    assert statistic_skewness([(x - x.mean()) / len(x)]) > 0
    assert statistic_skewness([(x.mean() - x) / len(x)]) < 0


@pytest.mark.parametrize("alpha", [0.005, 0.0125, 0.025, 0.05])
def test_token_d_passes_exactly_when_p_is_at_most_alpha(alpha):
    rng = np.random.default_rng(1)
    a = [0.4 + rng.normal(0, 1, rng.integers(3, 30)) for _ in range(15)]
    b = [rng.normal(0, 1, rng.integers(3, 30)) for _ in range(15)]
    for threshold in (0.0, 0.2, 0.4):
        p = token_d_ci(a, b, null=threshold).p_value
        e = token_d_ci(a, b, null=threshold, confidence=1 - 2 * alpha)
        held = decide(e.ci, threshold, ">=")[0] == "pass"
        assert held == (p <= alpha) or abs(p - alpha) < 1e-9, (threshold, p)


def test_group_means_are_in_order_of_first_appearance():
    assert group_means(np.array([1.0, 2.0, 3.0, 5.0]), [7, 3, 7, 3]).tolist() == [2.0, 3.5]
    x = np.arange(4.0)
    assert group_means(x, None) is not None and group_means(x, [0, 1, 2, 3]).tolist() == x.tolist()
