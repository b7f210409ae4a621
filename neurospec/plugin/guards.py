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
CORES = os.cpu_count() or 1
MAX_THREADS = 4 * CORES  # more threads than that only wait on each other
MAX_BATCH = 1 << 18  # 262 144 tokens per forward batch: beyond any GPU's memory for logits


def _memory_mb() -> float:
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / 2 ** 20
    except (ValueError, OSError, AttributeError):
        return math.inf


RANGES = (
    (o.MIN_DOCS_OPTION, lambda v: v >= 2,
     "a confidence interval needs at least 2 documents per set (default 10)", 10),
    (o.THREADS_OPTION, lambda v: 1 <= v <= MAX_THREADS,
     f"give 1 to {MAX_THREADS} CPU threads (this machine has {CORES} cores)", min(CORES, 4)),
    (o.CACHE_OPTION, lambda v: math.isfinite(v) and 0 <= v <= _memory_mb(),
     f"give a size in MB from 0 (cache off) to this machine's memory "
     f"({_memory_mb():.0f} MB)", 512),
    (o.BATCH_OPTION, lambda v: 1 <= v <= MAX_BATCH,
     f"give 1 to {MAX_BATCH} tokens per batch", 4096),
    (o.MAX_CONTEXT_OPTION, lambda v: v >= 2, "give a context of 2 or more tokens", 2048),
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


def check_checkpoints(items: list[pytest.Item], config: pytest.Config) -> None:
    """A ``--checkpoint`` that names a whole model (``NAME@REV``) must be a checkpoint of
    the model each test it runs names (a test marked ``model('planted')`` does not run on
    ``tiny-bilingual@step3000``); a checkpoint folder, whose model cannot be told from its
    name, may replace only one model across the run.  Otherwise the run stops, naming both."""
    from neurospec.plugin.fixtures import CHECKPOINT_FIXTURE

    default = config.getoption(o.MODEL_OPTION) or config.getini("neurospec_model") or None
    folders: dict[str, dict[str, str]] = {}  # folder checkpoint -> {model name: a test}
    for item in items:
        callspec = getattr(item, "callspec", None)
        label = callspec.params.get(CHECKPOINT_FIXTURE) if callspec is not None else None
        if not label or not ("@" in label or os.sep in label):
            continue
        marker = item.get_closest_marker("model")
        named = marker.args[0] if marker is not None and marker.args else default
        named = str(named).split("@", 1)[0] if named else None
        if "@" in label:
            wanted = label.split("@", 1)[0]
            if named is not None and wanted != named:
                raise pytest.UsageError(
                    f"{o.CHECKPOINT_OPTION}={label} is a checkpoint of {wanted!r}, but "
                    f"{item.nodeid} is about {named!r}: it would run on another model than the "
                    f"one it names. Run the tests of each model apart (give their paths or "
                    f"-k), or give a bare checkpoint ({label.split('@', 1)[1]}) that applies to "
                    f"each test's own model")
        elif named is not None:
            folders.setdefault(label, {}).setdefault(named, item.nodeid)
    for label, models in folders.items():
        if len(models) > 1:
            (a, ta), (b, tb) = list(models.items())[:2]
            raise pytest.UsageError(
                f"{o.CHECKPOINT_OPTION}={label} is a folder, and the run's tests name two models "
                f"it would replace: {a!r} ({ta}) and {b!r} ({tb}); run the tests of each model "
                f"apart, so that the folder stands for one model")


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
    """An exclusive lock on an output file (the results JSON, the HTML report) for the whole
    run (``<file>.lock`` beside it): a second run writing the same file would silently drop
    the first one's records."""

    def __init__(self, path: Path, option: str = o.JSON_OPTION) -> None:
        self.path = Path(str(path) + ".lock")
        self.option = option
        self.handle = None

    def acquire(self) -> None:
        try:
            import fcntl
        except ImportError:  # Windows: no advisory locks here
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            handle = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 - held for the run
        except OSError as exc:
            raise pytest.UsageError(f"{self.option}: cannot create {self.path} "
                                    f"({exc.strerror or exc}); choose a writable path with free "
                                    f"space") from None
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            target = str(self.path)[:-len(".lock")]
            other = "reports/run-2.json" if self.option == o.JSON_OPTION else "reports/run-2.html"
            raise pytest.UsageError(
                f"{self.option}={target} is being written by another run ({holder}); "
                f"wait for it to finish or give this run its own file, e.g. "
                f"{self.option}={other}") from None
        try:
            handle.seek(0)
            handle.truncate()
            handle.write(f"pid {os.getpid()}, started {time.strftime('%H:%M:%S')}")
            handle.flush()
        except OSError as exc:  # a full disk at start
            handle.close()
            raise pytest.UsageError(f"{self.option}: cannot write {self.path} "
                                    f"({exc.strerror or exc}); free space there or choose "
                                    f"another path") from None
        self.handle = handle

    def release(self) -> None:
        if self.handle is not None:
            self.handle.close()  # closing releases the lock
            self.handle = None
