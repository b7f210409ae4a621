"""TransformerLens hook names located in a Hugging Face model: which module's input or output
each one is, and in what order the forward pass reaches them.

Backends that drive the Hugging Face model itself (nnsight) speak the same hook-name vocabulary
as the bridge (:mod:`neurospec.models.protocol`); this module is the dictionary.  Every point
is the input or output of one module, never a decoder layer's output (a tuple in some
transformers versions), and every mapping is checked against the bridge by the parity tests
(``tests/integration/test_nnsight_parity.py``).  A hook name with no mapping here is refused
by name, with the list of the names that have one.

No torch at import, and no nnsight: this is layout, read from module names.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

from neurospec.errors import InvalidArgument, UnsupportedArchitecture


@dataclass(frozen=True)
class Layout:
    """Module paths of one model family (relative to a decoder layer, except the globals)."""

    layers: str
    embed: str
    ln_final: str
    unembed: str
    attn: str
    o: str
    mlp: str
    down: str
    fc_in: str | None = None  # non-gated MLP: its input projection (hook_pre is its output)
    gate: str | None = None  # gated MLP: the gate projection (hook_pre)
    up: str | None = None  # gated MLP: the up projection (hook_pre_linear)
    gate_up: str | None = None  # a fused [gate; up] projection (Phi-3)
    post_attn: str | None = None  # a norm applied to the attention output (Gemma 2/3, OLMo 2)
    post_mlp: str | None = None  # a norm applied to the MLP output

    @property
    def gated(self) -> bool:
        return self.fc_in is None


_LLAMA = Layout(layers="model.layers", embed="model.embed_tokens", ln_final="model.norm",
                unembed="lm_head", attn="self_attn", o="self_attn.o_proj", mlp="mlp",
                down="mlp.down_proj", gate="mlp.gate_proj", up="mlp.up_proj")
_POST_NORMS = dict(post_attn="post_attention_layernorm", post_mlp="post_feedforward_layernorm")

LAYOUTS: dict[str, Layout] = {
    "gpt2": Layout(layers="transformer.h", embed="transformer.wte", ln_final="transformer.ln_f",
                   unembed="lm_head", attn="attn", o="attn.c_proj", mlp="mlp",
                   down="mlp.c_proj", fc_in="mlp.c_fc"),
    "gpt_neox": Layout(layers="gpt_neox.layers", embed="gpt_neox.embed_in",
                       ln_final="gpt_neox.final_layer_norm", unembed="embed_out",
                       attn="attention", o="attention.dense", mlp="mlp",
                       down="mlp.dense_4h_to_h", fc_in="mlp.dense_h_to_4h"),
    "llama": _LLAMA,
    "mistral": _LLAMA,
    "qwen2": _LLAMA,
    "gemma2": Layout(**{**_LLAMA.__dict__, **_POST_NORMS}),
    "gemma3_text": Layout(**{**_LLAMA.__dict__, **_POST_NORMS}),
    "olmo2": Layout(**{**_LLAMA.__dict__, **_POST_NORMS}),
    "phi3": Layout(**{**_LLAMA.__dict__, "gate": None, "up": None,
                      "gate_up": "mlp.gate_up_proj"}),
}

# Hook names inside block L, in the order the forward pass reaches them.
_BLOCK_ORDER = ("hook_resid_pre", "attn.hook_z", "attn.hook_pattern", "hook_attn_out",
                "mlp.hook_in", "mlp.hook_pre", "mlp.hook_pre_linear",
                "mlp.hook_post", "mlp.hook_out", "hook_mlp_out")
# Forward order of the module accesses inside a block (o_proj's output comes before the
# attention module returns; a post-attention norm after it).
_SITE_ORDER = {"hook_resid_pre": 0, "attn.hook_z": 1, "attn.hook_pattern": 3, "hook_attn_out": 4,
               "mlp.hook_in": 5, "mlp.hook_pre": 6, "mlp.hook_pre_linear": 7,
               "mlp.hook_post": 8, "mlp.hook_out": 9, "hook_mlp_out": 10}
_STEP = 16


@dataclass(frozen=True)
class Point:
    """Where a hook name is in the Hugging Face model.

    Attributes:
        name: the TransformerLens hook name.
        module: dotted path of the module (``''`` for the model itself).
        io: ``input`` (its first positional argument) or ``output``.
        view: ``full``; ``heads`` (reshaped to ``[b, pos, heads, d_head]``); ``pattern`` (the
            attention weights, ``output[1]`` under eager attention); ``scale`` (the final
            norm's scale, computed from its input); ``slice`` (coordinates ``lo:hi``).
        order: forward order (points with a smaller order are reached first).
        writable: whether an edit there changes the forward pass.
    """

    name: str
    module: str
    io: str
    view: str = "full"
    order: int = 0
    writable: bool = True
    lo: int = 0
    hi: int = 0

    @property
    def site(self) -> tuple[str, str]:
        """The module access this point reads (points sharing one are read once)."""
        return (self.module, self.io)


def layout_of(hf: Any) -> Layout:
    """The :class:`Layout` of a Hugging Face causal LM, or a refusal naming its family."""
    kind = str(getattr(hf.config, "model_type", type(hf).__name__))
    layout = LAYOUTS.get(kind)
    if layout is None:
        raise UnsupportedArchitecture(
            f"the nnsight backend has no hook-point map for {kind} models ({type(hf).__name__}); "
            f"mapped families: {', '.join(sorted(LAYOUTS))}. Use the default backend "
            f"(TransformerLens) for this model", value=kind)
    return layout


class PointMap:
    """The hook points of one Hugging Face model."""

    def __init__(self, hf: Any) -> None:
        self.hf = hf
        self.layout = layout_of(hf)
        cfg = hf.config
        self.kind = str(cfg.model_type)
        self.n_layers = int(cfg.num_hidden_layers)
        self.n_heads = int(cfg.num_attention_heads)
        down = hf.get_submodule(f"{self.layout.layers}.0.{self.layout.down}")
        w = down.weight
        self.d_mlp = int(w.shape[0] if type(down).__name__ == "Conv1D" else w.shape[1])
        # the embedding and unembedding wherever this transformers version keeps them
        # (GPT-NeoX's unembedding was embed_out, now lm_head)
        names = {id(m): n for n, m in hf.named_modules()}
        self.embed = names.get(id(hf.get_input_embeddings()), self.layout.embed)
        self.unembed = names.get(id(hf.get_output_embeddings()), self.layout.unembed)

    def names(self) -> list[str]:
        """Every hook name this map resolves (for messages and parity tests)."""
        out = ["hook_embed", "ln_final.hook_scale"]
        for layer in range(self.n_layers):
            out += [f"blocks.{layer}.{rest}" for rest in _BLOCK_ORDER
                    if rest != "mlp.hook_pre_linear" or self.layout.gated]
            out.append(f"blocks.{layer}.hook_resid_post")
        return out

    def point(self, name: str) -> Point:
        """The :class:`Point` of hook ``name``; an error naming the closest mapped names."""
        lay = self.layout
        if name == "hook_embed":
            return Point(name, self.embed, "output", order=-1)
        if name == "ln_final.hook_scale":
            return Point(name, lay.ln_final, "input", "scale", self.n_layers * _STEP,
                         writable=False)
        parts = name.split(".", 2)
        if len(parts) == 3 and parts[0] == "blocks" and parts[1].isdigit() \
                and parts[2] == "hook_resid_post" and int(parts[1]) < self.n_layers:
            return self.resid_post(int(parts[1]))
        if len(parts) < 3 or parts[0] != "blocks" or not parts[1].isdigit() \
                or int(parts[1]) >= self.n_layers or parts[2] not in _BLOCK_ORDER:
            raise self._unknown(name)
        layer, rest = int(parts[1]), parts[2]
        base = f"{lay.layers}.{layer}"
        order = layer * _STEP + _SITE_ORDER[rest]
        if rest == "hook_resid_pre":
            return Point(name, base, "input", order=order)
        if rest == "attn.hook_z":
            return Point(name, f"{base}.{lay.o}", "input", "heads", order)
        if rest == "attn.hook_pattern":
            return Point(name, f"{base}.{lay.attn}", "output", "pattern", order, writable=False)
        if rest == "hook_attn_out":
            if lay.post_attn is not None:
                return Point(name, f"{base}.{lay.post_attn}", "output", order=order)
            # the output projection runs inside the attention module, before it returns
            return Point(name, f"{base}.{lay.o}", "output", order=order - 2)
        if rest == "mlp.hook_in":
            return Point(name, f"{base}.{lay.mlp}", "input", order=order)
        if rest == "mlp.hook_pre":
            if lay.gate_up is not None:
                return Point(name, f"{base}.{lay.gate_up}", "output", "slice", order,
                             lo=0, hi=self.d_mlp)
            return Point(name, f"{base}.{lay.gate or lay.fc_in}", "output", order=order)
        if rest == "mlp.hook_pre_linear":
            if lay.gate_up is not None:
                return Point(name, f"{base}.{lay.gate_up}", "output", "slice", order,
                             lo=self.d_mlp, hi=2 * self.d_mlp)
            if lay.up is None:
                raise self._unknown(name)
            return Point(name, f"{base}.{lay.up}", "output", order=order)
        if rest == "mlp.hook_post":
            return Point(name, f"{base}.{lay.down}", "input", order=order)
        if rest == "mlp.hook_out":
            return Point(name, f"{base}.{lay.down}", "output", order=order)
        # hook_mlp_out
        if lay.post_mlp is not None:
            return Point(name, f"{base}.{lay.post_mlp}", "output", order=order)
        return Point(name, f"{base}.{lay.down}", "output", order=order - 1)

    def resid_post(self, layer: int) -> Point:
        """``blocks.L.hook_resid_post``: the next block's input (or the final norm's)."""
        name = f"blocks.{layer}.hook_resid_post"
        if layer + 1 < self.n_layers:
            return Point(name, f"{self.layout.layers}.{layer + 1}", "input",
                         order=(layer + 1) * _STEP)
        return Point(name, self.layout.ln_final, "input", order=self.n_layers * _STEP)

    def _unknown(self, name: str) -> InvalidArgument:
        close = difflib.get_close_matches(name, self.names(), n=3, cutoff=0.6)
        hint = (f"did you mean {' or '.join(repr(c) for c in close)}? " if close else "")
        return InvalidArgument(
            f"the nnsight backend has no hook point {name!r} on this {self.kind} model; {hint}"
            f"mapped points per block: {', '.join(_BLOCK_ORDER)}, "
            f"hook_resid_post, plus hook_embed and ln_final.hook_scale (use the default "
            f"TransformerLens backend for other hook points)", value=name)
