"""Preflights: what a forward pass will need, checked against what the machine has, before
it runs.  A long-context model (``max_position_embeddings`` of a million) over a long
document needs attention scores of heads x tokens x tokens per layer: the run must stop
with the numbers and the fix, not be killed by the kernel or crash the process."""

from __future__ import annotations

import os
from typing import Any

from neurospec.errors import ResourceError

# Kept free of the memory a device reports as available (other allocations, fragmentation).
HEADROOM = 0.8


def available_bytes(device: str) -> int | None:
    """Free memory on ``device`` (None when it cannot be read)."""
    if str(device).startswith("cuda"):
        import torch

        try:
            free, _ = torch.cuda.mem_get_info(torch.device(device))
            return int(free)
        except (RuntimeError, AssertionError):
            return None
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def forward_bytes(model: Any, tokens: int) -> int:
    """Peak bytes of one forward pass over one document of ``tokens`` tokens: eager
    attention's scores and pattern (a few copies of heads x tokens^2), the logits and their
    log-softmax, and the residual and MLP activations."""
    width = 4  # float32; half precision needs less, so this errs on the safe side
    attention = 3 * model.n_heads * tokens * tokens
    logits = 3 * tokens * model.d_vocab
    stream = tokens * (12 * model.d_model + 3 * model.d_mlp)
    return width * (attention + logits + stream)


def forward_fits(model: Any, tokens: int, what: str) -> None:
    """Raise :class:`ResourceError` when a document of ``tokens`` tokens cannot be run."""
    need = forward_bytes(model, tokens)
    have = available_bytes(model.device)
    if have is None or need <= HEADROOM * have:
        return
    gib = 2 ** 30
    fits = tokens
    while fits > 2 and forward_bytes(model, fits) > HEADROOM * have:
        fits //= 2
    raise ResourceError(
        f"{what}: a document of {tokens} tokens (within {model.name}'s context of "
        f"{model.n_ctx}) needs about {need / gib:.1f} GiB for one forward pass, but "
        f"{model.device} has {have / gib:.1f} GiB free; cut the documents with "
        f"max_context (load_model(..., max_context={fits}) or --neurospec-max-context {fits}), "
        f"or shorten them", value=tokens)
