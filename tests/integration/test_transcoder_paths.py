"""Paths through transcoder features, against plain torch on Hugging Face hooks: each edge and
the whole path (A's direct effect on B's pre-activation per position, through B's gate, times
B's direct effect on the target) computed forward by hand from the weights, the clean
attention patterns and the clean norm scales; on tiny-bilingual (feature -> feature -> a
token's logit) and on a random 3-block model (feature -> feature -> feature and -> logit, a
JumpReLU set and a cross-layer set)."""

from pathlib import Path

import pytest
import torch
from neox_oracle import attn, clean_pass, random_three_blocks, to_logit, to_mlp_in
from safetensors.torch import load_file

from neurospec.errors import InvalidArgument

ROOT = Path(__file__).resolve().parents[2]
TCS = ROOT / "fixtures/transcoders/tiny-bilingual"
A, B = 341, 486  # the graph's strongest feature edge, L0T341 -> L1T486
pytestmark = pytest.mark.filterwarnings("ignore:.*were truncated", "ignore::UserWarning")


@pytest.fixture(scope="module")
def hf():
    from transformers import GPTNeoXForCausalLM

    return GPTNeoXForCausalLM.from_pretrained(ROOT / "fixtures/models/tiny-bilingual",
                                              attn_implementation="eager").eval()


def test_a_path_to_a_logit_equals_the_weights_by_hand(tiny, small_sets, hf):
    """L0T341 -> L1T486 -> logit(' als') on tiny-bilingual (block 1 is the last block: B
    reaches the logit through the residual and the final norm only)."""
    from neurospec.data.tokens import tokenize
    from neurospec.measure.transcoder import load_transcoder
    from neurospec.measure.transcoder_paths import Step, logit, path_effects, token_id

    de = small_sets[0].subset(4)
    tcs = load_transcoder("tiny-bilingual")
    tok = token_id(tiny, logit(" als"))
    got = path_effects(tiny, [Step(tcs.at(0), A, (5,)), Step(tcs.at(1), B)], tok, de)
    w0, w1 = load_file(TCS / "L0/sae_weights.safetensors"), load_file(TCS / "L1/sae_weights."
                                                                       "safetensors")
    opened = 0
    for k, ids in enumerate(tokenize(tiny, de).docs):
        keep, patterns = clean_pass(hf, ids)
        with torch.no_grad():
            a = torch.relu(keep["x0"] @ w0["W_enc"][:, A] + w0["b_enc"][A])
            a[0] = 0.0  # BOS is no source
            d_pre_b = to_mlp_in(hf, keep, patterns, 1, a[:, None] * w0["W_dec"][A]) \
                @ w1["W_enc"][:, B]  # A's direct effect on B's pre-activation, per position
            pre_b = keep["x1"] @ w1["W_enc"][:, B] + w1["b_enc"][B]
            g = (pre_b > 0).float()  # ReLU: B's local derivative
            per_unit = to_logit(hf, keep, w1["W_dec"][B].expand(len(ids), -1), tok)
            a_b = torch.relu(pre_b)
            a_b[0] = 0.0
            edge_ab = float(d_pre_b[1:].double().sum())
            edge_bt = float((a_b * per_unit)[1:].double().sum())
            path = float((d_pre_b * g * per_unit)[1:].double().sum())
        opened += int(((g == 0) & (d_pre_b.abs() > 1e-3)).any())
        assert got.edges[0][0, k] == pytest.approx(edge_ab, rel=1e-4, abs=1e-5)
        assert got.edges[1][0, k] == pytest.approx(edge_bt, rel=1e-4, abs=1e-5)
        assert got.path[0, k] == pytest.approx(path, rel=1e-4, abs=1e-5)
        assert got.tokens[k] == len(ids) - 1
        assert got.by_source[k].sum() == pytest.approx(got.path[0, k], rel=1e-6, abs=1e-9)
    assert opened  # the gate mattered somewhere: not the ungated product
    assert abs(got.path[0]).sum() > 10 * abs(got.path[1]).sum()  # a random source is weak


