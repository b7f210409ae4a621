"""Remote runs, tested offline through nnsight's own simulation (``remote="local"``): the
request is serialised as for NDIF and run with neurospec (and everything else NDIF lacks)
unimportable.  Every claim kind either gives the local run's numbers from as few requests as
its evidence needs, with only reductions coming back, or refuses by name."""

from __future__ import annotations

import math

import numpy as np
import pytest

pytest.importorskip("nnsight")

from neurospec import expect, expect_layer, head  # noqa: E402
from neurospec.errors import ClaimFailed, RemoteFailed, RemoteUnsupported  # noqa: E402

pytestmark = [pytest.mark.filterwarnings("ignore:.*were truncated:UserWarning"),
              pytest.mark.filterwarnings("ignore::FutureWarning")]
N = "L0N125"


@pytest.fixture(scope="module")
def models():
    from neurospec import load_model

    return (load_model("tiny-bilingual", backend="nnsight"),
            load_model("tiny-bilingual", remote="local"))


@pytest.fixture(scope="module")
def sets():
    from neurospec.data.corpus import load_corpus

    return load_corpus("german").subset(40), load_corpus("english").subset(40)


def _fires_on(model, corpus):
    from neurospec.strategies import common_tokens, prompts

    return expect(N, model=model).fires_on(prompts(common_tokens(model, corpus, top=50),
                                                   length=6), above=0.0, n=10,
                                           share_at_least=0.1)


REMOTE = {
    "activates_more": lambda m, de, en: expect(N, model=m).activates_more(
        on=de, than=en, auroc_at_least=0.6),
    "activates_more + random": lambda m, de, en: expect(N, model=m).activates_more(
        on=de, than=en, by_at_least=0.0).beats_random_units(k=4, percentile=50),
    "top_examples_come_from": lambda m, de, en: expect(N, model=m).top_examples_come_from(
        on=de, among=[en], k=10, share_at_least=0.5),
    "fires_on": lambda m, de, en: _fires_on(m, de),
    "raises_loss (zero)": lambda m, de, en: expect(N, model=m).ablated(to="zero").raises_loss(
        on=de, by_at_least=0.0),
    "raises_loss (mean) + random": lambda m, de, en: expect(N, model=m).ablated(
        to="mean", over=en).raises_loss(on=de, by_at_least=0.0, against_random=4),
    "raises_loss (resample)": lambda m, de, en: expect(N, model=m).ablated(
        to="resample", over=en).raises_loss(on=de, by_at_least=0.0),
    "and_not_on + random": lambda m, de, en: expect(N, model=m).ablated(to="zero")
    .and_not_on(en, 0.5).beats_random_units(k=3, percentile=10),
    "runs_through": lambda m, de, en: expect(N, model=m).ablated(to="zero").runs_through(
        ["blocks.1.hook_mlp_out"], on=de, share_at_least=0.0),
    "head ablation_raises_loss": lambda m, de, en: expect(head("L1H2"), model=m)
    .ablation_raises_loss(on=de, by_at_least=0.0),
    "head ablated(mean).and_not_on": lambda m, de, en: expect(head("L1H2"), model=m)
    .ablated(to="mean", over=en).and_not_on(en, 1.0),
}
LOCAL_ONLY = {
    "simplifies": lambda m, de, en: expect(N, model=m).simplifies(on=de, k=3, max_tokens=3,
                                                                  share_at_least=0.3),
    "optimised_prompts_reach": lambda m, de, en: expect(N, model=m).optimised_prompts_reach(
        on=de, fraction=0.5, restarts=2, length=3, steps=5),
    "deboosts_tokens": lambda m, de, en: expect(N, model=m).ablated(to="zero")
    .deboosts_tokens([" und"], on=de, top_k=50),
    "ranks_in_top": lambda m, de, en: expect(N, model=m).ablated(to="zero").ranks_in_top(
        10, on=de),
    "top_neurons_carry": lambda m, de, en: expect_layer(0, model=m).top_neurons_carry(
        3, share_at_least=0.1, on=de, over=en),
    "updates_more": lambda m, de, en: expect(N, model=m).updates_more(on=de, than=en,
                                                                      by_at_least=0.0),
    "writes_tokens": lambda m, de, en: expect(N, model=m).writes_tokens([" und"], top_k=50),
    "head direct_effect_favours_repeats": lambda m, de, en: expect(head("L1H2"), model=m)
    .direct_effect_favours_repeats(on=de),
    "SAE activates_more": lambda m, de, en: expect(
        "L0F456", model=m, sae="fixtures/saes/tiny-bilingual/L0").activates_more(
        on=de, than=en, by_at_least=0.0),
}


def _run(thunk):
    from neurospec.evidence.sink import collecting

    records: list = []
    with collecting(records):
        try:
            thunk()
            outcome = "pass"
        except ClaimFailed:
            outcome = "fail"
    return outcome, records


