"""Benchmark: exact single-neuron ablation sweep of a middle MLP layer of a pythia-70m-shaped
model with random weights (6 layers, d_model 512, d_mlp 2048, vocab 50304, parallel
residual; 100 prompts x 24 tokens), neurospec's batched recompute of the later blocks
against the notebook way (one forward pass per neuron), same neurons, same run.  Meant for a
GPU (``--device cuda``); on a CPU use ``--neurons`` to time a subset.  ``--method
closed_form`` times the last layer's closed form instead (layer 5 of 6).

    python benchmarks/sweep_pythia_shape.py [--quick] [--device cuda] [--layer 3]
        [--neurons K] [--dtype float32] [--method downstream|closed_form]
        [--save-rows F.npy] [--reference F.npy] [--json RESULTS.jsonl]

``--save-rows`` keeps the batched rows; ``--reference`` reports the max abs diff of this
run's rows (e.g. bfloat16) from saved ones (e.g. float32, same neurons and prompts).
``--json`` appends the figures as one JSON line.

Also reports the achieved matmul throughput of the batched sweep as a fraction of the
device's measured matmul peak (a large square matmul timed in the same run).  Last line:
``name=sweep_pythia_shape speedup=<x> max_abs_diff=<d>``.
"""

from __future__ import annotations

