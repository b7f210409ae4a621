"""The nnsight backend: the same measurements on a Hugging Face model driven through nnsight,
locally or on NDIF (``remote=True``), or through nnsight's local simulation of a remote run
(``remote="local"``).

With :mod:`~neurospec.models.nnsight_sites`, :mod:`~neurospec.models.ndif` and
:mod:`~neurospec.models.hf_layout`, the only code that touches nnsight.  It implements
:class:`~neurospec.models.protocol.ModelBackend`:

- hook names are TransformerLens's, located in the Hugging Face model by
  :class:`~neurospec.models.hf_layout.PointMap` (an unmapped name is refused by name);
- :meth:`NNsightModel.run_passes` (corpus passes: the edits and reads of
  :mod:`neurospec.models.passes`) is one nnsight session whose block uses torch alone, so it
  runs unchanged on NDIF; only per-token losses and the activations read at counted positions
  come back;
- :meth:`NNsightModel.run` (a pass with Python hook functions: gradients, splices, captures of
  a whole layer) runs locally only; a remote model refuses it with the measurement's name;
- weights are read from the local model; a remote model refuses weight reads (NDIF would
  send a copy of every parameter read).
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import torch
from torch import Tensor

from neurospec.errors import (
    InvalidArgument,
    RemoteUnsupported,
    UnsupportedArchitecture,
)
from neurospec.models import nnsight_sites as sites
from neurospec.models.architecture import Architecture, Norm, identify_norm
from neurospec.models.bridge import _as_in_out, default_batch_tokens
from neurospec.models.cache import ByteLRU
from neurospec.models.hf_layout import Point, PointMap
from neurospec.models.ndif import Remote, RequestLog
from neurospec.models.passes import (
    Job,
    PassOutput,
    Put,
    SetColumn,
    SetHead,
    never_fired,
    token_losses,
)
from neurospec.models.protocol import Hook
from neurospec.models.tokenizer import HFTokens


class NNsightModel(HFTokens):
    """A Hugging Face causal LM driven through nnsight (see module docstring).

    Attributes:
        nn: the ``nnsight.TransformersModel``.
        hf: the Hugging Face model itself (weights, config).
        remote: where traces run (:class:`Remote`).
        revision: the hub revision a remote model was asked for (recorded with results).
    """

    backend = "nnsight"

    def __init__(self, nn: Any, *, name: str, source: str, fingerprint: str,
                 fingerprint_parts: dict[str, str], weight_tensors: dict[str, Tensor],
                 prepend_bos: bool, dtype: str, device: str, checkpoint: str | None,
                 remote: Remote | None = None, revision: str | None = None,
                 cache_bytes: int = 2 << 30) -> None:
        self.nn = nn
        self.hf = nn._module
        self.tokenizer = nn.tokenizer
        self.name = name
        self.source = source
        self.fingerprint = fingerprint
        self.fingerprint_parts = dict(fingerprint_parts)
        self.weight_tensors = weight_tensors
        self.prepend_bos = prepend_bos
        self.dtype = dtype
        self.device = device
        self.checkpoint = checkpoint
        self.compatibility_mode = False
        self.remote = remote or Remote()
        self.revision = revision
        self.points = PointMap(self.hf)
        cfg = self.hf.config
        self.n_layers = self.points.n_layers
        self.n_heads = self.points.n_heads
        self.d_mlp = self.points.d_mlp
        self.d_model = int(cfg.hidden_size)
        self.d_vocab = int(self.hf.get_output_embeddings().weight.shape[0])
        self.n_ctx = int(getattr(cfg, "max_position_embeddings", None)
                         or getattr(cfg, "n_positions", 0) or 2048)
        self.cache = ByteLRU(cache_bytes)
        self.batch_tokens = default_batch_tokens(device, self.d_vocab)

    @property
    def narrow_reads(self) -> bool:
        """Whether measurements should read only what a claim needs (a remote model: every
        value read crosses the network)."""
        return self.remote.on

    def __repr__(self) -> str:
        where = {False: "local", "local": "simulated remote"}.get(self.remote.mode, "NDIF")
        return (f"NNsightModel({self.name!r}, {where}, layers={self.n_layers}, "
                f"fingerprint={self.fingerprint})")

    # -- what results record -------------------------------------------------------------
    def info(self) -> dict[str, Any]:
        import nnsight

        remote: str | None = None
        if self.remote.mode == "local":
            remote = "local simulation"
        elif self.remote.mode:
            remote = self.remote.host or "NDIF"
        return {"name": self.name, "checkpoint": self.checkpoint,
                "fingerprint": self.fingerprint,
                "fingerprint_parts": dict(self.fingerprint_parts), "context": self.n_ctx,
                "prepend_bos": self.prepend_bos, "dtype": self.dtype, "device": self.device,
                "compatibility_mode": False, "backend": "nnsight", "remote": remote,
                "revision": self.revision, "nnsight": str(nnsight.__version__)}

    def weights_state(self) -> tuple[Any, ...]:
        return tuple((t.data_ptr(), t._version) for t in self.weight_tensors.values())

    def weights_digest(self) -> str:
        from neurospec.models.fingerprint import weights_digest

        if not self.weight_tensors:  # a remote model: its weights are the revision's
            return self.fingerprint_parts.get("weights", "")
        return weights_digest(self.weight_tensors)

    def preflight(self, longest: int, what: str) -> None:
        if self.remote.mode is True:
            return  # the server's memory, not ours
        from neurospec.models.resources import forward_fits

        forward_fits(self, longest, what)

    # -- hook points ---------------------------------------------------------------------
    def check_hook_name(self, name: str) -> str:
        self.points.point(name)
        return name

    def envoy(self, path: str) -> Any:
        return self.nn.get(path) if path else self.nn

    # -- corpus passes (local and remote) ------------------------------------------------
    def run_passes(self, jobs: Sequence[Job], what: str = "corpus pass"
                   ) -> list[list[PassOutput]]:
        """Run ``jobs`` (see :mod:`neurospec.models.passes`) as one nnsight session."""
        from neurospec.models import ndif
        from neurospec.models.passes import run_by_hooks

        python = [h for job in jobs for p in job.passes for h in p.python_hooks]
        if python and self.remote.on:
            raise self._no_python(python)
        if python:  # Python hook functions: one trace per pass, here
            return run_by_hooks(self, jobs)
        work, names = sites.plan(self, jobs)
        if not work:
            return [[] for _ in jobs]
        try:
            with ndif.running(self, what, traces=len(work)) as backend:
                flat = sites.session(self.nn, backend, work)
        except Exception as exc:
            points = [r.point for job in jobs for p in job.passes for r in p.reads]
            points += [e.point for job in jobs for p in job.passes for e in p.edits
                       if isinstance(e, (SetColumn, SetHead, Put))]
            raise self._never_fired(exc, points) from None
        return sites.unflatten(jobs, work, names, flat)

    def writable(self, name: str) -> Point:
        pt = self.points.point(name)
        if not pt.writable:
            raise InvalidArgument(f"{name} is read-only on the nnsight backend (it is computed "
                                  f"from the model's values, not passed on); intervene on "
                                  f"the point it is computed from", value=name)
        return pt

    def eps(self, pt: Point) -> float:
        if pt.view != "scale":
            return 0.0
        norm = self.hf.get_submodule(pt.module)
        return float(getattr(norm, "eps", getattr(norm, "variance_epsilon", 0.0)))

    def centred(self, pt: Point) -> bool:
        if pt.view != "scale":
            return False
        norm = self.architecture.final_norm
        if norm is None:
            raise UnsupportedArchitecture(
                f"{self.name}: its final norm is of an unknown form, so ln_final.hook_scale "
                f"cannot be computed from its input", value=pt.name)
        return norm.centred

    # -- passes with Python hook functions (local only) ----------------------------------
    def run(self, tokens: Tensor, hooks: Sequence[Hook] = (), *, grad: bool = False) -> Tensor:
        """Logits with ``hooks`` (Python functions) applied in one trace; local models only."""
        from neurospec.models.passes import as_hooks

        hooks = as_hooks(hooks)
        if self.remote.on:
            raise self._no_python(hooks)
        plan: dict[tuple[str, str], list[tuple[Point, Callable[..., Any]]]] = {}
        for name, fn in hooks:
            pt = self.points.point(name)
            plan.setdefault(pt.site, []).append((pt, fn))
        by_site = sorted(plan.items(), key=lambda kv: kv[1][0][0].order)
        ids = tokens.to(self.device)
        batch, pos = int(ids.shape[0]), int(ids.shape[1])
        n_heads = self.n_heads
        steps = [(self.envoy(site[0]), site[1], fns) for site, fns in by_site]
        views = sites.Views(batch, pos, n_heads, self)
        with torch.set_grad_enabled(grad):
            try:
                with self.nn.trace(ids):
                    for env, io, fns in steps:
                        raw = env.input if io == "input" else env.output
                        new = views.apply(raw, fns)
                        if new is not None and io == "input":
                            env.input = new
                        elif new is not None:
                            env.output = new
                    logits = self.nn.output.logits.save()
            except Exception as exc:
                raise self._never_fired(exc, [n for n, _ in hooks]) from None
        out: Tensor = logits
        return out

    def logits(self, tokens: Tensor, hooks: Sequence[Hook] = ()) -> Tensor:
        return self.run(tokens, hooks)

    @contextlib.contextmanager
    def hooked(self, hooks: Sequence[Hook]) -> Iterator[None]:
        raise UnsupportedArchitecture(
            "the nnsight backend has no hooks that stay registered across calls; pass the "
            "hooks to model.run(tokens, hooks) (each call applies them for that pass)")
        yield  # pragma: no cover

    def split_run(self, tokens: Tensor, after_layer: int, hooks: Sequence[Hook] = ()
                  ) -> tuple[Tensor, Tensor, Callable[[Tensor], Tensor]]:
        """One pass that also returns the residual after block ``after_layer`` and a function
        replaying only the later blocks (torch hooks on the Hugging Face blocks, as the
        bridge does it); local models only."""
        if self.remote.on:
            raise RemoteUnsupported(
                f"{self.name}: replaying the later blocks on many stacked residuals (the "
                f"one-pass sweep) runs on the model's own modules here; a remote run "
                f"measures each unit with its own pass instead")
        from neurospec.models.replay import replay_blocks

        layers = self.hf.get_submodule(self.points.layout.layers)
        blocks = [layers[k] for k in range(after_layer + 1, self.n_layers)]
        norm = self.hf.get_submodule(self.points.layout.ln_final)
        head = self.hf.get_output_embeddings()
        cap = self.architecture.logit_softcap

        def finish(h: Tensor) -> Tensor:
            out = head(norm(h))
            return out if cap is None else torch.tanh(out / cap) * cap

        return replay_blocks(lambda: self.logits(tokens, hooks), blocks, layers[-1], finish)

    def leftover_hooks(self) -> list[str]:
        return [n for n, m in self.hf.named_modules()
                if m._forward_hooks or m._forward_pre_hooks or m._backward_hooks]

    def remove_all_hooks(self) -> None:
        for m in self.hf.modules():
            m._forward_hooks.clear()
            m._forward_pre_hooks.clear()
            m._backward_hooks.clear()

    # -- layout and weights --------------------------------------------------------------
    @functools.cached_property
    def architecture(self) -> Architecture:
        cfg = self.hf.config
        lay = self.points.layout
        norm = self.hf.get_submodule(lay.ln_final)
        cap = getattr(cfg, "final_logit_softcapping", None)
        n_kv = getattr(cfg, "num_key_value_heads", None) or self.n_heads
        return Architecture(
            model_type=str(cfg.model_type),
            final_norm=identify_norm(norm) if self.remote.mode is not True else None,
            final_norm_module=type(norm).__name__,
            gated_mlp=lay.gated,
            parallel_residual=bool(getattr(cfg, "use_parallel_residual", False)),
            post_attn_norm=lay.post_attn is not None,
            post_mlp_norm=lay.post_mlp is not None,
            logit_softcap=float(cap) if cap else None,
            n_heads=self.n_heads, n_key_value_heads=int(n_kv),
            tied_embeddings=bool(getattr(cfg, "tie_word_embeddings", False)))

    @property
    def final_norm(self) -> Norm | None:
        return self.architecture.final_norm

    def soft_cap(self, logits: Tensor) -> Tensor:
        cap = self.architecture.logit_softcap
        return logits if cap is None else torch.tanh(logits / cap) * cap

    def _module(self, path: str, what: str) -> Any:
        if self.remote.on:
            raise RemoteUnsupported(
                f"{self.name}: {what} would be read from the weights, which a remote model "
                f"keeps on the server (NDIF sends a copy of every parameter read); claims "
                f"that need weights run on a local copy of the model")
        return self.hf.get_submodule(path)

    def mlp_output(self, layer: int) -> Callable[[Tensor], Tensor]:
        lay = self.points.layout
        base = f"{lay.layers}.{layer}"
        down = self._module(f"{base}.{lay.down}", f"MLP {layer}'s output map")
        if lay.post_mlp is None:
            return down  # type: ignore[no-any-return]
        post = self.hf.get_submodule(f"{base}.{lay.post_mlp}")

        def through_norm(a: Tensor) -> Tensor:
            out: Tensor = post(down(a))
            return out
        return through_norm

    def embed_weight(self) -> Tensor:
        w: Tensor = self._module(self.points.embed, "W_E").weight.detach()
        return w

    def unembed_weight(self) -> Tensor:
        return _as_in_out(self._module(self.points.unembed, "W_U"))

    def unembed_bias(self) -> Tensor | None:
        bias = getattr(self._module(self.points.unembed, "the unembedding bias"),
                       "bias", None)
        return None if bias is None else bias.detach()

    def mlp_out_weight(self, layer: int) -> Tensor:
        lay = self.points.layout
        return _as_in_out(self._module(f"{lay.layers}.{layer}.{lay.down}", f"W_out of MLP {layer}"))

    def attn_out_weight(self, layer: int) -> Tensor:
        lay = self.points.layout
        return _as_in_out(self._module(f"{lay.layers}.{layer}.{lay.o}",
                                       f"W_O of attention {layer}"))

    def nonfinite_weights(self) -> list[str]:
        if self.remote.on:
            return []
        return [n for n, p in self.hf.named_parameters()
                if p.is_floating_point() and not torch.isfinite(p).all()]

    def _never_fired(self, exc: Exception, names: list[str]) -> Exception:
        """nnsight's error for a module access the forward pass never reached, as
        neurospec's (naming the hook points at that module), else ``exc`` itself."""
        text = str(exc)
        if "was requested but the model already ran past it" not in text:
            return exc
        hit = [n for n in dict.fromkeys(names) if f"model.{self.points.point(n).module}." in text]
        return never_fired(self.name, hit or list(dict.fromkeys(names)))

    def _no_python(self, hooks: Sequence[Hook]) -> RemoteUnsupported:
        fns = sorted({f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', fn)}"
                      for _, fn in hooks}) or ["a pass returning the full logits"]
        where = sorted({name for name, _ in hooks})
        return RemoteUnsupported(
            f"{self.name} runs remotely, and this measurement needs neurospec's own Python "
            f"code inside the forward pass ({', '.join(fns)} at "
            f"{', '.join(where) or 'the logits'}) "
            f"or the full logits back, which NDIF does not run or send; the claims that run "
            f"remotely are the activation and ablation claims (their passes are declared as "
            f"data). Run this claim on a local copy of the model (remote=False)",
            value=where)


__all__ = ["NNsightModel", "Remote", "RequestLog", "token_losses"]
