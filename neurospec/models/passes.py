"""Forward passes over batches of documents, stated as data: what to change (edits), what to
read (reads) and whether to compute per-token losses.

A claim's corpus pass is a list of :class:`Job` (a batch and the passes to make over it).
Every backend runs the same jobs with the same meaning:

- the TransformerLens bridge runs them one batch at a time with its hooks (each edit and read
  is also an ordinary hook function, see :func:`run_by_hooks`);
- the nnsight backend runs them as one nnsight session (one request to NDIF), interpreting
  the edits and reads inside the trace with torch alone, so that nothing of neurospec's own
  code has to exist on the server, and only the reductions come back: the per-token losses
  and the activations read at the counted positions (never the logits).

Edits are the interventions measurements use on a corpus (a coordinate of a hook set to a
number or per-position values; a head's output set to a number or a vector).  Anything else
is a Python hook, which runs where the model is (``ModelBackend.run``) and is refused by a
remote backend by name.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import torch
from torch import Tensor

from neurospec.errors import HookNeverFired

# ``fn(activation, hook)``: the hook point's output (``hook`` is the hook point itself, which
# measurements ignore) -> a replacement activation, or None to leave it as it is.
HookFn = Callable[[Tensor, Any], "Tensor | None"]
Hook = tuple[str, HookFn]


class RunsHooks(Protocol):
    """What :func:`run_by_hooks` needs of a model (a part of ``ModelBackend``)."""

    def run(self, tokens: Tensor, hooks: Sequence[Hook] = (), *, grad: bool = False
            ) -> Tensor: ...


@dataclass(frozen=True, eq=False)
class SetColumn:
    """Set coordinate ``index`` of the last dimension of hook ``point`` to ``value`` at every
    position from ``first`` on: a number, or per-position values ``[batch, pos]``."""

    point: str
    index: int
    value: float | Tensor
    first: int

    def __call__(self, act: Tensor, hook: Any = None) -> Tensor:
        act = act.clone()
        if isinstance(self.value, Tensor):
            act[:, self.first:, self.index] = self.value[:, self.first:act.shape[1]].to(act)
        else:
            act[:, self.first:, self.index] = self.value
        return act


@dataclass(frozen=True, eq=False)
class SetHead:
    """Set head ``head`` of a per-head hook (``attn.hook_z``, ``[batch, pos, heads, d_head]``)
    to ``value`` at every position from ``first`` on: a number, or a vector ``[d_head]``."""

    point: str
    head: int
    value: float | Tensor
    first: int

    def __call__(self, act: Tensor, hook: Any = None) -> Tensor:
        act = act.clone()
        value = self.value.to(act) if isinstance(self.value, Tensor) else self.value
        act[:, self.first:, self.head] = value
        return act


@dataclass(frozen=True, eq=False)
class Put:
    """Replace the value of hook ``point`` by the one an earlier pass of the same job kept
    under ``slot`` (a :class:`Read` with ``keep=slot``): path patching's frozen components.
    On a remote backend the value never leaves the server."""

    point: str
    slot: str


Edit = SetColumn | SetHead | Put


def is_edit(x: Any) -> bool:
    """Whether ``x`` is an edit stated as data (else a ``(hook name, fn)`` Python hook)."""
    return isinstance(x, (SetColumn, SetHead, Put))


def as_hooks(items: Sequence[Any], slots: dict[str, Tensor] | None = None) -> list[Hook]:
    """Edits and ``(hook name, fn)`` pairs as hooks (an edit is its own hook function; a
    :class:`Put` takes its value from ``slots``)."""
    out: list[Hook] = []
    for x in items:
        if isinstance(x, Put):
            if slots is None or x.slot not in slots:
                raise ValueError(f"Put({x.point!r}, {x.slot!r}): no earlier pass of the job "
                                 f"kept a value under {x.slot!r}")
            out.append((x.point, _putter(slots[x.slot])))
        else:
            out.append((x.point, x) if is_edit(x) else x)
    return out


def _putter(value: Tensor) -> HookFn:
    def fn(act: Tensor, hook: Any = None) -> Tensor:
        return value.to(act)
    return fn


@dataclass(frozen=True)
class Read:
    """The value of hook ``point`` at the counted positions (``first`` up to each document's
    length), all documents of the batch concatenated: ``[counted, width]``, float32, after the
    pass's edits at the same point; ``columns`` keeps only those coordinates; ``whole`` keeps
    the value as the hook has it (all positions, e.g. an attention pattern ``[b, heads, q, k]``)."""

    point: str
    columns: tuple[int, ...] | None = None
    whole: bool = False  # the whole value ``[batch, ...]`` (every position; a pattern's shape)
    head: int | None = None  # of a per-head hook (``attn.hook_z``): that head only
    keep: str | None = None  # kept for a later pass's Put under this slot, not returned


@dataclass(frozen=True)
class Pass:
    """One forward pass over a batch: ``edits`` applied, ``reads`` kept, per-token losses
    computed when ``losses`` (a pass with neither edits nor losses stops once its reads are
    done: later blocks and the unembedding are not computed)."""

    edits: tuple[Edit | Hook, ...] = ()  # a (hook name, fn) pair runs on local models only
    reads: tuple[Read, ...] = ()
    losses: bool = True

    @property
    def python_hooks(self) -> list[Hook]:
        return [e for e in self.edits if not is_edit(e)]  # type: ignore[misc]

    @property
    def stops_early(self) -> bool:
        return not self.losses and not self.edits and bool(self.reads)


@dataclass(frozen=True)
class Job:
    """A batch of documents (``ids [b, pos]`` right-padded, ``lengths [b]``, counted positions
    from ``first``) and the passes to make over it."""

    ids: Tensor
    lengths: Tensor
    first: int
    passes: tuple[Pass, ...]


@dataclass
class PassOutput:
    """What one pass gives back.

    Attributes:
        losses: next-token losses of every document, concatenated: ``lengths - 1`` values per
            document (float64); None when the pass computed none.
        reads: per read point, ``[counted positions of all documents, width]`` (float32).
    """

    losses: Tensor | None
    reads: dict[str, Tensor] = field(default_factory=dict)


def token_losses(logits: Tensor, ids: Tensor) -> Tensor:
    """Next-token cross-entropy ``[b, pos-1]`` (float32 logsumexp, then float64)."""
    logits = logits[:, :-1].float()
    lse = torch.logsumexp(logits, dim=-1)
    picked = logits.gather(-1, ids[:, 1:, None].to(logits.device))[..., 0]
    return (lse - picked).double()


def counted(values: Tensor, lengths: Tensor, first: int) -> Tensor:
    """``values [b, pos, ...]`` at positions ``first <= p < length`` of each row, concatenated."""
    pos = torch.arange(values.shape[1], device=values.device)[None, :]
    keep = (pos >= first) & (pos < lengths.to(values.device)[:, None])
    return values[keep]


class _ReadsDone(Exception):
    """Raised by the last read of a pass that stops early."""


def _reader(store: dict[str, Tensor], read: Read, stop_at: int
            ) -> Callable[[Tensor, Any], None]:
    """A hook keeping ``read``'s value in ``store`` (and ending the pass once ``stop_at``
    reads are kept, when that is not 0)."""
    def fn(act: Tensor, hook: Any = None) -> None:
        value = act if read.head is None else act[..., read.head, :]
        value = value if read.columns is None else value[..., list(read.columns)]
        store[read.keep or read.point] = value.detach().clone()
        if stop_at and len(store) == stop_at:
            raise _ReadsDone
    return fn


def run_by_hooks(model: RunsHooks, jobs: Sequence[Job]) -> list[list[PassOutput]]:
    """Run ``jobs`` through ``model.run`` with each edit and read as a hook (the bridge's way,
    and the reference every other implementation of ``run_passes`` must equal)."""
    results: list[list[PassOutput]] = []
    for job in jobs:
        outs: list[PassOutput] = []
        slots: dict[str, Tensor] = {}  # values kept for later passes of this job
        for p in job.passes:
            store: dict[str, Tensor] = {}
            names = [r.point for r in p.reads]
            stop_at = len(names) if p.stops_early else 0
            hooks = as_hooks(p.edits, slots)
            hooks += [(r.point, _reader(slots if r.keep else store, r, stop_at))
                      for r in p.reads]
            try:
                logits: Tensor | None = model.run(job.ids, hooks)
            except _ReadsDone:
                logits = None
            losses = None
            if p.losses:
                assert logits is not None
                losses = counted(token_losses(logits, job.ids)[..., None], job.lengths - 1, 0)
                losses = losses[..., 0].cpu()
            reads = {r.point: (store[r.point].float().cpu() if r.whole else
                               counted(store[r.point], job.lengths, job.first).float().cpu())
                     for r in p.reads if r.keep is None}
            outs.append(PassOutput(losses, reads))
        results.append(outs)
    return results


def check_reads(passes: Sequence[Pass]) -> None:
    """Each read point at most once per pass (a pass returns one value per point)."""
    for p in passes:
        names = [r.point for r in p.reads]
        if len(set(names)) != len(names):
            raise ValueError(f"a pass reads a hook point twice: {names}")


class FireCount:
    """Counts the calls of each hook of a run, to tell a hook that never fired (a hook name
    the model accepts but never calls would otherwise leave a measurement silently
    un-intervened: TransformerLens 4 accepts some such names)."""

    def __init__(self, hooks: Sequence[Hook]) -> None:
        self.names = [name for name, _ in hooks]
        self.calls = [0] * len(hooks)
        self.hooks: list[Hook] = [(name, self._counted(k, fn))
                                  for k, (name, fn) in enumerate(hooks)]

    def _counted(self, k: int, fn: Callable[[Tensor, Any], Tensor | None]
                 ) -> Callable[[Tensor, Any], Tensor | None]:
        def counted_fn(act: Tensor, hook: Any = None) -> Tensor | None:
            self.calls[k] += 1
            return fn(act, hook)
        return counted_fn

    def check(self, model_name: str) -> None:
        silent = sorted({n for n, c in zip(self.names, self.calls) if c == 0})
        if silent:
            raise never_fired(model_name, silent)


def never_fired(model_name: str, names: Sequence[str]) -> HookNeverFired:
    shown = ", ".join(repr(n) for n in names)
    return HookNeverFired(
        f"{model_name}: the hook point{'s' if len(names) > 1 else ''} {shown} never fired "
        f"during the pass, so the intervention or read installed there did nothing and the "
        f"measurement would be of the un-intervened model. Use a hook point the forward pass "
        f"runs through (e.g. 'blocks.L.hook_attn_out', 'blocks.L.hook_mlp_out', "
        f"'blocks.L.mlp.hook_post', 'blocks.L.attn.hook_z')", list(names))
