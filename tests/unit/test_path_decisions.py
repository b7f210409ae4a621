"""How a path claim decides (no model): each part is the corpus's mean per token with a
document bootstrap CI; the claim passes only when every edge and the path pass; a part whose
CI cannot be computed is not a pass; p is the largest part's."""

import numpy as np
import pytest

from neurospec.claims.transcoder_paths import (
    decide_part,
    decide_path,
    edge_thresholds,
    per_token,
)
from neurospec.errors import InvalidArgument

RNG = np.random.default_rng(0)
TOKENS = RNG.integers(20, 60, 40).astype(float)


def sums(per_token_mean: float, sd: float = 0.05) -> np.ndarray:
    out: np.ndarray = (per_token_mean + sd * RNG.standard_normal(len(TOKENS))) * TOKENS
    return out


def test_a_part_is_the_mean_per_token_of_the_corpus():
    s = sums(0.3)
    part = decide_part("A -> B", s, TOKENS, 0.2, seed=0)
    assert part.estimate == pytest.approx(s.sum() / TOKENS.sum())
    assert part.ci[0] < part.estimate < part.ci[1] and part.verdict == "pass"
    assert per_token(np.array([[2.0, 4.0]]))[0] == 0.5


def test_edges_that_hold_do_not_make_a_path_that_holds():
    edges = [decide_part("A -> B", sums(0.3), TOKENS, 0.1, 0),
             decide_part("B -> T", sums(0.2), TOKENS, 0.1, 0)]
    path = decide_part("A -> B -> T", sums(0.001), TOKENS, 0.01, 0)
    assert [e.verdict for e in edges] == ["pass", "pass"]
    verdict, missed, p = decide_path(edges, path)
    assert verdict == "fail" and missed.startswith("A -> B -> T: CI lower bound")
    assert "A -> B:" not in missed and p == path.p


def test_a_path_that_holds_with_an_edge_that_does_not_fails():
    edges = [decide_part("A -> B", sums(0.3), TOKENS, 0.1, 0),
             decide_part("B -> T", sums(0.05), TOKENS, 0.1, 0)]
    path = decide_part("A -> B -> T", sums(0.05), TOKENS, 0.01, 0)
    verdict, missed, p = decide_path(edges, path)
    assert path.verdict == "pass" and verdict == "fail"
    assert missed.startswith("B -> T: CI lower bound") and p == edges[1].p > 0.5


def test_every_part_passing_passes_with_the_largest_p():
    parts = [decide_part(n, sums(m), TOKENS, 0.1, 0) for n, m in
             (("A -> B", 0.3), ("B -> T", 0.2), ("A -> B -> T", 0.25))]
    verdict, missed, p = decide_path(parts[:2], parts[2])
    assert (verdict, missed) == ("pass", "") and p == max(x.p for x in parts) < 0.05


@pytest.mark.parametrize("how", ["nan effect", "inf effect", "no tokens"])
def test_an_undefined_ci_is_not_a_pass(how):
    s, tokens = sums(0.5), TOKENS.copy()
    if how == "nan effect":
        s[3] = np.nan
    elif how == "inf effect":
        s[3] = np.inf
    else:
        tokens[:] = 0.0
    part = decide_part("A -> B -> T", s, tokens, 0.0, seed=0)
    assert part.verdict == "fail" and part.p == 1.0
    edge = decide_part("A -> B", sums(0.5), TOKENS, 0.0, 0)
    assert decide_path([edge], part)[0] == "fail"  # a path part undefined
    assert decide_path([part], edge)[0] == "fail"  # an edge undefined


def test_edge_thresholds_one_per_edge():
    names = ["A -> B", "B -> T"]
    assert edge_thresholds(0.1, 2, names) == [0.1, 0.1]
    assert edge_thresholds([0.1, 0.02], 2, names) == [0.1, 0.02]
    with pytest.raises(InvalidArgument, match="one threshold per edge"):
        edge_thresholds(None, 2, names)
    with pytest.raises(InvalidArgument, match="3 thresholds for 2 edges"):
        edge_thresholds([0.1, 0.1, 0.1], 2, names)
    with pytest.raises(InvalidArgument):
        edge_thresholds([0.1, float("nan")], 2, names)
