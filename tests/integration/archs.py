"""Tiny random checkpoints of the architectures researchers use, and naive references computed
with plain Hugging Face forward hooks (no TransformerLens, no neurospec), one pass per thing."""

from __future__ import annotations

import shutil
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[2]
D, D_MLP, LAYERS, HEADS, V = 32, 24, 2, 4, 4096

ARCHITECTURES = ["gpt2", "neox_parallel", "neox_sequential", "llama", "mistral", "qwen2",
                 "gemma2", "gemma3", "olmo2", "phi3"]


def build(kind: str, folder: Path) -> None:
    """Save a tiny random ``kind`` checkpoint (with the bundled tokenizer) into ``folder``."""
    import transformers as T

    torch.manual_seed(0)
    common = dict(vocab_size=V, hidden_size=D, intermediate_size=D_MLP, num_hidden_layers=LAYERS,
                  num_attention_heads=HEADS, max_position_embeddings=128, bos_token_id=0,
                  eos_token_id=0, pad_token_id=0)
    gqa = dict(common, num_key_value_heads=2)
    if kind == "gpt2":
        model = T.GPT2LMHeadModel(T.GPT2Config(
            vocab_size=V, n_positions=128, n_embd=D, n_layer=LAYERS, n_head=HEADS, n_inner=D_MLP,
            bos_token_id=0, eos_token_id=0))
    elif kind.startswith("neox"):
        model = T.GPTNeoXForCausalLM(T.GPTNeoXConfig(
            **common, use_parallel_residual=kind == "neox_parallel", rotary_pct=0.25))
    elif kind == "llama":
        model = T.LlamaForCausalLM(T.LlamaConfig(**gqa))
    elif kind == "mistral":
        model = T.MistralForCausalLM(T.MistralConfig(**gqa))
    elif kind == "qwen2":
        model = T.Qwen2ForCausalLM(T.Qwen2Config(**gqa))
    elif kind == "gemma2":
        model = T.Gemma2ForCausalLM(T.Gemma2Config(**gqa, head_dim=8))
    elif kind == "gemma3":
        model = T.Gemma3ForCausalLM(T.Gemma3TextConfig(**gqa, head_dim=8))
    elif kind == "olmo2":
        model = T.Olmo2ForCausalLM(T.Olmo2Config(**gqa))
    elif kind == "phi3":
        model = T.Phi3ForCausalLM(T.Phi3Config(**gqa))
    else:
        raise ValueError(kind)
    with torch.no_grad():  # random norm weights, so that a wrong norm formula shows
        for name, p in model.named_parameters():
            if "norm" in name or ".ln" in name:
                p.add_(torch.randn_like(p) * 0.3)
    model.save_pretrained(folder, safe_serialization=True)
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(ROOT / "fixtures/models/tiny-bilingual" / name, folder / name)


class Naive:
    """References on the HF model itself: module paths per family, plain forward hooks."""

    def __init__(self, hf) -> None:
        self.hf = hf.eval()
        self.kind = hf.config.model_type
        if self.kind == "gpt2":
            self.layers, self.final = hf.transformer.h, hf.transformer.ln_f
        elif self.kind == "gpt_neox":
            self.layers, self.final = hf.gpt_neox.layers, hf.gpt_neox.final_layer_norm
        else:
            self.layers, self.final = hf.model.layers, hf.model.norm

    def down(self, layer: int):
        name = {"gpt2": "c_proj", "gpt_neox": "dense_4h_to_h"}.get(self.kind, "down_proj")
        return getattr(self.layers[layer].mlp, name)

    def o_proj(self, layer: int):
        block = self.layers[layer]
        if self.kind == "gpt2":
            return block.attn.c_proj
        if self.kind == "gpt_neox":
            return block.attention.dense
        return block.self_attn.o_proj

    def input_rows(self, layer: int, grad: bool = False) -> list[torch.Tensor]:
        """Neuron n's input weights (or their gradients) as row n of each ``[d_mlp, d]``: a
        gated MLP has a gate row and an up row (Phi-3 fuses them, gate rows first)."""
        mlp = self.layers[layer].mlp
        get = (lambda p: p.grad) if grad else (lambda p: p.detach())
        if self.kind == "gpt2":  # Conv1D stores [in, out]
            return [get(mlp.c_fc.weight).T]
        if self.kind == "gpt_neox":
            return [get(mlp.dense_h_to_4h.weight)]
        if self.kind == "phi3":
            return list(get(mlp.gate_up_proj.weight).chunk(2, dim=0))
        return [get(mlp.gate_proj.weight), get(mlp.up_proj.weight)]

    def output_columns(self, layer: int, grad: bool = False) -> torch.Tensor:
        """Neuron n's output weights (or gradients) as row n of ``[d_mlp, d_model]``."""
        w = self.down(layer).weight
        w = w.grad if grad else w.detach()
        return w if self.kind == "gpt2" else w.T

    def w_o(self, layer: int) -> torch.Tensor:
        w = self.o_proj(layer).weight
        return w if self.kind == "gpt2" else w.T  # [heads * d_head, d_model]

    def run(self, ids: torch.Tensor, pre_hooks=()) -> torch.Tensor:
        """Logits ``[pos, V]`` of one document with forward pre-hooks ``(module, fn(x))``."""
        handles = [m.register_forward_pre_hook(lambda mod, args, fn=fn: (fn(args[0]),) + args[1:])
                   for m, fn in pre_hooks]
        try:
            return self.hf(ids[None]).logits[0]
        finally:
            for h in handles:
                h.remove()

    def grab(self, ids: torch.Tensor, module) -> torch.Tensor:
        store = {}

        def keep(x):
            store["x"] = x.detach().clone()
            return x
        with torch.no_grad():
            self.run(ids, [(module, keep)])
        return store["x"][0]

    def final_norm(self, x: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
        """The final norm of ``x`` with a given per-position ``scale``: the known formulas."""
        f = self.final
        if isinstance(f, torch.nn.LayerNorm):
            return (x - x.mean(-1, keepdim=True)) / scale * f.weight + f.bias
        w = (1 + f.weight) if self.kind.startswith("gemma") else f.weight
        return x / scale * w

    def final_scale(self, x: torch.Tensor) -> torch.Tensor:
        f = self.final
        if isinstance(f, torch.nn.LayerNorm):
            return torch.sqrt(x.var(-1, unbiased=False, keepdim=True) + f.eps)
        eps = getattr(f, "variance_epsilon", getattr(f, "eps", None))
        return torch.sqrt(x.pow(2).mean(-1, keepdim=True) + eps)

    def logits_from_final(self, x: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
        head = self.hf.get_output_embeddings()
        out = head(self.final_norm(x, scale))
        cap = getattr(self.hf.config, "final_logit_softcapping", None)
        return torch.tanh(out / cap) * cap if cap else out


def doc_loss(logits: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
    """Per position next-token loss ``[pos - 1]``."""
    return torch.nn.functional.cross_entropy(logits[:-1].double(), ids[1:], reduction="none")
