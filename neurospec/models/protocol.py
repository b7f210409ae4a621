"""What a measurement asks of a model: the one interface every backend implements.

:mod:`neurospec.measure` and :mod:`neurospec.claims` see a model only through
:class:`ModelBackend`.  TransformerLens's bridge (:class:`neurospec.models.bridge.Model`) is
its first implementation; another backend (nnsight, a remote one) implements the same
methods with the same meaning, or refuses a claim by name (``UnsupportedArchitecture`` with
the reason).

Hook names are the interface's vocabulary: TransformerLens's (``blocks.{L}.mlp.hook_post``,
``blocks.{L}.attn.hook_z``, ``blocks.{L}.hook_resid_pre`` / ``_post``,
``blocks.{L}.hook_mlp_out``, ``blocks.{L}.hook_attn_out``, ``ln_final.hook_scale``,
``blocks.{L}.attn.hook_pattern``, and the MLP's ``hook_in`` / ``hook_pre`` /
``hook_pre_linear`` / ``hook_out``).  A hook is ``(name, fn)`` where ``fn(activation, hook)``
returns a replacement activation or None.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from torch import Tensor

if TYPE_CHECKING:
    from neurospec.models.architecture import Architecture, Norm
    from neurospec.models.cache import ByteLRU

Hook = tuple[str, Callable[[Tensor, Any], "Tensor | None"]]


@runtime_checkable
class ModelBackend(Protocol):
    """A loaded model as measurements use it.

    Attributes:
        name, checkpoint, fingerprint, fingerprint_parts, prepend_bos, dtype, device: what
            every record says about the model it was measured on (see :meth:`info`).
        n_layers, d_model, d_mlp, n_heads, d_vocab, n_ctx: its shape (``n_ctx``: the
            context documents are cut to).
        cache: the byte-bounded cache of measurements shared by claims on this model.
        batch_tokens: tokens per forward batch (a memory bound).
    """

    name: str
    checkpoint: str | None
    fingerprint: str
    fingerprint_parts: dict[str, str]
    prepend_bos: bool
    dtype: str
    device: str
    compatibility_mode: bool
    n_layers: int
    d_model: int
    d_mlp: int
    n_heads: int
    d_vocab: int
    n_ctx: int
    cache: ByteLRU
    batch_tokens: int

    # -- what records say -------------------------------------------------------------
    def info(self) -> dict[str, Any]:
        """The settings that change numbers, as recorded in every result."""
        ...

    # -- tokens -----------------------------------------------------------------------
    @property
    def bos_token_id(self) -> int: ...

    def encode(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids of each text, without special tokens."""
        ...

    def str_tokens(self, ids: Sequence[int]) -> list[str]:
        """Each token id as the text it stands for."""
        ...

    # -- running ----------------------------------------------------------------------
    def check_hook_name(self, name: str) -> str:
        """``name`` if the model has that hook point, else an error suggesting the closest."""
        ...

    def run(self, tokens: Tensor, hooks: Sequence[Hook] = (), *, grad: bool = False) -> Tensor:
        """Logits ``[batch, pos, d_vocab]`` with ``hooks`` active for this call (and autograd
        recording with ``grad``); every hook is removed afterwards, whatever happens."""
        ...

    def logits(self, tokens: Tensor, hooks: Sequence[Hook] = ()) -> Tensor:
        """:meth:`run` without gradients."""
        ...

    def hooked(self, hooks: Sequence[Hook]) -> AbstractContextManager[None]:
        """Hooks registered for a block, and checked removed after it."""
        ...

    def split_run(self, tokens: Tensor, after_layer: int, hooks: Sequence[Hook] = ()
                  ) -> tuple[Tensor, Tensor, Callable[[Tensor], Tensor]]:
        """One pass that also returns the residual after block ``after_layer`` and a function
        running only the later blocks (and the unembedding) on a replacement of it."""
        ...

    def leftover_hooks(self) -> list[str]:
        """Hook points that still hold a hook (a leak)."""
        ...

    def remove_all_hooks(self) -> None: ...

    def preflight(self, longest: int, what: str) -> None:
        """Refuse a forward pass over a document of ``longest`` tokens that would not fit."""
        ...

    # -- layout and weights -----------------------------------------------------------
    @property
    def architecture(self) -> Architecture: ...

    @property
    def final_norm(self) -> Norm | None: ...

    def soft_cap(self, logits: Tensor) -> Tensor: ...

    def mlp_output(self, layer: int) -> Callable[[Tensor], Tensor]:
        """The map from MLP ``layer``'s neuron activations to what it adds to the residual."""
        ...

    def embed_weight(self) -> Tensor:
        """``W_E`` as ``[d_vocab, d_model]``."""
        ...

    def unembed_weight(self) -> Tensor:
        """``W_U`` as ``[d_model, d_vocab]``."""
        ...

    def unembed_bias(self) -> Tensor | None: ...

    def mlp_out_weight(self, layer: int) -> Tensor:
        """``W_out`` of MLP ``layer`` as ``[d_mlp, d_model]``."""
        ...

    def attn_out_weight(self, layer: int) -> Tensor:
        """``W_O`` of attention ``layer`` as ``[n_heads * d_head, d_model]``."""
        ...

    def nonfinite_weights(self) -> list[str]: ...

    def weights_state(self) -> tuple[Any, ...]:
        """A cheap token of the weights' state (changes when they change in place)."""
        ...

    def weights_digest(self) -> str:
        """The weights' digest now (the ``weights`` part of the fingerprint when unchanged)."""
        ...
