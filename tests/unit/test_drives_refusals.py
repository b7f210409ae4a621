"""drives() is exact or refuses: a direct effect between transcoder features is linear only
with every norm scale frozen, and post-norms (Gemma 2/3, OLMo 2) are scales it does not
freeze."""

from types import SimpleNamespace

import pytest

from neurospec.errors import UnsupportedArchitecture
from neurospec.measure.transcoder_edges import refuse_unfreezable


def _model(backend="transformer_lens", post_attn=False, post_mlp=False):
    arch = SimpleNamespace(model_type="gemma2", post_attn_norm=post_attn, post_mlp_norm=post_mlp)
    return SimpleNamespace(name="m", backend=backend, architecture=arch)


@pytest.mark.parametrize("post_attn, post_mlp", [(True, False), (False, True), (True, True)])
def test_a_post_norm_model_is_refused_by_name(post_attn, post_mlp):
    with pytest.raises(UnsupportedArchitecture, match="post-norms"):
        refuse_unfreezable(_model(post_attn=post_attn, post_mlp=post_mlp))


def test_the_nnsight_backend_is_refused_by_name():
    with pytest.raises(UnsupportedArchitecture, match="nnsight backend"):
        refuse_unfreezable(_model(backend="nnsight"))


def test_a_pre_norm_model_on_the_default_backend_is_accepted():
    assert refuse_unfreezable(_model()) is None
