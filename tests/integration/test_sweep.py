"""The per-neuron sweep against the notebook way: one forward pass per neuron."""

import numpy as np
import pytest
import torch
from scipy.stats import spearmanr

from neurospec.errors import InvalidArgument
from neurospec.measure import ablation_effect, make_ablation
from neurospec.measure.sweep import neuron_sweep
from neurospec.units import Neuron


@pytest.fixture(scope="module")
def few(small_sets):
    de, en = small_sets
    return de.subset(6), en


@pytest.fixture(scope="module")
def loop(tiny, few):
    """The notebook way, run once per (layer, ablation) for the whole module."""
    de, en = few
    done = {}

    def get(layer, to):
        if (layer, to) not in done:
            done[layer, to] = neuron_sweep(tiny, de, layer, to=to, over=en, method="loop")
        return done[layer, to]
    return get


def test_loop_equals_single_ablations(tiny, few, loop):
    de, en = few
    sweep = loop(0, "mean")
    for n in (0, 230, 255):
        eff = ablation_effect(tiny, make_ablation(tiny, Neuron(0, n), "mean", en), de)
        np.testing.assert_allclose(sweep.delta[n], eff.delta, atol=1e-6)


@pytest.mark.parametrize("to", ["mean", "zero"])
def test_closed_form_equals_the_loop_on_the_last_layer(tiny, few, loop, to):
    de, en = few
    closed = neuron_sweep(tiny, de, 1, to=to, over=en, method="closed_form")
    assert np.abs(closed.delta - loop(1, to).delta).max() <= 1e-4
    assert (closed.ranking()[:10] == loop(1, to).ranking()[:10]).all()


@pytest.mark.parametrize("elements", [1 << 14, 1 << 17, 1 << 24])
def test_closed_form_over_groups_of_documents_equals_the_loop(tiny, few, loop, monkeypatch,
                                                              elements):
    """The GPU layout (whole documents stacked, several neurons per step), run on the CPU:
    groups of one, some and all documents give the loop's rows."""
    from neurospec.measure import sweep as sweep_module

    monkeypatch.setattr(sweep_module, "_CLOSED_ONE_DOC", {})
    monkeypatch.setitem(sweep_module._CLOSED_ELEMENTS, "cpu", elements)
    de, en = few
    closed = neuron_sweep(tiny, de, 1, to="mean", over=en, method="closed_form")
    assert np.abs(closed.delta - loop(1, "mean").delta).max() <= 1e-4


def test_document_groups_keep_order_and_fit_the_budget():
    from neurospec.measure.sweep import _doc_groups

    lengths = [5, 3, 9, 2, 2, 20]
    assert _doc_groups(lengths, 10 * 4, 4, one_each=True) == [[0], [1], [2], [3], [4], [5]]
    groups = _doc_groups(lengths, 10 * 4, 4, one_each=False)
    assert groups == [[0, 1], [2], [3, 4], [5]]  # a document over the budget stands alone
    assert [k for g in groups for k in g] == list(range(len(lengths)))


@pytest.mark.parametrize("layer,to", [(0, "mean"), (0, "zero"), (1, "zero")])
def test_downstream_recompute_equals_the_loop(tiny, few, loop, layer, to):
    de, en = few
    fast = neuron_sweep(tiny, de, layer, to=to, over=en, method="downstream")
    assert np.abs(fast.delta - loop(layer, to).delta).max() <= 1e-4
    assert (fast.ranking()[:10] == loop(layer, to).ranking()[:10]).all()


def test_auto_picks_an_exact_method_for_every_layer(tiny, few):
    de, en = few
    assert neuron_sweep(tiny, de, 0, over=en).method == "downstream"
    assert neuron_sweep(tiny, de, 1, over=en).method == "closed_form"


