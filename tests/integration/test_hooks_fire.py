"""Every hook or intervention a measurement installs must fire on its run, on both backends:
TransformerLens 4 accepts hook names it never calls (``hook_pos_embed`` and the rotary
``attn.hook_rot_q`` of a rotary model, ``attn.qkv.hook_out`` of a split-projection one), so a
hook there would silently leave the model un-intervened (it invalidated path patching)."""

from __future__ import annotations

import pytest
import torch

from neurospec.errors import HookNeverFired, InvalidArgument

IDS = torch.tensor([[0, 5, 6, 7, 8, 9]])


@pytest.fixture(scope="module")
def bridge():
    from neurospec import load_model

    return load_model("tiny-bilingual")


@pytest.mark.parametrize("name", ["hook_pos_embed", "blocks.0.attn.hook_rot_q",
                                  "blocks.1.attn.qkv.hook_out"])
def test_a_hook_the_bridge_accepts_but_never_calls_errors_naming_it(bridge, name):
    calls = []
    with pytest.raises(HookNeverFired, match=name.replace(".", r"\.")) as err:
        bridge.run(IDS, [(name, lambda x, hook=None: calls.append(1))])
    assert name in err.value.value and not calls
    assert not bridge.leftover_hooks()  # removed all the same


def test_hooks_that_fire_pass_and_a_stopped_pass_is_not_a_silent_hook(bridge):
    seen = []
    bridge.run(IDS, [("blocks.0.mlp.hook_post", lambda x, hook=None: seen.append(x.shape))])
    assert seen == [torch.Size([1, 6, 256])]


def test_an_intervention_at_a_hook_that_never_fires_fails_the_claim(bridge):
    """A claim's own pass: the first ablation of a corpus through a never-firing hook point
    errors instead of measuring the clean model as if it were ablated."""
    from neurospec.data.corpus import load_corpus
    from neurospec.data.tokens import tokenize
    from neurospec.measure.forward import run_corpus, same_hooks
    from neurospec.models.passes import SetColumn

    tc = tokenize(bridge, load_corpus("german").subset(3))
    with pytest.raises(HookNeverFired, match="hook_pos_embed"):
        run_corpus(bridge, tc, hooks=same_hooks(SetColumn("hook_pos_embed", 0, 0.0, 1)))


def test_nnsight_refuses_a_point_it_has_no_map_for_before_running():
    pytest.importorskip("nnsight")
    from neurospec import load_model

    nn = load_model("tiny-bilingual", backend="nnsight")
    with pytest.raises(InvalidArgument, match="no hook point 'blocks.0.attn.hook_rot_q'"):
        nn.run(IDS, [("blocks.0.attn.hook_rot_q", lambda x, hook=None: None)])


def test_nnsight_errors_naming_a_mapped_point_the_pass_never_reaches(monkeypatch):
    """A point whose module the forward pass never runs (here a module added to the model and
    never called, standing for a layout nnsight's map got wrong) errors by name, for Python
    hooks and for passes stated as data alike."""
    pytest.importorskip("nnsight")
    from neurospec import load_model
    from neurospec.models.hf_layout import Point
    from neurospec.models.passes import Job, Pass, Read

    nn = load_model("tiny-bilingual", backend="nnsight")
    nn.hf.gpt_neox.unused = torch.nn.Linear(4, 4)
    real = nn.points.point

    def point(name):
        if name == "blocks.0.mlp.hook_post":
            return Point(name, "gpt_neox.unused", "input", order=5)
        return real(name)

    from nnsight import TransformersModel

    nn.nn = TransformersModel(nn.hf, tokenizer=nn.tokenizer)  # sees the added module
    monkeypatch.setattr(nn.points, "point", point)
    with pytest.raises(HookNeverFired, match=r"blocks\.0\.mlp\.hook_post"):
        nn.run(IDS, [("blocks.0.mlp.hook_post", lambda x, hook=None: None)])
    job = [Job(IDS, torch.tensor([6]), 1, (Pass(reads=(Read("blocks.0.mlp.hook_post"),)),))]
    with pytest.raises(HookNeverFired, match=r"blocks\.0\.mlp\.hook_post"):
        nn.run_passes(job)
