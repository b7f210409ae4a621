"""Benchmark: per-prompt weight-gradient norms of every neuron of an MLP layer (seed 003),
neurospec's batched computation against the notebook way (one backward pass per prompt),
same model, same prompts, same run.  Prompts are short, as seed 003's are: the first
``--tokens`` tokens of held-out German documents.

    python benchmarks/gradients.py [--quick] [--docs N] [--tokens T] [--threads T]
        [--device cuda]

Last line: ``name=gradients speedup=<x> max_abs_diff=<d>``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch


def notebook(model, corpus) -> list[tuple[np.ndarray, np.ndarray]]:
    """Seed 003 as written: every parameter requires grad (a loaded model's default), one
    forward and backward per prompt, then every layer's W_in / W_out gradient is read and the
    gradients are zeroed."""
    params = [p for p in model.bridge.parameters()]
    bos = model.bos_token_id
    mlps = [model.bridge.blocks[k].mlp for k in range(model.n_layers)]
    w = [(getattr(m, "in").original_component.weight, m.out.original_component.weight)
         for m in mlps]
    out = [([], []) for _ in mlps]
    try:
        for p in params:
            p.requires_grad_(True)
        for text in corpus.texts:
            toks = torch.tensor([[bos] + model.encode([text])[0][:model.n_ctx - 1]],
                                device=model.device)
            logits = model.bridge(toks)
            torch.nn.functional.cross_entropy(logits[0, :-1], toks[0, 1:]).backward()
            for (w_in, w_out), (g_in, g_out) in zip(w, out):
                g_in.append(w_in.grad.norm(dim=1).double().cpu().numpy())
                g_out.append(w_out.grad.norm(dim=0).double().cpu().numpy())
            for p in params:
                p.grad = None
    finally:
        for p in params:
            p.requires_grad_(False)
            p.grad = None
    return [(np.stack(a), np.stack(b)) for a, b in out]


def one_backward_per_document(model, corpus, layer: int) -> tuple[np.ndarray, np.ndarray]:
    """A leaner loop than the notebook's: for each document a forward and a backward pass
    with only the read weights requiring grad (the bridge's W_in/W_out are views: the wrapped
    modules' own weights are used)."""
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
            toks = torch.tensor([[bos] + model.encode([text])[0][:model.n_ctx - 1]],
                                device=model.device)
            logits = model.bridge(toks)
            torch.nn.functional.cross_entropy(logits[0, :-1], toks[0, 1:]).backward()
            g_in.append(w_in.grad.norm(dim=1).double().cpu().numpy())
            g_out.append(w_out.grad.norm(dim=0).double().cpu().numpy())
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
    p.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    from neurospec import Corpus, corpus, load_model
    from neurospec.data.tokens import tokenize
    from neurospec.measure.gradients import weight_gradient_norms, weight_gradient_norms_layers

    n_docs = args.docs or (60 if args.quick else 300)
    model = load_model("tiny-bilingual", device=args.device)
    source = corpus("german").subset(n_docs)
    docs = Corpus.from_texts([model.tokenizer.decode(ids[:args.tokens])
                              for ids in model.encode(source.texts)], name="german prompts")
    tokenize(model, docs)  # tokenising is shared; time the gradients only
    weight_gradient_norms(model, docs.subset(4), 0)  # warm-up
    one_backward_per_document(model, docs.subset(4), 0)
    notebook(model, docs.subset(4))
    t = time.perf_counter()
    seed = notebook(model, docs)
    t_seed = time.perf_counter() - t
    rows = []
    worst, total_naive, total_fast = 0.0, 0.0, 0.0
    for layer in range(model.n_layers):
        t = time.perf_counter()
        naive_in, naive_out = one_backward_per_document(model, docs, layer)
        t_naive = time.perf_counter() - t
        t = time.perf_counter()
        fast = weight_gradient_norms(model, docs, layer)
        t_fast = time.perf_counter() - t
        diff = max(np.abs(fast.w_in - naive_in).max(), np.abs(fast.w_out - naive_out).max(),
                   np.abs(fast.w_in - seed[layer][0]).max(),
                   np.abs(fast.w_out - seed[layer][1]).max())
        worst = max(worst, diff)
        total_naive += t_naive
        total_fast += t_fast
        rows.append((layer, t_naive, t_fast, diff))
    tc = tokenize(model, docs)
    print(f"model tiny-bilingual, {n_docs} German prompts, {tc.n_tokens} tokens, d_mlp "
          f"{model.d_mlp}, {args.device}, torch threads {args.threads}")
    print(f"{'layer':<7}{'lean loop s':>20}{'batched s':>12}{'speedup':>10}"
          f"{'max |diff|':>14}")
    for layer, a, b, d in rows:
        print(f"{layer:<7}{a:>20.2f}{b:>12.2f}{a / b:>10.1f}{d:>14.2e}")
    t = time.perf_counter()
    together = weight_gradient_norms_layers(model, docs, list(range(model.n_layers)))
    t_together = time.perf_counter() - t
    for layer, g in enumerate(together):
        worst = max(worst, np.abs(g.w_in - seed[layer][0]).max(),
                    np.abs(g.w_out - seed[layer][1]).max())
    print(f"all layers from one batched pass: {t_together:.2f} s")
    print(f"all layers: seed 003 as written (every parameter requires grad, one backward per "
          f"prompt) {t_seed:.2f} s; lean per-prompt loop {total_naive:.2f} s; neurospec batched "
          f"{total_fast:.2f} s")
    print(f"speedup vs the notebook {t_seed / t_together:.1f}x (all layers in one pass), "
          f"vs the lean loop {total_naive / total_fast:.1f}x (layer by layer)")
    print(f"name=gradients speedup={t_seed / t_together:.2f} max_abs_diff={worst:.2e}")


if __name__ == "__main__":
    main()