import argparse
import json
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
    n = 8192 if device.startswith("cuda") else 1024
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
    p.add_argument("--loop-neurons", type=int, default=None, metavar="K",
                   help="time the loop on K of the neurons only (evenly spaced; the speedup "
                        "is then per neuron); default: all of them")
    p.add_argument("--method", default="downstream", choices=("downstream", "closed_form"))
    p.add_argument("--save-rows", type=Path, default=None)
    p.add_argument("--reference", type=Path, default=None)
    p.add_argument("--json", type=Path, default=None)
    p.add_argument("--logit-elements", type=int, default=0, metavar="N",
                   help="fix the downstream replay's logit budget at N elements (default: the "
                        "device's: a quarter of free GPU memory; 2^27 stacks one neuron per "
                        "replay here) to measure what stacking buys")
    p.add_argument("--profile", type=int, default=0, metavar="K",
                   help="after timing, profile the batched sweep of K neurons (torch.profiler: "
                        "the operators taking most device time)")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.backends.cuda.matmul.allow_tf32 = False  # exact float32, as the loop
    from neurospec import Corpus, corpus, load_model
    from neurospec.data.tokens import tokenize
    from neurospec.measure import sweep as sweep_module
    from neurospec.measure.forward import clean_run
    from neurospec.measure.sweep import _closed_form, _downstream, _loop

    if args.logit_elements:
        sweep_module._logit_elements = lambda device: args.logit_elements

    n_prompts = args.prompts or (20 if args.quick else 100)
    with tempfile.TemporaryDirectory() as tmp:
        build(Path(tmp))
        model = load_model(tmp, device=args.device, dtype=args.dtype)
    sync = torch.cuda.synchronize if args.device.startswith("cuda") else (lambda: None)
    src = corpus("german").subset(n_prompts)
    prompts = Corpus.from_texts([model.tokenizer.decode(ids[:23])
                                 for ids in model.encode(src.texts)], name="prompts")
    tc = tokenize(model, prompts)
    closed = args.method == "closed_form"
    layer = model.n_layers - 1 if closed else args.layer
    n_neurons = args.neurons or (16 if args.quick else model.d_mlp)
    rng = np.random.default_rng(0)
    neurons = sorted(rng.choice(model.d_mlp, size=n_neurons, replace=False).tolist())
    values = np.zeros(model.d_mlp)  # zero ablation

    if closed:  # the closed form computes every neuron of the layer at once
        neurons = list(range(model.d_mlp))
        n_neurons = model.d_mlp
    n_loop = min(args.loop_neurons or n_neurons, n_neurons)
    in_loop = np.linspace(0, n_neurons - 1, n_loop).round().astype(int)  # rows of `neurons`

    def batched(picked: list[int]) -> np.ndarray:
        if closed:
            return _closed_form(model, prompts, layer, values)[picked]
        return _downstream(model, prompts, layer, values, picked)

    clean_run(model, tc)
    batched(neurons[:2])  # warm-up
    _loop(model, prompts, layer, values, neurons[:2])
    sync()
    t = time.perf_counter()
    fast = batched(neurons)
    sync()
    t_fast = time.perf_counter() - t
    t = time.perf_counter()
    slow = _loop(model, prompts, layer, values, [neurons[i] for i in in_loop])
    sync()
    t_loop = time.perf_counter() - t
    diff = float(np.abs(fast[in_loop] - slow).max())
    speedup = (t_loop / n_loop) / (t_fast / n_neurons)
    scale = float(np.abs(slow).max())
    tokens = tc.n_tokens + len(tc.docs) * tc.first
    later = model.n_layers - layer - 1
    d, f, v = model.d_model, model.d_mlp, model.d_vocab
    # Weight matmuls per ablated variant and token: later blocks (attention 4 d^2, MLP 2 d f)
    # and the unembedding; the closed form does no matmul per neuron (elementwise over V).
    per_token = 2 * (later * (4 * d * d + 2 * d * f) + d * v)
    flops = per_token * tokens * n_neurons
    peak = peak_flops(args.device, {"float32": torch.float32,
                                    "bfloat16": torch.bfloat16}[args.dtype])
    ref_diff = None
    if args.save_rows:
        np.save(args.save_rows, fast)
    if args.reference and args.reference.exists():
        ref_diff = float(np.abs(fast - np.load(args.reference)).max())
    device_name = (torch.cuda.get_device_name(args.device) if args.device.startswith("cuda")
                   else "cpu")
    name = "closed form (batched)" if closed else "downstream (batched)"
    print(f"pythia-70m shape (random weights), layer {layer} of {model.n_layers}, "
          f"{n_neurons} of {model.d_mlp} neurons, {len(tc.docs)} prompts / {tokens} tokens, "
          f"{args.device} ({device_name}) {args.dtype}, torch {torch.__version__}, "
          f"threads {args.threads}")
    print(f"{'method':<28}{'seconds':>10}{'per neuron ms':>15}")
    print(f"{'loop (one pass per neuron)':<28}{t_loop:>10.2f}{1e3 * t_loop / n_loop:>15.2f}"
          + (f"  ({n_loop} of the {n_neurons} neurons)" if n_loop < n_neurons else ""))
    print(f"{name:<28}{t_fast:>10.2f}{1e3 * t_fast / n_neurons:>15.2f}")
    if not closed:
        print(f"batched sweep: {flops / t_fast / 1e9:.1f} GFLOP/s of weight matmuls, "
              f"{flops / t_fast / peak:.0%} of the measured matmul peak "
              f"({peak / 1e9:.0f} GFLOP/s)")
    print(f"max abs diff vs the loop {diff:.2e} (largest |row| {scale:.2e})"
          + ("" if ref_diff is None else f"; vs the reference rows {ref_diff:.2e}"))
    if args.json:
        row = {"benchmark": "sweep_pythia_shape", "method": args.method, "layer": layer,
               "n_layers": model.n_layers, "neurons": n_neurons, "prompts": len(tc.docs),
               "tokens": tokens, "device": args.device, "device_name": device_name,
               "dtype": args.dtype, "torch": torch.__version__, "loop_s": t_loop,
               "logit_elements": args.logit_elements or None,
               "batched_s": t_fast, "loop_neurons": n_loop, "speedup": speedup,
               "max_abs_diff": diff,
               "largest_row": scale, "reference_diff": ref_diff,
               "weight_matmul_flops": None if closed else flops,
               "peak_flops": peak, "share_of_peak": None if closed else flops / t_fast / peak}
        with open(args.json, "a") as fh:
            fh.write(json.dumps(row) + "\n")
    if args.profile:
        from torch.profiler import ProfilerActivity, profile

        acts = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA]
                                         if args.device.startswith("cuda") else [])
        with profile(activities=acts) as prof:
            batched(neurons[:args.profile])
            sync()
        key = "self_cuda_time_total" if args.device.startswith("cuda") else "self_cpu_time_total"
        print(prof.key_averages().table(sort_by=key, row_limit=12, max_name_column_width=50))
    print(f"name=sweep_pythia_shape speedup={speedup:.2f} max_abs_diff={diff:.2e}")


if __name__ == "__main__":
    main()
