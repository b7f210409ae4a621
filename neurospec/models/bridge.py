"""neurospec's model interface: with :mod:`neurospec.models.loading`, :mod:`~.replay` and
:mod:`~.architecture`, the only code that touches transformer_lens.

A :class:`Model` wraps a TransformerLens 4 ``TransformerBridge`` and exposes the few
operations measurements need (tokenise, run with hooks and optional gradients, read weights
and layout), plus the facts every result records (name, weight fingerprint, prepend_bos,
dtype, compatibility mode).  Loading lives in :mod:`neurospec.models.loading`.
"""

from __future__ import annotations

import contextlib
import difflib
import functools
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import torch
from torch import Tensor

from neurospec.errors import HookLeak, InvalidArgument, UnsupportedArchitecture
from neurospec.models.architecture import Architecture, Norm, describe
from neurospec.models.cache import ByteLRU

DEFAULT_BATCH_TOKENS = 8192


def default_batch_tokens(device: str, d_vocab: int) -> int:
    """Tokens per forward batch: on a GPU large batches pay; on a CPU the logits of a batch
    should stay near cache size (tiny-bilingual's clean pass over 400 documents, 1 thread:
    8192 tokens 1.09 s, 1024 tokens 0.70 s, 256 tokens 0.91 s)."""
    if not str(device).startswith("cpu"):
        return DEFAULT_BATCH_TOKENS
    return max(256, min(DEFAULT_BATCH_TOKENS, (1 << 22) // max(1, d_vocab)))
Hook = tuple[str, Callable[[Tensor, Any], Tensor | None]]


class Model:
    """A loaded model with the metadata every measurement records.

    Attributes:
        name: the name it was loaded by (``tiny-bilingual``, a folder, ``pythia-70m``).
        fingerprint: 16 hex digits of a SHA-256 over the weights, the configuration that
            decides what they compute, and the tokenizer (``fingerprint_parts`` has each).
        prepend_bos: whether documents get a BOS token in front (recorded with results).
        bridge: the underlying ``TransformerBridge`` (an escape hatch; prefer the methods).
    """

    def __init__(self, bridge: Any, name: str, source: str, fingerprint: str, prepend_bos: bool,
                 dtype: str, device: str, compatibility_mode: bool, checkpoint: str | None,
                 cache_bytes: int = 2 << 30) -> None:
        self.bridge = bridge
        self.name = name
        self.source = source
        self.fingerprint = fingerprint
        self.prepend_bos = prepend_bos
        self.dtype = dtype
        self.device = device
        self.compatibility_mode = compatibility_mode
        self.checkpoint = checkpoint
        cfg = bridge.cfg
        self.n_layers: int = cfg.n_layers
        self.d_model: int = cfg.d_model
        self.d_mlp: int = cfg.d_mlp
        self.n_heads: int = cfg.n_heads
        self.d_vocab: int = cfg.d_vocab
        self.n_ctx: int = cfg.n_ctx
        self.tokenizer = bridge.tokenizer
        self.cache = ByteLRU(cache_bytes)
        # tokens per forward batch (a memory bound; --neurospec-max-batch-tokens sets it)
        self.batch_tokens = default_batch_tokens(device, self.d_vocab)
        self._hook_names = frozenset(bridge.hook_dict)
        self.fingerprint_parts: dict[str, str] = {}
        # the tensors the weights' fingerprint was taken over (the checkpoint's names, before
        # the bridge rewired the modules): to tell later whether a test changed them
        self.weight_tensors: dict[str, Tensor] = {}

    def __repr__(self) -> str:
        return (f"Model({self.name!r}, layers={self.n_layers}, d_mlp={self.d_mlp}, "
                f"fingerprint={self.fingerprint}, prepend_bos={self.prepend_bos})")

    # -- what results record ---------------------------------------------------------
    def info(self) -> dict:
        """The settings that change numbers, as recorded in every result."""
        return {"name": self.name, "checkpoint": self.checkpoint, "fingerprint": self.fingerprint,
                "fingerprint_parts": dict(self.fingerprint_parts), "context": self.n_ctx,
                "prepend_bos": self.prepend_bos, "dtype": self.dtype, "device": self.device,
                "compatibility_mode": self.compatibility_mode}

    def weights_state(self) -> tuple:
        """A cheap token of the weights' state: each parameter's storage and in-place version
        counter (any in-place change, ``load_state_dict`` included, moves it)."""
        return tuple((t.data_ptr(), t._version) for t in self.weight_tensors.values())

    def weights_digest(self) -> str:
        """The digest of the weights as they are now, over the same tensors as the
        fingerprint (see :mod:`neurospec.models.fingerprint`)."""
        from neurospec.models.fingerprint import weights_digest

        return weights_digest(self.weight_tensors)

    def preflight(self, longest: int, what: str) -> None:
        """Refuse a forward pass over a document of ``longest`` tokens that would need more
        memory than the model's device has (see :func:`neurospec.models.resources.forward_fits`)."""
        from neurospec.models.resources import forward_fits

        forward_fits(self, longest, what)

    # -- tokens ------------------------------------------------------------------------
    @property
    def bos_token_id(self) -> int:
        bos = self.tokenizer.bos_token_id
        return bos if bos is not None else self.tokenizer.eos_token_id

    def encode(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids of each text, without special tokens (BOS is added by the caller)."""
        backend = getattr(self.tokenizer, "backend_tokenizer", None)
        if backend is not None and backend.truncation is None and backend.padding is None:
            # The fast tokenizer's own batch call: the same ids without building a Python
            # dict per document (half the time for 100 000 short documents).
            return [e.ids for e in backend.encode_batch(list(texts), add_special_tokens=False)]
        return self.tokenizer(list(texts), add_special_tokens=False)["input_ids"]

    def str_tokens(self, ids: Sequence[int]) -> list[str]:
        """Each token id as the text it stands for."""
        return [self.tokenizer.decode([int(i)]) for i in ids]

    # -- running -------------------------------------------------------------------------
    def check_hook_name(self, name: str) -> str:
        """Return ``name`` if the model has that hook point; otherwise suggest the closest."""
        if name in self._hook_names:
            return name
        close = difflib.get_close_matches(name, self._hook_names, n=3, cutoff=0.6)
        hint = f"did you mean {' or '.join(repr(c) for c in close)}?" if close else (
            "hook names look like 'blocks.0.mlp.hook_post' or 'blocks.1.hook_resid_pre'")
        raise InvalidArgument(f"{self.name} has no hook point {name!r}; {hint}", value=name)

    def logits(self, tokens: Tensor, hooks: Sequence[Hook] = ()) -> Tensor:
        """Logits ``[batch, pos, d_vocab]`` with the given forward hooks active for this call."""
        return self.run(tokens, hooks)

    def run(self, tokens: Tensor, hooks: Sequence[Hook] = (), *, grad: bool = False) -> Tensor:
        """Logits with forward hooks active for this call; with ``grad=True`` autograd records
        the pass (a hook may return a tensor that requires grad, e.g. a leaf to read the
        gradient at).  Hooks are removed afterwards whatever happens."""
        with torch.set_grad_enabled(grad), self.hooked(hooks):
            return self.bridge(tokens.to(self.device))

    @contextlib.contextmanager
    def hooked(self, hooks: Sequence[Hook]) -> Iterator[None]:
        """Register forward hooks for the duration of the block, and check none is left."""
        for name, _ in hooks:
            self.check_hook_name(name)
        try:
            for name, fn in hooks:
                self.bridge.add_hook(name, fn)
            yield
        finally:
            if hooks:  # a pass of its own adds none (reset_hooks visits every hook point)
                self.bridge.reset_hooks(including_permanent=False)
            left = self.leftover_hooks()
            if left:
                raise HookLeak(f"hooks still registered on {self.name} after a measurement: "
                               f"{left}; this is a bug in the measurement that added them", left)

    def leftover_hooks(self) -> list[str]:
        """Names of hook points that still have a forward or backward hook registered."""
        return [n for n, hp in self.bridge.hook_dict.items()
                if hp._forward_hooks or hp._backward_hooks or getattr(hp, "_forward_pre_hooks", None)]

    def remove_all_hooks(self) -> None:
        """Remove every hook (used by the plugin after a test that leaked one)."""
        self.bridge.reset_hooks(including_permanent=True)
        for hp in self.bridge.hook_dict.values():
            hp._forward_hooks.clear()
            hp._backward_hooks.clear()

    def split_run(self, tokens: Tensor, after_layer: int,
                  hooks: Sequence[Hook] = ()) -> tuple[Tensor, Tensor, Callable[[Tensor], Tensor]]:
        """One forward pass that also returns the residual after block ``after_layer`` and a
        function running only the later blocks (see :func:`neurospec.models.replay.split_run`)."""
        from neurospec.models.replay import split_run

        return split_run(self, tokens, after_layer, hooks)

    # -- layout and weights ------------------------------------------------------------
    @functools.cached_property
    def architecture(self) -> Architecture:
        """Layout facts exact shortcuts depend on (norms, gating, post-norms, soft-capping)."""
        return describe(self.bridge)

    @property
    def final_norm(self) -> Norm | None:
        """The final norm (effective weight, bias, eps); None when of an unknown form."""
        return self.architecture.final_norm

    def soft_cap(self, logits: Tensor) -> Tensor:
        """The model's final logit soft-capping (``cap * tanh(x / cap)``), if it has one."""
        cap = self.architecture.logit_softcap
        return logits if cap is None else torch.tanh(logits / cap) * cap

    def mlp_output(self, layer: int) -> Callable[[Tensor], Tensor]:
        """The map from MLP ``layer``'s neuron activations (``hook_post``) to what the MLP adds
        to the residual: the down projection, then the post-MLP norm where the model has one."""
        block = self.bridge.blocks[layer]
        down = block.mlp.out.original_component
        post = block.ln2_post.original_component if self.architecture.post_mlp_norm else None
        return down if post is None else (lambda a: post(down(a)))

    def embed_weight(self) -> Tensor:
        """``W_E`` as ``[d_vocab, d_model]``."""
        return self.bridge.embed.original_component.weight.detach()

    def unembed_bias(self) -> Tensor | None:
        bias = getattr(self.bridge.unembed.original_component, "bias", None)
        return None if bias is None else bias.detach()

    def nonfinite_weights(self) -> list[str]:
        """Names (as in the checkpoint) of parameters holding NaN or Inf."""
        return [n.replace("._original_component", "") for n, p in self.bridge.named_parameters()
                if p.is_floating_point() and not torch.isfinite(p).all()]

    def mlp_out_weight(self, layer: int) -> Tensor:
        """``W_out`` of MLP ``layer`` as ``[d_mlp, d_model]`` (the wrapped module's weight)."""
        return _as_in_out(self.bridge.blocks[layer].mlp.out.original_component)

    def attn_out_weight(self, layer: int) -> Tensor:
        """``W_O`` of attention ``layer`` as ``[n_heads * d_head, d_model]``."""
        return _as_in_out(self.bridge.blocks[layer].attn.o.original_component)

    def unembed_weight(self) -> Tensor:
        """``W_U`` as ``[d_model, d_vocab]``."""
        return _as_in_out(self.bridge.unembed.original_component)


def _as_in_out(module: Any) -> Tensor:
    """A projection's weight as ``[in, out]``: ``nn.Linear`` stores ``[out, in]``, GPT-2's
    ``Conv1D`` already ``[in, out]``."""
    weight = module.weight.detach()
    if weight.is_meta:
        raise UnsupportedArchitecture(
            f"the weights of {type(module).__name__} are offloaded (an accelerate device_map "
            f"with 'cpu' or 'disk' entries next to GPUs keeps them on the meta device); place "
            f"every layer on a GPU (device_map='auto' with enough GPU memory) or load on CPU",
            value=type(module).__name__)
    return weight if type(module).__name__ == "Conv1D" else weight.T
