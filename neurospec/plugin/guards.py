"""Guards that keep a green run honest: bad option values are usage errors at start-up, a
model or data folder named on the command line must exist, a results file has one writer,
and a run that checked no claim does not pass.

Each check raises ``pytest.UsageError`` naming the option, the value and its range, once,
before any test runs.
"""

from __future__ import annotations

import math
import os
import time
from pathlib import Path
from typing import Any

import pytest

from neurospec.plugin import options as o

SEED_RANGE = 2 ** 32


def _usage(option: str, value: Any, need: str, example: str) -> pytest.UsageError:
    return pytest.UsageError(f"{option}={value!r}: {need}, e.g. {option}={example}")


def check_values(config: pytest.Config) -> None:
    """Every numeric option in its range (seed, min-docs, threads, cache, batch, vacuity)."""
    seed = config.getoption(o.SEED_OPTION)
    where = o.SEED_OPTION
    if seed is None:
        where, seed = "neurospec_seed (ini)", config.getini("neurospec_seed") or 0
        try:
            seed = int(seed)
        except ValueError:
            raise _usage(where, seed, f"give a whole number in 0 .. {SEED_RANGE - 1}", 0) from None
    if not 0 <= seed < SEED_RANGE:
        raise _usage(where, seed, f"a seed is a whole number in 0 .. {SEED_RANGE - 1}", 0)
    for option, ok, need, example in RANGES:
        value = config.getoption(option)
        if value is not None and not ok(value):
            raise _usage(option, value, need, example)


# option, whether a given value is in range, what the range is, an example value
RANGES = (
    (o.MIN_DOCS_OPTION, lambda v: v >= 2,
     "a confidence interval needs at least 2 documents per set (default 10)", 10),
    (o.THREADS_OPTION, lambda v: v >= 1, "give 1 or more CPU threads", 1),
    (o.CACHE_OPTION, lambda v: math.isfinite(v) and v >= 0,
     "give a finite size in MB >= 0 (0 turns the cache off)", 512),
    (o.BATCH_OPTION, lambda v: v >= 1, "give 1 or more tokens per batch", 4096),
    (o.VACUITY_OPTION, lambda v: v >= 0, "give a number of random units >= 0", 20),
    (o.HTML_CARDS_OPTION, lambda v: v >= 0, "give a number of cards >= 0 (0: all)", 1000),
)


def check_vacuity_markers(items: list[pytest.Item]) -> None:
    """``@pytest.mark.vacuity(k)`` with ``k`` a whole number >= 0 (not True, not -1)."""
    for item in items:
        marker = item.get_closest_marker("vacuity")
        if marker is None:
            continue
        k = marker.args[0] if marker.args else marker.kwargs.get("k", 20)
        if isinstance(k, bool) or not isinstance(k, int) or k < 0:
            raise pytest.UsageError(
                f"{item.nodeid}: @pytest.mark.vacuity({k!r}): give the number of random units, "
                f"a whole number >= 0, e.g. @pytest.mark.vacuity(20)")


def check_paths(config: pytest.Config) -> None:
    """Folders given with ``--neurospec-data`` / ini must exist (a typo would silently fall
    back to the bundled set of the same name); ``--model`` must name a loadable model."""
    for d in o.data_dirs(config):
        if not Path(d).is_dir():
            what = "is a file, not a folder" if Path(d).exists() else "does not exist"
            raise pytest.UsageError(f"{o.DATA_OPTION}={d} {what}; give a folder of "
                                    f"<name>.jsonl / <name>.txt datasets")
    name = config.getoption(o.MODEL_OPTION) or config.getini("neurospec_model")
    if name:
        from neurospec.errors import ModelNotFound
        from neurospec.models.registry import resolve

        dirs = tuple(Path(d) for d in config.getoption(o.MODEL_DIR_OPTION))
        try:
            resolve(name, extra=dirs)
        except ModelNotFound as exc:
            raise pytest.UsageError(f"{o.MODEL_OPTION}={name}: {exc}") from None


class ResultsLock:
    """An exclusive lock on the results file for the whole run (``<file>.lock`` beside it):
    a second run writing the same file would silently drop the first one's records."""

    def __init__(self, path: Path) -> None:
        self.path = Path(str(path) + ".lock")
        self.handle = None

    def acquire(self) -> None:
        try:
            import fcntl
        except ImportError:  # Windows: no advisory locks here
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 - held for the run
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            target = str(self.path)[:-len(".lock")]
            raise pytest.UsageError(
                f"{o.JSON_OPTION}={target} is being written by another run ({holder}); "
                f"wait for it to finish or give this run its own file, e.g. "
                f"{o.JSON_OPTION}=reports/run-2.json") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}, started {time.strftime('%H:%M:%S')}")
        handle.flush()
        self.handle = handle

    def release(self) -> None:
        if self.handle is not None:
            self.handle.close()  # closing releases the lock
            self.handle = None
