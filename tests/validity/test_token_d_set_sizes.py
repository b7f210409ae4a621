"""Issue 30, item 5: token d does not depend on the sizes of the two sets.  With the pooled
token SD (weighted by token counts) the same neuron and data gave 1.58 for a 5000 vs 1000
document pool and 2.01 for equal sets; the SD of the two sets weighted equally gives one
value."""

import numpy as np
import pytest

from neurospec.stats.clustered import token_d_ci


def _docs(rng, n, loc, sd):
    return [rng.normal(loc, sd, rng.integers(20, 60)) for _ in range(n)]


def test_the_same_sets_give_the_same_d_whatever_their_sizes():
    rng = np.random.default_rng(5)
    on, than = _docs(rng, 2000, 2.0, 2.0), _docs(rng, 2000, 0.0, 0.5)  # unequal spreads
    equal = token_d_ci(on[:400], than[:400], n_resamples=50).estimate
    more_on = token_d_ci(on[:2000], than[:400], n_resamples=50).estimate
    more_than = token_d_ci(on[:400], than[:2000], n_resamples=50).estimate
    assert more_on == pytest.approx(equal, rel=0.03)
    assert more_than == pytest.approx(equal, rel=0.03)
    a, b = np.concatenate(on[:400]), np.concatenate(than[:400])
    assert equal == pytest.approx((a.mean() - b.mean()) / np.sqrt((a.var(ddof=1)
                                                                   + b.var(ddof=1)) / 2))
