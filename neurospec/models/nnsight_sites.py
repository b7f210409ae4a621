"""What the nnsight backend does at the sites of a pass: a corpus pass planned as plain data
(:func:`plan`), the session block that runs it, locally or on NDIF (:func:`session`: torch,
numbers, strings and envoys only), and the views in TransformerLens's shapes that Python hook
functions see in a local pass (:class:`Views`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import torch
from torch import Tensor

from neurospec.errors import InvalidArgument, UnsupportedArchitecture
from neurospec.models.hf_layout import Point, PointMap
from neurospec.models.passes import Job, PassOutput, Put, SetColumn, SetHead


class Sites(Protocol):
    """What planning and views read from the model (:class:`NNsightModel` has it)."""

    points: PointMap
    device: str
    n_heads: int

    def envoy(self, path: str) -> Any: ...

    def writable(self, name: str) -> Point: ...

    def eps(self, pt: Point) -> float: ...

    def centred(self, pt: Point) -> bool: ...


@dataclass
class HookRef:
    """What a hook function receives as ``hook`` (TransformerLens passes its HookPoint)."""

    name: str


def plan(self: Sites, jobs: Sequence[Job]) -> tuple[list[tuple[Any, ...]], list[list[str]]]:
    """Each pass as plain data the session block interprets: sites in forward order,
    each with its edits and reads (tensors, numbers and strings only)."""
    work: list[tuple[Any, ...]] = []
    names: list[list[str]] = []
    for j, job in enumerate(jobs):
        ids = job.ids.to(self.device)
        lengths = job.lengths.to(self.device)
        batch, pos = int(ids.shape[0]), int(ids.shape[1])
        for p in job.passes:
            by_site: dict[tuple[str, str], list[tuple[Any, ...]]] = {}
            order: dict[tuple[str, str], int] = {}
            for e in p.edits:
                op: tuple[Any, ...]
                if not isinstance(e, (Put, SetColumn, SetHead)):  # pragma: no cover
                    raise TypeError(f"{e!r} is a Python hook: run_by_hooks runs those")
                pt = self.writable(e.point)
                if isinstance(e, Put):
                    op = ("put", pt.view, pt.lo, pt.hi, None, None, 0, e.slot)
                else:
                    where = e.index if isinstance(e, SetColumn) else e.head
                    value = e.value.to(self.device) if isinstance(e.value, Tensor) \
                        else float(e.value)
                    kind = "col" if isinstance(e, SetColumn) else "head"
                    op = (kind, pt.view, pt.lo, pt.hi, int(where), value, int(e.first), "")
                by_site.setdefault(pt.site, []).append((op, None))
                order[pt.site] = pt.order
            for r in p.reads:
                pt = self.points.point(r.point)
                cols = None if r.columns is None else list(r.columns)
                kind = "keep" if r.keep else "whole" if r.whole else "read"
                if r.head is not None:  # one head of a per-head point, then the columns
                    kind += f"@{int(r.head)}"
                op = (kind, pt.view, pt.lo, pt.hi, cols, self.eps(pt), self.centred(pt),
                      r.keep or "")
                by_site.setdefault(pt.site, []).append((op, None if r.keep else r.point))
                order[pt.site] = pt.order
            sites = []
            read_names = []
            for site in sorted(by_site, key=lambda s: order[s]):
                ops = [op for op, _ in by_site[site]]
                read_names += [name for _, name in by_site[site] if name is not None]
                edited = any(op[0] in ("col", "head", "put") for op in ops)
                sites.append((self.envoy(site[0]), site[1], ops, edited))
            work.append((j, ids, lengths, int(job.first), batch, pos, self.n_heads, sites,
                         bool(p.losses), bool(p.stops_early)))
            names.append(read_names)
    return work, names


class Views:
    """Applies Python hook functions to one site's value, in TransformerLens's shapes."""

    def __init__(self, batch: int, pos: int, n_heads: int, model: Sites) -> None:
        self.batch, self.pos, self.n_heads, self.model = batch, pos, n_heads, model

    def apply(self, raw: Any, fns: list[tuple[Point, Callable[..., Any]]]) -> Tensor | None:
        x = raw
        changed = False
        for pt, fn in fns:
            view = self._view(x, raw, pt)
            out = fn(view, HookRef(pt.name))
            if out is None:
                continue
            if not pt.writable:
                raise InvalidArgument(f"a hook at {pt.name} returned a replacement, but that "
                                      f"point is read-only on the nnsight backend", pt.name)
            x = self._put(x, out, pt)
            changed = True
        return x if changed else None

    def _view(self, x: Any, raw: Any, pt: Point) -> Tensor:
        if pt.view == "pattern":
            pattern = raw[1]
            if pattern is None:
                raise UnsupportedArchitecture(
                    f"{pt.name}: the attention weights are not returned by this attention "
                    f"implementation; load the model with attn_implementation='eager'")
            return pattern  # type: ignore[no-any-return]
        if pt.view == "heads":
            return x.reshape(self.batch, self.pos, self.n_heads, -1)  # type: ignore[no-any-return]
        if pt.view == "slice":
            return x[..., pt.lo:pt.hi]  # type: ignore[no-any-return]
        if pt.view == "scale":
            v = x.float()
            if self.model.centred(pt):
                v = v - v.mean(-1, keepdim=True)
            return (v.pow(2).mean(-1, keepdim=True) + self.model.eps(pt)).sqrt().to(x.dtype)  # type: ignore[no-any-return]
        return x  # type: ignore[no-any-return]

    def _put(self, x: Tensor, out: Tensor, pt: Point) -> Tensor:
        if pt.view == "heads":
            return out.reshape(x.shape)
        if pt.view == "slice":
            whole = torch.cat([x[..., :pt.lo], out.to(x), x[..., pt.hi:]], dim=-1)
            return whole
        return out


def session(nn: Any, backend: Any, work: list[tuple[Any, ...]]) -> list[Any]:
    """Run every pass of ``work`` in one nnsight session; return, per pass, its per-token
    losses (or None) and its reads.  The block below uses only torch, numbers, strings and
    envoys: it is what NDIF runs (and the simulation checks).  Statements inside the
    session body stay one per line before the nested trace (nnsight locates a nested
    ``with`` by its source line)."""
    with nn.session(backend=backend):
        results = list()
        slots: dict[int, Any] = dict()
        current = -1
        for job, ids, lengths, first, B, P, H, sites, want_losses, stop in work:
            if job != current:
                slots = dict()
                current = job
            with nn.trace(ids) as tracer:
                pos = torch.arange(P, device=ids.device)[None, :]
                keep = (pos >= first) & (pos < lengths[:, None])
                reads = list()
                for env, io, ops, edited in sites:
                    raw = env.input if io == "input" else env.output
                    x = raw.clone() if edited else raw
                    for kind, view, lo, hi, a, b, c, slot in ops:
                        if view == "pattern":
                            v = raw[1]
                        elif view == "heads":
                            v = x.reshape(B, P, H, -1)
                        elif view == "slice":
                            v = x[..., lo:hi]
                        elif view == "scale":
                            s = x.float()
                            if c:
                                s = s - s.mean(-1, keepdim=True)
                            v = (s.pow(2).mean(-1, keepdim=True) + b).sqrt().to(x.dtype)
                        else:
                            v = x.reshape(B, P, -1)
                        if kind == "col" and isinstance(b, torch.Tensor):
                            v[:, c:, a] = b[:, c:P].to(v)
                        elif kind == "col":
                            v[:, c:, a] = b
                        elif kind == "head" and isinstance(b, torch.Tensor):
                            v[:, c:, a] = b.to(v)
                        elif kind == "head":
                            v[:, c:, a] = b
                        elif kind == "put":
                            v[...] = slots[slot].reshape(v.shape).to(v)
                        elif kind.startswith("keep"):
                            slots[slot] = v.detach().clone()
                        else:
                            w = v
                            if "@" in kind:
                                w = w[..., int(kind.split("@")[1]), :]
                            if a is not None:
                                w = w[..., a]
                            if kind.startswith("whole"):
                                reads.append(w.detach().float().cpu())
                            else:
                                reads.append(w[keep].detach().float().cpu())
                    if edited and io == "input":
                        env.input = x.reshape(raw.shape)
                    elif edited:
                        env.output = x.reshape(raw.shape)
                if want_losses:
                    lg = nn.output.logits.reshape(B, P, -1)[:, :-1].float()
                    tgt = ids[:, 1:, None]
                    tl = (torch.logsumexp(lg, -1) - lg.gather(-1, tgt)[..., 0]).double()
                    valid = pos[:, :-1] < (lengths[:, None] - 1)
                    results.append((tl[valid].detach().cpu(), reads))
                else:
                    results.append((None, reads))
                if stop:
                    tracer.stop()
        results.save()  # type: ignore[attr-defined]  # nnsight gives every object .save
    return results


def unflatten(jobs: Sequence[Job], work: list[tuple[Any, ...]], names: list[list[str]],
               flat: list[Any]) -> list[list[PassOutput]]:
    out: list[list[PassOutput]] = []
    k = 0
    for job in jobs:
        row = []
        for _ in job.passes:
            losses, reads = flat[k]
            row.append(PassOutput(losses, dict(zip(names[k], reads))))
            k += 1
        out.append(row)
    return out