def test_split_run_replays_the_later_blocks_exactly(tiny, few):
    from neurospec.data.tokens import tokenize

    de, _ = few
    _, ids, _ = next(tokenize(tiny, de).batches())
    for layer in range(tiny.n_layers):
        logits, resid, replay = tiny.split_run(ids, layer)
        assert torch.allclose(replay(resid), logits, atol=1e-5)
        stacked = replay(resid.repeat(3, 1, 1))  # three identical variants
        assert torch.allclose(stacked[-len(ids):], logits, atol=1e-5)
    assert tiny.leftover_hooks() == []


def test_attribution_is_a_labelled_approximation(tiny, few):
    de, en = few
    exact = neuron_sweep(tiny, de, 1, to="mean", over=en)
    approx = neuron_sweep(tiny, de, 1, to="mean", over=en, method="attribution")
    assert exact.exact and not approx.exact and approx.method == "attribution"
    assert spearmanr(approx.mean, exact.mean).statistic > 0.7


def test_closed_form_refuses_earlier_layers(tiny, few):
    de, en = few
    with pytest.raises(InvalidArgument, match="only for the last MLP layer"):
        neuron_sweep(tiny, de, 0, over=en, method="closed_form")


def test_layer_and_rank_claims_from_the_sweep(tiny, small_sets):
    from neurospec.claims.expect import expect, expect_layer
    from neurospec.errors import ClaimFailed
    from neurospec.evidence.sink import collecting

    de, en = small_sets
    with collecting() as records:
        res = expect_layer(1, model=tiny).top_neurons_carry(3, 0.0, on=de, over=en)
        sweep = neuron_sweep(tiny, de, 1, over=en)
        # chosen on one half of the documents, measured on the other, both ways
        from neurospec.stats.crossfit import halves

        shares = []
        for pick, measure in [halves(len(de), 0), halves(len(de), 0)[::-1]]:
            chosen = np.argsort(-sweep.delta[:, pick].mean(1))[:3]
            means = sweep.delta[:, measure].mean(1)
            shares.append(means[chosen].sum() / np.abs(means).sum())
        assert res.effect == pytest.approx(np.mean(shares)) and res.ci[0] <= res.ci[1]
        with pytest.raises(ClaimFailed, match="top 1 neurons of MLP1"):
            expect_layer(1, model=tiny).top_neurons_carry(1, 0.9, on=de, over=en)
        best = int(sweep.ranking()[0])
        expect(f"L1N{best}", model=tiny).ablated(to="mean", over=en).ranks_in_top(256, on=de)
    assert {r.kind for r in records} == {"neuron_sweep"}
    assert records[-1].metric == "rank" and records[-1].effect == 1
    assert len(records[0].charts["bars"]["items"]) == 15



def test_closed_form_is_exact_for_an_extreme_ablation(tiny, few):
    from neurospec.measure.sweep import _closed_form, _loop

    de, _ = few
    values = np.full(tiny.d_mlp, 300.0)  # far outside any activation: the LN rescales it
    neurons = [3, 100, 230]
    slow = _loop(tiny, de.subset(2), 1, values, neurons)
    fast = _closed_form(tiny, de.subset(2), 1, values)[neurons]
    assert np.abs(slow).min() > 1  # the ablation really is large
    np.testing.assert_allclose(fast, slow, atol=1e-4)


def test_base_two_log_sum_exp_falls_back_when_it_would_overflow():
    from neurospec.measure.sweep import LN2, ln_sum_exp2

    y = torch.tensor([[0.5, -3.0, 2.0], [200.0, 190.0, -5.0], [-300.0, -310.0, -290.0]])
    ref = torch.logsumexp(y * LN2, -1)
    np.testing.assert_allclose(ln_sum_exp2(y[:1].clone()), ref[:1], rtol=1e-6)  # fast path
    np.testing.assert_allclose(ln_sum_exp2(y.clone()), ref, rtol=1e-6)  # stable path
    assert torch.isfinite(ln_sum_exp2(y.clone())).all()