def test_an_edge_of_a_path_equals_drives(tiny, small_sets):
    from neurospec.measure.transcoder import load_transcoder
    from neurospec.measure.transcoder_edges import direct_effects
    from neurospec.measure.transcoder_paths import Step, path_effects

    de = small_sets[0].subset(3)
    tcs = load_transcoder("tiny-bilingual")
    sums, tokens = direct_effects(tiny, tcs.at(0), [A, 5, 9], tcs.at(1), B, de)
    got = path_effects(tiny, [Step(tcs.at(0), A, (5, 9))], Step(tcs.at(1), B), de)
    assert got.edges[0] == pytest.approx(sums, rel=1e-6, abs=1e-7)
    assert (got.path == got.edges[0]).all() and (got.tokens == tokens).all()


def test_paths_refuse_what_they_cannot_measure(tiny, small_sets):
    from neurospec.measure.transcoder import load_transcoder
    from neurospec.measure.transcoder_paths import Step, logit, path_effects, token_id

    tcs = load_transcoder("tiny-bilingual")
    de = small_sets[0].subset(2)
    with pytest.raises(InvalidArgument, match="earliest first"):
        path_effects(tiny, [Step(tcs.at(1), 3)], Step(tcs.at(0), 4), de)
    with pytest.raises(InvalidArgument, match="a logit is one token"):
        token_id(tiny, logit(" Donaudampfschifffahrt"))
    with pytest.raises(InvalidArgument, match="token ids 0.."):
        token_id(tiny, logit(10 ** 9))
    with pytest.raises(InvalidArgument, match="one token as text"):
        logit("")


@pytest.fixture(scope="module")
def three_blocks(tmp_path_factory):
    """A random 3-block GPT-NeoX (sequential residual, norms perturbed) and its HF twin."""
    from neurospec.models import load_model

    folder = tmp_path_factory.mktemp("three") / "m"
    hf = random_three_blocks(folder)
    return load_model(str(folder), device="cpu"), hf


@pytest.mark.parametrize("fmt", ["saelens_jumprelu", "clt"])
def test_three_block_paths_equal_the_weights_by_hand(fmt, three_blocks, tmp_path, small_sets):
    """L0 -> L1 -> L2 feature chain and L0 -> L1 -> logit: JumpReLU gates (per-layer set), and
    a cross-layer set whose B writes into blocks 1 and 2 (both on the path to the logit)."""
    from tc_files import write

    from neurospec.data.tokens import tokenize
    from neurospec.measure.transcoder import load_transcoder
    from neurospec.measure.transcoder_paths import Step, path_effects

    model, hf = three_blocks
    path, kwargs, ws = write(fmt, tmp_path / fmt, 32, 16, 3)
    tcs = load_transcoder(path, **kwargs)
    de = small_sets[0].subset(2)
    a_i, b_i, c_i, tok = 3, 5, 7, 11
    chain = [Step(tcs.at(0), a_i), Step(tcs.at(1), b_i)]
    to_c = path_effects(model, chain, Step(tcs.at(2), c_i), de)
    to_t = path_effects(model, chain, tok, de)
    jump = fmt == "saelens_jumprelu"
    gated = 0
    for k, ids in enumerate(tokenize(model, de).docs):
        keep, patterns = clean_pass(hf, ids)
        wa, wb, wc = ws[0], ws[1], ws[2]
        with torch.no_grad():
            pre_a = keep["x0"] @ wa["W_enc"][:, a_i] + wa["b_enc"][a_i]
            a = pre_a * (pre_a > wa["threshold"][a_i]) if jump else torch.relu(pre_a)
            a[0] = 0.0
            d_pre_b = to_mlp_in(hf, keep, patterns, 1, a[:, None] * wa["W_dec"][a_i, 0]) \
                @ wb["W_enc"][:, b_i]
            pre_b = keep["x1"] @ wb["W_enc"][:, b_i] + wb["b_enc"][b_i]
            g = (pre_b > (wb["threshold"][b_i] if jump else 0)).float()
            carried = (d_pre_b * g)[:, None]  # what reaches B's activation, per position
            # -> C: B's write into block 1, seen at block 2's MLP input
            d_pre_c = to_mlp_in(hf, keep, patterns, 2, carried * wb["W_dec"][b_i, 0]) \
                @ wc["W_enc"][:, c_i]
            # -> logit: B's write into block 1 through block 2's attention (its MLP frozen),
            # plus a cross-layer B's own write into block 2
            def to_t_by_hand(x, wb=wb, keep=keep, patterns=patterns):
                r = x * wb["W_dec"][b_i, 0]
                r = r + attn(hf, keep, patterns, 2, r)
                if fmt == "clt":
                    r = r + x * wb["W_dec"][b_i, 1]
                return to_logit(hf, keep, r, tok)
            path_c = float(d_pre_c[1:].double().sum())
            path_t = float(to_t_by_hand(carried)[1:].double().sum())
            a_b = pre_b * g if jump else torch.relu(pre_b)
            a_b[0] = 0.0
            edge_bt = float(to_t_by_hand(a_b[:, None])[1:].double().sum())
        gated += int((g[1:] == 0).any() and (g[1:] == 1).any())
        assert to_c.edges[0][0, k] == pytest.approx(float(d_pre_b[1:].double().sum()),
                                                    rel=1e-4, abs=1e-5)
        assert to_c.path[0, k] == pytest.approx(path_c, rel=1e-4, abs=1e-5)
        assert to_t.path[0, k] == pytest.approx(path_t, rel=1e-4, abs=1e-5)
        assert to_t.edges[1][0, k] == pytest.approx(edge_bt, rel=1e-4, abs=1e-5)
    assert gated  # B's gate is open at some positions and shut at others


