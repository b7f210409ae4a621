"""The hand computations the transcoder edge, path and graph tests check neurospec against:
plain torch on Hugging Face hooks of a GPT-NeoX model (attention patterns and norm scales of
the clean pass frozen, as attribution graphs define edges)."""

from pathlib import Path

import torch

TINY = Path(__file__).resolve().parents[1] / "fixtures/models/tiny-bilingual"


def random_three_blocks(folder: Path, d: int = 32):
    """A random 3-block GPT-NeoX (sequential residual, norms perturbed, seed 0) saved to
    ``folder`` with tiny-bilingual's tokenizer; its HF twin (eager attention) loaded back."""
    import transformers as T

    torch.manual_seed(0)
    hf = T.GPTNeoXForCausalLM(T.GPTNeoXConfig(
        vocab_size=4096, hidden_size=d, intermediate_size=24, num_hidden_layers=3,
        num_attention_heads=4, max_position_embeddings=128, bos_token_id=0, eos_token_id=0,
        pad_token_id=0, use_parallel_residual=False, rotary_pct=0.25))
    with torch.no_grad():
        for name, p in hf.named_parameters():
            if "norm" in name:
                p.add_(torch.randn_like(p) * 0.3)
    hf.save_pretrained(folder)
    for name in ("tokenizer.json", "tokenizer_config.json"):
        (folder / name).write_bytes((TINY / name).read_bytes())
    return T.GPTNeoXForCausalLM.from_pretrained(folder, attn_implementation="eager").eval()


def ln_linear(x, ln, ref):
    """A LayerNorm's linear part with the clean scale of its input ``ref``."""
    sigma = torch.sqrt(ref.var(-1, unbiased=False, keepdim=True) + ln.eps)
    return (x - x.mean(-1, keepdim=True)) / sigma * ln.weight


def clean_pass(hf, ids):
    """Every block's input, middle and MLP input, the final norm's input, the patterns."""
    keep: dict[str, torch.Tensor] = {}
    hooks = [hf.gpt_neox.final_layer_norm.register_forward_pre_hook(
        lambda m, a: keep.update(f=a[0][0]))]
    for i, layer in enumerate(hf.gpt_neox.layers):
        hooks += [layer.input_layernorm.register_forward_pre_hook(
                      lambda m, a, i=i: keep.update({f"r{i}": a[0][0]})),
                  layer.post_attention_layernorm.register_forward_pre_hook(
                      lambda m, a, i=i: keep.update({f"m{i}": a[0][0]})),
                  layer.mlp.register_forward_pre_hook(
                      lambda m, a, i=i: keep.update({f"x{i}": a[0][0]}))]
    try:
        with torch.no_grad():
            out = hf(ids[None], output_attentions=True)
    finally:
        for h in hooks:
            h.remove()
    return keep, [a[0] for a in out.attentions]


def attn(hf, keep, patterns, i, x):
    """Block ``i``'s attention output for a residual change ``x`` (patterns, scale frozen)."""
    block, pattern = hf.gpt_neox.layers[i], patterns[i]
    u = ln_linear(x, block.input_layernorm, keep[f"r{i}"])
    hs, w = x.shape[1] // pattern.shape[0], block.attention.query_key_value.weight
    heads = [pattern[h] @ (u @ w[h * 3 * hs + 2 * hs:(h + 1) * 3 * hs].T)
             for h in range(pattern.shape[0])]
    return torch.cat(heads, -1) @ block.attention.dense.weight.T


def to_mlp_in(hf, keep, patterns, i, r):
    """A residual change ``r`` after block ``i - 1``, seen at block ``i``'s MLP input."""
    block = hf.gpt_neox.layers[i]
    return ln_linear(r + attn(hf, keep, patterns, i, r), block.post_attention_layernorm,
                     keep[f"m{i}"])


def to_logit(hf, keep, r, token):
    return ln_linear(r, hf.gpt_neox.final_layer_norm, keep["f"]) @ hf.lm_head.weight[token]
