"""Per-neuron ablation sweep of an MLP layer: for every neuron, the per-document change of
the mean next-token loss when that neuron alone is ablated.

Three ways to compute it:

- ``loop``: one forward pass per neuron, as the seed notebooks do (the reference);
- ``closed_form`` (last MLP layer only, exact): nothing but the final norm and the
  unembedding reads the last MLP's output, so ablating neuron n adds ``delta * W_out[n]`` to
  the final residual (a LayerNorm, or an RMSNorm without the mean terms; refused for a
  post-MLP norm, an unknown final norm or logit soft-capping).  With ``A = (x - mean x) * gamma @ W_U`` and
  ``D[n] = (W_out[n] - mean) * gamma @ W_U`` precomputed, the ablated logits are
  ``(A + delta * D[n]) / sigma' + const`` where the new LayerNorm scale ``sigma'`` follows in
  O(1) from ``var x``, ``cov(x, W_out[n])`` and ``var W_out[n]``: exact, and without a
  ``d_model x d_vocab`` matmul per neuron and position;
- ``downstream`` (any layer, exact): one full pass per batch of documents keeps the
  residual after the layer; then each chunk of neurons is ablated at once as a rank-one
  change of that residual (``delta * W_out[n]``; where a post-MLP norm makes the change
  non-linear, the MLP's output is recomputed from the ablated activations instead), stacked
  along the batch, and only the later blocks, the final norm and the unembedding are run on
  the stack.  On CPU the gain is
  bounded by the share of compute in the skipped early blocks; on a GPU the stacking is what
  pays;
- ``attribution`` (approximate, labelled so): gradient x activation difference from one
  forward and one backward pass, a fast screen whose rank correlation with the exact sweep
  is reported.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from neurospec.data.corpus import Corpus
from neurospec.data.tokens import tokenize
from neurospec.errors import InvalidArgument
from neurospec.measure.ablation import set_column
from neurospec.measure.activations import layer_activations
from neurospec.measure.forward import clean_run, run_corpus
from neurospec.models.architecture import refuse
from neurospec.models.bridge import default_batch_tokens
from neurospec.progress import progress
from neurospec.units import Neuron, check_unit

METHODS = ("auto", "loop", "closed_form", "downstream", "attribution")
LOG2E, LN2 = 1.4426950408889634, 0.6931471805599453
# Closed form: neurons x positions x vocab per step.  CPU: 4 MB, one document at a time
# (2^18: +5%, 2^22: +50%); a GPU takes whole groups of documents and steps as large as the
# replays' memory budget (`_logit_elements`).
_CLOSED_ELEMENTS = {"cpu": 1 << 20}
_CLOSED_ONE_DOC = {"cpu": True}  # device types that take one document per group


@dataclass(frozen=True)
class Sweep:
    """Per-neuron, per-document loss changes of one layer on one corpus."""

    layer: int
    corpus: Corpus
    values: np.ndarray  # [d_mlp] ablation values
    delta: np.ndarray  # [d_mlp, n_docs] ablated - clean mean loss per document
    method: str
    exact: bool

    @property
    def mean(self) -> np.ndarray:
        return self.delta.mean(axis=1)

    def ranking(self) -> np.ndarray:
        """Neuron indices, largest mean loss increase first."""
        return np.argsort(-self.mean, kind="stable")


def _values(model, layer: int, to, over: Corpus | None) -> np.ndarray:
    if to == "zero":
        return np.zeros(model.d_mlp)
    if to == "mean":
        if over is None:
            raise InvalidArgument("a mean-ablation sweep needs over=<corpus> for the means")
        acts = layer_activations(model, tokenize(model, over), layer)
        return torch.cat(acts).double().mean(0).numpy()
    raise InvalidArgument(f"sweep(to={to!r}): use 'zero' or 'mean'", value=to)


def neuron_sweep(model, corpus: Corpus, layer: int, *, to: str = "mean",
                 over: Corpus | None = None, method: str = "auto") -> Sweep:
    """Ablate each neuron of MLP ``layer`` alone and measure every document's loss change.

    Args:
        to: ``'zero'`` or ``'mean'`` (each neuron's mean over ``over``).
        method: ``'auto'`` (closed form for the last layer where the model's layout allows
            it, else ``'downstream'``),
            ``'loop'`` (the notebooks' reference), ``'closed_form'``, ``'downstream'`` or
            ``'attribution'`` (approximate).
    """
    check_unit(Neuron(layer, 0), model)
    if method not in METHODS:
        raise InvalidArgument(f"sweep(method={method!r}): use one of {METHODS}", value=method)
    last = layer == model.n_layers - 1
    blocker = model.architecture.closed_form_blocker()
    if method == "auto":
        method = "closed_form" if last and blocker is None else "downstream"
    if method == "closed_form" and not last:
        raise InvalidArgument(f"the closed form is exact only for the last MLP layer "
                              f"({model.n_layers - 1}); use method='loop' for layer {layer}",
                              value=layer)
    if method == "closed_form" and blocker is not None:
        raise refuse("the closed-form sweep", blocker,
                     "use method='downstream' (exact for any layout) or method='auto'")
    values = _values(model, layer, to, over)
    fn = {"loop": _loop, "closed_form": _closed_form, "downstream": _downstream,
          "attribution": _attribution}[method]
    delta = fn(model, corpus, layer, values)
    return Sweep(layer, corpus, values, delta, method, exact=method != "attribution")


def _loop(model, corpus: Corpus, layer: int, values: np.ndarray,
          neurons: list[int] | None = None) -> np.ndarray:
    """Rows for ``neurons`` (default: all of the layer), one full pass per neuron."""
    tc = tokenize(model, corpus)
    base = clean_run(model, tc).doc_losses
    hook = f"blocks.{layer}.mlp.hook_post"
    neurons = list(range(model.d_mlp)) if neurons is None else list(neurons)
    out = np.empty((len(neurons), len(tc.docs)))
    bar = progress(f"sweep of MLP{layer} (loop)", len(neurons), "neurons")
    for row, n in enumerate(neurons):
        fn = set_column(n, float(values[n]), tc.first)
        out[row] = run_corpus(model, tc, hooks=lambda d, l, fn=fn: [(hook, fn)]).doc_losses - base
        bar.advance()
    return out


# Stacked variants x positions x vocab per replay.  On CPU small chunks that stay in cache
# win (measured on tiny-bilingual, 1 thread: 2^21 -> 7.5 s, 2^24 -> 20.9 s for layer 0); a GPU
# wants large ones.
_LOGIT_ELEMENTS = {"cpu": 1 << 21, "cuda": 1 << 27}


def _logit_elements(device: torch.device) -> int:
    """Logit elements per replay: on a CPU cache-sized (above); on a GPU a quarter of its free
    memory at 16 bytes per element (float32 logits and the log-sum-exp's temporaries), at
    least 2^27 and at most 2^31 (other processes may share the GPU)."""
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return int(min(1 << 31, max(_LOGIT_ELEMENTS["cuda"], free // 4 // 16)))
    return _LOGIT_ELEMENTS.get(device.type, _LOGIT_ELEMENTS["cpu"])


@torch.no_grad()
def _downstream(model, corpus: Corpus, layer: int, values: np.ndarray,
                neurons: list[int] | None = None) -> np.ndarray:
    """Rows for ``neurons`` (default: all of the layer), later blocks only, stacked."""
    from neurospec.measure.forward import token_losses

    tc = tokenize(model, corpus)
    act_hook = f"blocks.{layer}.mlp.hook_post"
    pick = torch.arange(model.d_mlp) if neurons is None else torch.tensor(list(neurons))
    w_all = model.mlp_out_weight(layer)
    w_out = w_all[pick.to(w_all.device)]  # [n, d]
    vals = torch.tensor(np.asarray(values)[pick.numpy()], dtype=w_out.dtype,
                        device=w_out.device)
    n_mlp = w_out.shape[0]
    # With a post-MLP norm (Gemma 2/3, OLMo 2) a neuron's change is not rank-one on the residual.
    mlp_out = model.mlp_output(layer) if model.architecture.rank_one_blocker() else None
    out = np.empty((n_mlp, len(tc.docs)))
    device = torch.device(model.device)
    elements = _logit_elements(device)
    budget = max(256, min(model.batch_tokens, elements // model.d_vocab))  # tokens per batch
    per_replay = budget  # stacked tokens per replay of the later blocks
    if device.type == "cuda" and model.batch_tokens == default_batch_tokens(str(device),
                                                                            model.d_vocab):
        # No limit set by the user: the variants stacked in one replay fill the memory budget.
        per_replay = max(budget, elements // model.d_vocab)
    bar = progress(f"sweep of MLP{layer} (downstream)", len(tc.docs), "documents")
    for docs, ids, lengths in tc.batches(budget):
        store: dict = {}

        def keep(act, hook=None):
            store["act"] = act.detach()

        _, resid, replay = model.split_run(ids, layer, [(act_hook, keep)])
        b, p = ids.shape
        ids_d = ids.to(resid.device)
        counted = torch.zeros(b, p, 1, dtype=resid.dtype, device=resid.device)
        for row, length in enumerate(lengths.tolist()):
            counted[row, tc.first:length] = 1
        # tensors follow the residual's device (a model split over devices has several)
        act = store["act"].to(resid.device)
        delta = (vals.to(resid.device) - act[..., pick.to(act.device)]) * counted  # [b, p, n]
        lengths_d = lengths.to(resid.device)
        clean = _doc_losses(token_losses(replay(resid), ids_d), lengths_d)  # same path
        # rows stay on the device until the batch is done: no host sync per replay
        rows = torch.empty(n_mlp, b, dtype=torch.float64, device=resid.device)
        step = max(1, per_replay // (b * p))
        for s in range(0, n_mlp, step):
            c = min(step, n_mlp - s)
            if mlp_out is None:
                shift = (delta[..., s:s + c].permute(2, 0, 1)[..., None]
                         * w_out[s:s + c, None, None].to(resid.device))
            else:
                shift = _recomputed_shift(mlp_out, act, delta, pick[s:s + c], s)
            stacked = resid[None] + shift  # [c, b, p, d]: neuron s+i ablated in variant i
            lg = replay(stacked.reshape(c * b, p, -1))
            tl = token_losses(lg, ids_d.repeat(c, 1)).reshape(c, b, p - 1)
            rows[s:s + c] = _doc_losses(tl, lengths_d) - clean
        out[:, docs] = rows.cpu().numpy()
        bar.advance(len(docs))
    return out


def _recomputed_shift(mlp_out, act: torch.Tensor, delta: torch.Tensor, neurons: torch.Tensor,
                      first: int) -> torch.Tensor:
    """``[c, b, p, d]``: what each of the ``c`` ablations (neuron ``neurons[i]``, changed by
    ``delta[..., first + i]``) changes in the MLP's residual contribution, recomputed through
    the MLP's output map."""
    c = len(neurons)
    ablated = act[None].repeat(c, 1, 1, 1)  # [c, b, p, d_mlp]
    rows = torch.arange(c, device=act.device)
    cols = neurons.to(act.device)
    ablated[rows, :, :, cols] += delta[..., first:first + c].permute(2, 0, 1)
    return mlp_out(ablated) - mlp_out(act)[None]


def _doc_losses(tl: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Mean over each document's real positions of next-token losses ``[..., b, p - 1]``."""
    mask = torch.arange(tl.shape[-1], device=tl.device)[None] < (lengths[:, None] - 1)
    return (tl * mask).sum(-1) / (lengths - 1).to(tl.dtype)


def ln_sum_exp2(y: torch.Tensor) -> torch.Tensor:
    """``ln(sum(2 ** y, -1))``, consuming ``y``: exp2 in place when no row can overflow or
    vanish in float32 (every row's maximum within +-120), else a stable log-sum-exp."""
    top = y.amax(-1)
    if bool((top.abs() < 120).all()):
        return y.exp2_().sum(-1).log_()
    return torch.logsumexp(y * LN2, -1)


def _doc_groups(lengths: list[int], elements: int, vocab: int, one_each: bool) -> list[list[int]]:
    """Consecutive documents whose positions x vocabulary fit ``elements`` (at least one per
    group); ``one_each``: a group per document (on a CPU, cache-sized work per document wins)."""
    groups: list[list[int]] = []
    used = 0
    for k, n in enumerate(lengths):
        if groups and not one_each and (used + n) * vocab <= elements:
            groups[-1].append(k)
            used += n
        else:
            groups.append([k])
            used = n
    return groups


@torch.no_grad()
def _closed_form(model, corpus: Corpus, layer: int, values: np.ndarray) -> np.ndarray:
    tc = tokenize(model, corpus)
    resid_hook, act_hook = f"blocks.{layer}.hook_resid_post", f"blocks.{layer}.mlp.hook_post"
    run = model.cache.get_or_compute(
        ("sweep_inputs", tc.corpus.hash, model.prepend_bos, layer),
        lambda: run_corpus(model, tc, capture=[resid_hook, act_hook]))
    norm = model.final_norm  # a LayerNorm or RMSNorm (neuron_sweep refuses other layouts)
    w_u = model.unembed_weight().float()  # [d, V]; the work runs where the unembedding is
    dev = w_u.device
    w_out = model.mlp_out_weight(layer).float().to(dev)  # [d_mlp, d]
    eps = norm.eps
    const = torch.zeros(w_u.shape[1], device=dev)
    if norm.bias is not None:
        const += norm.bias.float().to(dev) @ w_u
    if (bias := model.unembed_bias()) is not None:
        const += bias.float().to(dev)
    g = (norm.weight.float().to(dev) if norm.weight is not None
         else torch.ones(w_out.shape[1], device=dev))

    def centre(t: torch.Tensor) -> torch.Tensor:
        # An RMSNorm does not subtract the mean: its "variance" is the mean square.
        return t - t.mean(-1, keepdim=True) if norm.centred else t

    wc = centre(w_out)
    # Logits are handled in base 2 (scaled by log2 e): exp2 is ~3x cheaper than exp on a CPU,
    # and the exponentials are the whole cost.
    d_dir = (wc * g) @ w_u * LOG2E  # [d_mlp, V]
    w_var = (wc * wc).mean(-1)  # [d_mlp]
    vals = torch.tensor(values, dtype=torch.float32, device=dev)
    n_mlp, vocab = w_out.shape[0], w_u.shape[1]
    out = np.empty((n_mlp, len(tc.docs)))
    # The loss at position p predicts token p+1, so each document's last position has none.
    counted = [len(doc) - 1 - tc.first for doc in tc.docs]
    elements = _CLOSED_ELEMENTS.get(dev.type) or _logit_elements(dev)
    one_each = _CLOSED_ONE_DOC.get(dev.type, False)
    for group in _doc_groups(counted, elements, vocab, one_each=one_each):
        # resid / acts are captured at counted positions; the group's documents are stacked.
        x = torch.cat([run.captured[resid_hook][k][:-1] for k in group]).to(dev)  # [P, d]
        a = torch.cat([run.captured[act_hook][k][:-1] for k in group]).to(dev)  # [P, d_mlp]
        targets = torch.cat([tc.docs[k][tc.first + 1:] for k in group]).to(dev)
        owner = torch.repeat_interleave(torch.arange(len(group), device=dev),
                                        torch.tensor([counted[k] for k in group], device=dev))
        xc = centre(x)
        x_var = (xc * xc).mean(-1)  # [P]
        cov = xc @ wc.T / x.shape[-1]  # [P, d_mlp]
        big_a = (xc * g) @ w_u  # [P, V]
        delta = vals[None, :] - a  # [P, d_mlp]
        sigma = torch.sqrt(x_var[:, None] + 2 * delta * cov + delta ** 2 * w_var[None] + eps)
        clean_logits = big_a / torch.sqrt(x_var + eps)[:, None] + const
        clean = torch.logsumexp(clean_logits, -1) - clean_logits.gather(1, targets[:, None])[:, 0]
        # Shift by each position's clean maximum (the ablated logits stay near it) so that
        # exp2 needs no max pass of its own; a chunk that still overflows is redone stably.
        shift = (const[None] - clean_logits.amax(-1, keepdim=True)) * LOG2E  # [P, V]
        big_a2 = big_a * LOG2E
        n_pos = x.shape[0]
        sums = torch.zeros(n_mlp, len(group), dtype=torch.float64, device=dev)
        step = max(1, elements // max(1, n_pos * vocab))
        for s in range(0, n_mlp, step):
            sl = slice(s, s + step)
            y = torch.addcmul(big_a2[None], delta.T[sl, :, None], d_dir[sl, None, :])
            # (A + delta D) / sigma + const - max, in base 2, in place: [c, P, V]
            torch.addcdiv(shift, y, sigma.T[sl, :, None], out=y)
            picked = y.gather(2, targets[None, :, None].expand(y.shape[0], -1, 1))[..., 0]
            loss = ln_sum_exp2(y) - picked * LN2  # [c, P], natural units
            sums[sl].index_add_(1, owner, (loss - clean[None]).double())
        denom = torch.tensor([len(tc.docs[k]) - 1 for k in group], dtype=torch.float64)
        out[:, group] = (sums.cpu() / denom).numpy()
    return out


def _attribution(model, corpus: Corpus, layer: int, values: np.ndarray) -> np.ndarray:
    tc = tokenize(model, corpus)
    hook = f"blocks.{layer}.mlp.hook_post"
    vals = torch.tensor(values, dtype=torch.float32)
    out = np.empty((model.d_mlp, len(tc.docs)))
    from neurospec.measure.forward import token_losses

    for docs, ids, lengths in tc.batches(model.batch_tokens):
        store = {}

        def grab(act, hook=None):
            act = act.detach().requires_grad_(True)
            store["act"] = act
            return act

        logits = model.run(ids, [(hook, grab)], grad=True)
        with torch.enable_grad():
            tl = token_losses(logits, ids).cpu()
            mask = torch.arange(tl.shape[1])[None] < (lengths[:, None] - 1)
            per_doc = (tl * mask).sum(1) / (lengths - 1)
            per_doc.sum().backward()
        act, grad = store["act"].detach().cpu(), store["act"].grad.cpu()
        for row, (k, length) in enumerate(zip(docs, lengths.tolist())):
            a = act[row, tc.first:length].float()
            gr = grad[row, tc.first:length].float()
            out[:, k] = ((vals[None] - a) * gr).sum(0).double().numpy()
    return out
