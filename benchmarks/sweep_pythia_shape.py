"""Benchmark: exact single-neuron ablation sweep of a middle MLP layer of a pythia-70m-shaped
model with random weights (6 layers, d_model 512, d_mlp 2048, vocab 50304, parallel
residual; 100 prompts x 24 tokens), neurospec's batched recompute of the later blocks
against the notebook way (one forward pass per neuron), same neurons, same run.  Meant for a
GPU (``--device cuda``); on a CPU use ``--neurons`` to time a subset.

    python benchmarks/sweep_pythia_shape.py [--quick] [--device cuda] [--layer 3]
        [--neurons K] [--dtype float32]

Also reports the achieved matmul throughput of the batched sweep as a fraction of the
device's measured matmul peak (a large square matmul timed in the same run).  Last line:
``name=sweep_pythia_shape speedup=<x> max_abs_diff=<d>``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]


def build(folder: Path, seed: int = 0) -> None:
    """A GPT-NeoX with pythia-70m's shape and random weights, saved as an HF checkpoint with
    the bundled tokenizer (its 4096 ids fit the 50304-row embedding)."""
    import shutil

    from transformers import GPTNeoXConfig, GPTNeoXForCausalLM
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()

    torch.manual_seed(seed)
    cfg = GPTNeoXConfig(vocab_size=50304, hidden_size=512, num_hidden_layers=6,
                        num_attention_heads=8, intermediate_size=2048, rotary_pct=0.25,
                        max_position_embeddings=2048, use_parallel_residual=True,
                        bos_token_id=0, eos_token_id=0, tie_word_embeddings=False)
    GPTNeoXForCausalLM(cfg).save_pretrained(folder, safe_serialization=True)
    tiny = ROOT / "fixtures" / "models" / "tiny-bilingual"
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(tiny / name, folder / name)


def peak_flops(device: str, dtype: torch.dtype) -> float:
    n = 4096 if device.startswith("cuda") else 1024
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    for _ in range(3):
        a @ b
    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
    sync()
    t = time.perf_counter()
    reps = 20 if device.startswith("cuda") else 3
    for _ in range(reps):
        a @ b
    sync()
    return 2 * n ** 3 * reps / (time.perf_counter() - t)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="20 prompts and 16 neurons")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--dtype", default="float32", choices=("float32", "bfloat16"))
    p.add_argument("--layer", type=int, default=3)
    p.add_argument("--neurons", type=int, default=None, help="time this many neurons")
    p.add_argument("--prompts", type=int, default=None)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.backends.cuda.matmul.allow_tf32 = False  # exact float32, as the loop
    from neurospec import Corpus, corpus, load_model
    from neurospec.data.tokens import tokenize
    from neurospec.measure.forward import clean_run
    from neurospec.measure.sweep import _downstream, _loop

    n_prompts = args.prompts or (20 if args.quick else 100)
    with tempfile.TemporaryDirectory() as tmp:
        build(Path(tmp))
        model = load_model(tmp, device=args.device, dtype=args.dtype)
    sync = torch.cuda.synchronize if args.device.startswith("cuda") else (lambda: None)
    src = corpus("german").subset(n_prompts)
    prompts = Corpus.from_texts([model.tokenizer.decode(ids[:23])
                                 for ids in model.encode(src.texts)], name="prompts")
    tc = tokenize(model, prompts)
    n_neurons = args.neurons or (16 if args.quick else model.d_mlp)
    rng = np.random.default_rng(0)
    neurons = sorted(rng.choice(model.d_mlp, size=n_neurons, replace=False).tolist())
    values = np.zeros(model.d_mlp)  # zero ablation
    clean_run(model, tc)
    _downstream(model, prompts, args.layer, values, neurons[:2])  # warm-up
    sync()
    t = time.perf_counter()
    fast = _downstream(model, prompts, args.layer, values, neurons)
    sync()
    t_fast = time.perf_counter() - t
    t = time.perf_counter()
    slow = _loop(model, prompts, args.layer, values, neurons)
    sync()
    t_loop = time.perf_counter() - t
    diff = float(np.abs(fast - slow).max())
    tokens = tc.n_tokens + len(tc.docs) * tc.first
    later = model.n_layers - args.layer - 1
    d, f, v = model.d_model, model.d_mlp, model.d_vocab
    per_token = 2 * (later * (4 * d * d + 2 * d * f) + d * v)  # attn + MLP weights, unembed
    flops = per_token * tokens * n_neurons
    peak = peak_flops(args.device, {"float32": torch.float32,
                                    "bfloat16": torch.bfloat16}[args.dtype])
    print(f"pythia-70m shape (random weights), layer {args.layer} of {model.n_layers}, "
          f"{n_neurons} of {model.d_mlp} neurons, {len(tc.docs)} prompts / {tokens} tokens, "
          f"{args.device} {args.dtype}, torch threads {args.threads}")
    print(f"{'method':<28}{'seconds':>10}{'per neuron ms':>15}")
    print(f"{'loop (one pass per neuron)':<28}{t_loop:>10.2f}{1e3 * t_loop / n_neurons:>15.1f}")
    print(f"{'downstream (batched)':<28}{t_fast:>10.2f}{1e3 * t_fast / n_neurons:>15.1f}")
    print(f"batched sweep: {flops / t_fast / 1e9:.1f} GFLOP/s of weight matmuls, "
          f"{flops / t_fast / peak:.0%} of the measured matmul peak ({peak / 1e9:.0f} GFLOP/s)")
    print(f"name=sweep_pythia_shape speedup={t_loop / t_fast:.2f} max_abs_diff={diff:.2e}")


if __name__ == "__main__":
    main()