def test_the_path_claim_decides_each_edge_and_the_path(tiny, small_sets):
    """L0T341 -> L1T109 -> logit('\\n'), the bundled graph's path: the record's edges and path
    equal the measurement, each against its own threshold and random sources; the card shows
    each edge's distribution and threshold, the path's, its baseline and its contexts."""
    from neurospec import logit
    from neurospec.claims.expect import expect
    from neurospec.measure.transcoder import load_transcoder
    from neurospec.measure.transcoder_paths import Step, path_effects, token_id
    from neurospec.report.html import render_record

    de = small_sets[0]
    r = expect("L0T341", model=tiny, transcoder="tiny-bilingual").drives(
        logit("\n"), via="L1T109", on=de, by_at_least=0.004, edges_at_least=[0.05, 0.01],
        against_random=4)
    tcs = load_transcoder("tiny-bilingual")
    eff = path_effects(tiny, [Step(tcs.at(0), 341), Step(tcs.at(1), 109)],
                       token_id(tiny, logit("\n")), de)
    n = eff.tokens.sum()
    assert r.kind == "transcoder_path" and r.verdict == "pass"
    assert r.effect == pytest.approx(eff.path[0].sum() / n, rel=1e-6)
    edges = r.details["path_edges"]
    assert [(e["source"], e["target"]) for e in edges] == [("L0T341", "L1T109"),
                                                          ("L1T109", "logit('\\n')")]
    for e, sums, t in zip(edges, eff.edges, (0.05, 0.01)):
        assert e["effect"] == pytest.approx(sums[0].sum() / n, rel=1e-6)
        assert e["threshold"] == t and e["verdict"] == "pass" and e["ci"][0] >= t
        assert e["random_k"] == 4 and e["unit"] in ("pre-activation", "logit")
    assert r.details["random_k"] == 4 and r.details["random_percentile"] == 100.0
    assert r.details["path"] == ["L0T341", "L1T109", "logit('\\n')"]
    assert len(r.charts["edge_histograms"]) == 2
    assert len(r.charts["histogram"]["sets"][de.name]) == len(de)
    card = render_record(r.record)
    for t in ("0.05", "0.01"):
        assert f"edge threshold: the mean per token must reach {t}" in card
    assert "threshold: the mean per token must reach 0.004" in card
    assert "L0T341 &rarr; L1T109" in card and "where the path&#39;s effect comes from" in card
    # the same path with a higher bar for the path alone fails, and says where
    with pytest.raises(Exception, match=r"L0T341 -> L1T109 -> logit\('\\n'\): CI lower bound"):
        expect("L0T341", model=tiny, transcoder="tiny-bilingual").drives(
            logit("\n"), via="L1T109", on=de, by_at_least=1.0, edges_at_least=[0.05, 0.01])


