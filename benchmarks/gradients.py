"""Benchmark: per-prompt weight-gradient norms of every neuron of an MLP layer (seed 003),
neurospec's batched computation against the notebook way (one backward pass per prompt),
same model, same prompts, same run.  Prompts are short, as seed 003's are: the first
``--tokens`` tokens of held-out German documents.

    python benchmarks/gradients.py [--quick] [--docs N] [--tokens T] [--threads T]

Last line: ``name=gradients speedup=<x> max_abs_diff=<d>``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch


def one_backward_per_document(model, corpus, layer: int) -> tuple[np.ndarray, np.ndarray]:
    """The notebook way: for each document a forward and a backward pass, then read the
    gradient of the wrapped modules' own weights (the bridge's W_in/W_out are views)."""
    mlp = model.bridge.blocks[layer].mlp
    w_in = getattr(mlp, "in").original_component.weight
    w_out = mlp.out.original_component.weight
    bos = model.bos_token_id
    g_in, g_out = [], []
    try:
        w_in.requires_grad_(True)
        w_out.requires_grad_(True)
        for text in corpus.texts:
            w_in.grad = w_out.grad = None
            toks = torch.tensor([[bos] + model.encode([text])[0][:model.n_ctx - 1]])
            logits = model.bridge(toks)
            torch.nn.functional.cross_entropy(logits[0, :-1], toks[0, 1:]).backward()
            g_in.append(w_in.grad.norm(dim=1).double().numpy())
            g_out.append(w_out.grad.norm(dim=0).double().numpy())
    finally:
        w_in.requires_grad_(False)
        w_out.requires_grad_(False)
        w_in.grad = w_out.grad = None
    return np.stack(g_in), np.stack(g_out)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="60 prompts instead of 300")
    p.add_argument("--docs", type=int, default=None)
    p.add_argument("--tokens", type=int, default=12, help="tokens per prompt (default 12)")
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    from neurospec import Corpus, corpus, load_model
    from neurospec.data.tokens import tokenize
    from neurospec.measure.gradients import weight_gradient_norms

    n_docs = args.docs or (60 if args.quick else 300)
    model = load_model("tiny-bilingual", device="cpu")
    source = corpus("german").subset(n_docs)
    docs = Corpus.from_texts([model.tokenizer.decode(ids[:args.tokens])
                              for ids in model.encode(source.texts)], name="german prompts")
    tokenize(model, docs)  # tokenising is shared; time the gradients only
    weight_gradient_norms(model, docs.subset(4), 0)  # warm-up
    one_backward_per_document(model, docs.subset(4), 0)
    rows = []
    worst, total_naive, total_fast = 0.0, 0.0, 0.0
    for layer in range(model.n_layers):
        t = time.perf_counter()
        naive_in, naive_out = one_backward_per_document(model, docs, layer)
        t_naive = time.perf_counter() - t
        t = time.perf_counter()
        fast = weight_gradient_norms(model, docs, layer)
        t_fast = time.perf_counter() - t
        diff = max(np.abs(fast.w_in - naive_in).max(), np.abs(fast.w_out - naive_out).max())
        worst = max(worst, diff)
        total_naive += t_naive
        total_fast += t_fast
        rows.append((layer, t_naive, t_fast, diff))
    tc = tokenize(model, docs)
    print(f"model tiny-bilingual, {n_docs} German prompts, {tc.n_tokens} tokens, d_mlp "
          f"{model.d_mlp}, torch threads {args.threads}")
    print(f"{'layer':<7}{'per-doc backward s':>20}{'batched s':>12}{'speedup':>10}"
          f"{'max |diff|':>14}")
    for layer, a, b, d in rows:
        print(f"{layer:<7}{a:>20.2f}{b:>12.2f}{a / b:>10.1f}{d:>14.2e}")
    print(f"name=gradients speedup={total_naive / total_fast:.2f} max_abs_diff={worst:.2e}")


if __name__ == "__main__":
    main()