@pytest.mark.parametrize("kind", sorted(REMOTE))
def test_a_remote_claim_equals_the_local_one_in_few_requests(models, sets, kind):
    local, remote = models
    de, en = sets
    remote.cache.clear()
    before = len(remote.remote.log)
    want = _run(lambda: REMOTE[kind](local, de, en))
    got = _run(lambda: REMOTE[kind](remote, de, en))
    assert got[0] == want[0]
    for a, b in zip(want[1], got[1], strict=True):
        assert (a.claim, a.verdict, a.n) == (b.claim, b.verdict, b.n)
        assert math.isclose(a.effect, b.effect, rel_tol=1e-9, abs_tol=1e-12)
        np.testing.assert_allclose(b.ci, a.ci, rtol=1e-9, atol=1e-12)
        assert b.model["remote"] == "local simulation" and b.model["backend"] == "nnsight"
    requests = remote.remote.log[before:]
    # one request per measurement a claim needs: its corpus passes together (clean and
    # ablated; both sets of a contrast), a reference corpus's values, and a baseline's reruns
    # together -- never one per batch or per random unit
    budget = {"activates_more + random": 2, "raises_loss (mean) + random": 4,
              "raises_loss (resample)": 2, "head ablated(mean).and_not_on": 2,
              "and_not_on + random": 2, "top_examples_come_from": 2}.get(kind, 1)
    if kind.startswith("head"):
        budget += 1  # the attention pattern the evidence card draws
    if kind == "fires_on":
        budget = 100  # one short batch of prompts per draw of the property search
    assert 1 <= len(requests) <= budget, [(r.what, r.traces) for r in requests]


@pytest.mark.parametrize("kind", sorted(LOCAL_ONLY))
def test_a_claim_that_needs_the_model_here_refuses_by_name(models, sets, kind):
    _, remote = models
    de, en = sets
    with pytest.raises(RemoteUnsupported, match="runs remotely|remote|a local copy"):
        LOCAL_ONLY[kind](remote, de, en)


def test_only_reductions_come_back(models):
    """An activation claim's request brings back one float per counted token, an ablation's
    one per next-token loss: never the logits (d_vocab floats per token) or a whole layer."""
    from neurospec.data.corpus import load_corpus

    _, remote = models
    remote.cache.clear()
    de, en = load_corpus("german"), load_corpus("english")
    before = len(remote.remote.log)
    _run(lambda: expect(N, model=remote).activates_more(on=de, than=en, auroc_at_least=0.6))
    _run(lambda: expect(N, model=remote).ablated(to="zero").raises_loss(on=de, by_at_least=0))
    acts, ablation = remote.remote.log[before:]
    tokens = sum(len(d) for c in (de, en) for d in remote.encode(c.texts))
    assert acts.received < 8 * tokens + 20_000, (acts.received, tokens)
    de_tokens = sum(len(d) for d in remote.encode(de.texts))
    assert ablation.received < 2 * 8 * de_tokens + 20_000, (ablation.received, de_tokens)
    assert acts.sent > 0 and ablation.sent > 0


def test_the_simulation_rejects_a_block_that_needs_neurospec(models):
    """The stock simulation keeps installed packages importable and would pass a block that
    calls neurospec, which NDIF does not have; neurospec's simulation fails it, as NDIF."""
    import torch

    from neurospec.models import ndif
    from neurospec.models.passes import token_losses

    _, remote = models
    ids = torch.tensor([[0, 5, 6, 7]])
    record = ndif.RequestLog("probe", 1)
    nn = remote.nn
    with pytest.raises(ModuleNotFoundError, match="neurospec"):
        with nn.trace(ids, backend=ndif.simulation(remote, record)):
            out = token_losses(nn.output.logits, ids).save()  # noqa: F841


def test_a_connection_lost_mid_run_fails_that_claim_and_keeps_the_first(models, sets,
                                                                         monkeypatch):
    from neurospec.models import ndif

    _, remote = models
    de, en = sets
    remote.cache.clear()
    real = ndif.simulation
    calls = {"n": 0}

    def flaky(model, record):
        calls["n"] += 1
        if calls["n"] == 2:
            raise ConnectionResetError("the websocket closed (ndif-api-key: SECRET)")
        return real(model, record)

    monkeypatch.setenv("NDIF_API_KEY", "SECRET")
    monkeypatch.setattr(ndif, "simulation", flaky)
    first = _run(lambda: expect(N, model=remote).activates_more(on=de, than=en,
                                                                by_at_least=0.0))
    assert first[0] == "pass" and len(first[1]) == 1
    with pytest.raises(RemoteFailed) as err:
        expect(N, model=remote).ablated(to="zero").raises_loss(on=de, by_at_least=0.0)
    assert "ConnectionResetError" in str(err.value) and "SECRET" not in str(err.value)
    assert err.value.__cause__ is None and err.value.__suppress_context__