def test_an_edge_to_a_logit_and_misuse(tiny, small_sets):
    from neurospec import logit
    from neurospec.claims.expect import expect

    de = small_sets[0]
    e = expect("L1T109", model=tiny, transcoder="tiny-bilingual")
    r = e.drives(logit("\n"), on=de, by_at_least=0.01)
    assert r.kind == "transcoder_edge" and r.metric == "direct_effect"
    assert "path_edges" not in r.details and r.details["target_token_id"] == \
        tiny.encode(["\n"])[0][0]
    with pytest.raises(InvalidArgument, match="one threshold per edge"):
        expect("L0T341", model=tiny, transcoder="tiny-bilingual").drives(
            logit("\n"), via="L1T109", on=de, by_at_least=0.0)
    with pytest.raises(InvalidArgument, match="edges_at_least is for a path"):
        e.drives(logit("\n"), on=de, by_at_least=0.0, edges_at_least=[0.1])
    with pytest.raises(InvalidArgument, match="earliest first"):
        expect("L1T3", model=tiny, transcoder="tiny-bilingual").drives(
            logit("\n"), via="L0T5", on=de, by_at_least=0.0, edges_at_least=0.0)
    from neurospec.claims.context import using

    with using(min_docs=50):  # 40 documents: too few for a CI, never a pass
        with pytest.raises(Exception, match="underpowered"):
            expect("L0T341", model=tiny, transcoder="tiny-bilingual").drives(
                logit("\n"), via="L1T109", on=de, by_at_least=0.0, edges_at_least=0.0)


def _planted_b(folder: Path, hf, u: torch.Tensor, cut: float, token: int, topk: bool) -> Path:
    """A block-1 transcoder whose feature 0 reads ``u`` (where L0T341 writes) and writes the
    token's unembedding: as a ReLU feature, or under TopK (k=1) beside feature 1, which reads
    ``u`` twice as strongly and so wins wherever L0T341 wrote much: there feature 0 is shut."""
    import json

    from safetensors.torch import save_file

    folder.mkdir(parents=True)
    n = 2 if topk else 1
    w_enc = torch.stack([u, 2 * u][:n], 1).contiguous()
    w_dec = torch.zeros(n, u.shape[0])
    w_dec[0] = hf.lm_head.weight[token].detach()
    save_file({"W_enc": w_enc, "b_enc": torch.tensor([cut, 0.0][:n]), "W_dec": w_dec,
               "b_dec": torch.zeros(u.shape[0])}, str(folder / "sae_weights.safetensors"))
    (folder / "cfg.json").write_text(json.dumps(
        {"hook_name": "blocks.1.mlp.hook_in", "activation": "topk" if topk else "relu", "k": 1}))
    return folder / "sae_weights.safetensors"


def test_edges_that_hold_make_no_path_where_the_middle_feature_is_shut(tiny, small_sets, hf,
                                                                       tmp_path):
    """Both edges hold, and the path does not: L0T341 drives feature 0's pre-activation, and
    feature 0 drives the logit, but only where L0T341 did not write (under TopK a rival that
    reads the same direction wins there).  The same feature as a plain ReLU, open where it is
    driven, carries the path: the gate, not the edges, decides."""
    from neurospec import logit
    from neurospec.claims.expect import expect
    from neurospec.data.tokens import tokenize
    from neurospec.errors import ClaimFailed

    de = small_sets[0]
    w0 = load_file(TCS / "L0/sae_weights.safetensors")
    ln = hf.gpt_neox.layers[1].post_attention_layernorm
    d = w0["W_dec"][A]
    u = ((d - d.mean()) * ln.weight).detach()
    u = u / u.norm()
    xs = []
    for ids in tokenize(tiny, de).docs[:10]:
        keep, _ = clean_pass(hf, ids)
        xs.append(keep["x1"][1:] @ u)
    cut = float(torch.cat(xs).quantile(0.5))
    tok = 199  # '\n'
    claims = {}
    for topk in (False, True):
        path = _planted_b(tmp_path / ("topk" if topk else "relu"), hf, u, cut, tok, topk)
        claim = expect(f"L0T{A}", model=tiny, transcoder="tiny-bilingual/L0")
        try:
            r = claim.drives(logit(tok), via="L1T0", transcoder=str(path), on=de,
                             by_at_least=0.1, edges_at_least=[0.05, 0.05])
        except ClaimFailed as exc:
            r = exc.record
        claims[topk] = r
    relu, topk = claims[False], claims[True]
    for r in (relu, topk):
        assert [e["verdict"] for e in r.details["path_edges"]] == ["pass", "pass"], r.missed
    assert relu.verdict == "pass" and topk.verdict == "fail" and topk.ci[0] < 0.1
    assert topk.missed.startswith(f"L0T{A} -> L1T0 -> logit(199): CI lower bound")
    assert abs(topk.effect) < 0.2 * relu.effect  # the edges' product is not the path
