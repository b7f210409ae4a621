"""The fixtures a claim test uses: its model, datasets, checkpoint, and the claim context
around every test (model, seed, data folders, the evidence collector, the hook check).

Heavy libraries (torch, transformer_lens) load when a test first asks for a model, so
``pytest --help`` stays fast.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from neurospec.plugin import options as o

CHECKPOINT_FIXTURE = "neurospec_checkpoint"
RECORDS = pytest.StashKey[list]()  # the test's records, in the order they were emitted
MODELS_OF_TEST = pytest.StashKey[list]()  # the model(s) the plugin gave the test
STATEMENTS = pytest.StashKey[list]()  # the test's statements (claims.statements)


@dataclass
class Models:
    """Models loaded in this process, shared read-only by every test of the session."""

    loaded: dict = field(default_factory=dict)  # key -> Model or the error that loading raised


MODELS = pytest.StashKey[Models]()
MODEL_TEST = "neurospec_model_test"  # user property of a test that uses a model


def uses_model(config: pytest.Config, node: Any, fixturenames: Any) -> bool:
    return bool("model" in fixturenames or node.get_closest_marker("model")
                or config.getoption(o.MODEL_OPTION) or config.getini("neurospec_model"))


def parametrize_checkpoints(metafunc: pytest.Metafunc) -> None:
    """One copy of each model-using test per ``--checkpoint``."""
    checkpoints = metafunc.config.getoption(o.CHECKPOINT_OPTION)
    if (checkpoints and CHECKPOINT_FIXTURE in metafunc.fixturenames
            and uses_model(metafunc.config, metafunc.definition, metafunc.fixturenames)):
        labels = list(dict.fromkeys(checkpoints))
        metafunc.parametrize(CHECKPOINT_FIXTURE, labels, ids=labels, indirect=True)


@pytest.fixture
def neurospec_checkpoint(request: pytest.FixtureRequest) -> str | None:
    """The ``--checkpoint`` this test runs on (``None`` without that option)."""
    return getattr(request, "param", None)


def _model_spec(request: pytest.FixtureRequest) -> tuple[str, str | None]:
    marker = request.node.get_closest_marker("model")
    ckpt = request.getfixturevalue(CHECKPOINT_FIXTURE)
    if ckpt is not None and ("@" in ckpt or os.sep in ckpt):
        return ckpt, None  # a whole model spec: name@revision, or a checkpoint folder
    if marker is not None and marker.args:
        return marker.args[0], ckpt or marker.kwargs.get("checkpoint")
    name = request.config.getoption(o.MODEL_OPTION) or request.config.getini("neurospec_model")
    if not name:
        raise pytest.UsageError(
            f"{request.node.nodeid} needs a model: add @pytest.mark.model('tiny-bilingual') "
            f"(or pytestmark = pytest.mark.model(...) in the module), or run with "
            f"{o.MODEL_OPTION} NAME")
    return name, ckpt


@pytest.fixture
def model(request: pytest.FixtureRequest):
    """The test's model: from ``@pytest.mark.model``, else ``--model``; loaded once per
    session and shared read-only.  Hub models whose weights cannot be reached skip with
    the reason and the command that makes them run."""
    from neurospec.errors import ModelUnavailable
    from neurospec.models import load_model

    config = request.config
    name, checkpoint = _model_spec(request)
    key = model_key(request)
    models = config.stash.setdefault(MODELS, Models()).loaded
    if key not in models:
        try:
            models[key] = load_model(
                name, checkpoint=checkpoint, device=key[2], dtype=key[3], prepend_bos=key[4],
                backend=key[5], remote=key[6],
                trust_pickle=config.getoption(o.TRUST_OPTION),
                trust_remote_code=config.getoption(o.TRUST_CODE_OPTION),
                max_context=config.getoption(o.MAX_CONTEXT_OPTION),
                model_dirs=tuple(Path(d) for d in config.getoption(o.MODEL_DIR_OPTION)))
        except Exception as exc:  # noqa: BLE001 - remembered, re-raised for every user
            models[key] = exc
    loaded = models[key]
    if isinstance(loaded, ModelUnavailable):
        if o.require_models(config):
            raise ModelUnavailable(f"{loaded} ({o.REQUIRE_OPTION} is set: a model that cannot "
                                   f"be loaded fails the run instead of skipping)", loaded.value)
        pytest.skip(str(loaded))
    if isinstance(loaded, Exception):
        raise loaded
    if config.getoption(o.BATCH_OPTION):
        loaded.batch_tokens = config.getoption(o.BATCH_OPTION)
    loaded.cache.max_bytes = int(config.getoption(o.CACHE_OPTION) * 2 ** 20)
    return loaded


def model_key(request: pytest.FixtureRequest) -> tuple:
    """What a loaded model is shared under: its spec and the settings that change it."""
    config = request.config
    name, checkpoint = _model_spec(request)
    backend, remote = model_backend(request)
    return (name, checkpoint, worker_device(config), config.getoption(o.DTYPE_OPTION),
            not config.getoption(o.NO_BOS_OPTION), backend, remote)


def model_backend(request: pytest.FixtureRequest) -> tuple[str | None, bool | str]:
    """(backend, remote) of the test's model: the marker's ``backend=`` / ``remote=``, else
    ``--neurospec-backend`` / ``--neurospec-remote``."""
    marker = request.node.get_closest_marker("model")
    kwargs = marker.kwargs if marker is not None else {}
    config = request.config
    backend = kwargs.get("backend", config.getoption(o.BACKEND_OPTION))
    if "remote" in kwargs:
        remote = kwargs["remote"]
        if remote not in (True, False, "local", None):
            raise pytest.UsageError(f"{request.node.nodeid}: @pytest.mark.model(remote="
                                    f"{remote!r}): use True (NDIF), 'local' (nnsight's local "
                                    f"simulation) or False")
    else:
        remote = {"ndif": True, "local": "local"}.get(config.getoption(o.REMOTE_OPTION) or "",
                                                      False)
    return backend, bool(remote) and remote


def worker_device(config: pytest.Config) -> str:
    """This process's device: ``--device``, or under pytest-xdist one of ``--neurospec-devices``
    (or of the visible GPUs) picked by the worker's number, so each worker has its own."""
    devices = config.getoption(o.DEVICES_OPTION)
    worker = getattr(config, "workerinput", {}).get("workerid", "gw0")
    index = int(worker[2:]) if worker[2:].isdigit() else 0
    if devices:
        pool = [d.strip() for d in devices.split(",") if d.strip()]
        if not pool:
            raise pytest.UsageError(f"{o.DEVICES_OPTION}={devices!r}: give devices such as "
                                    f"cuda:0,cuda:1")
        return pool[index % len(pool)]
    device = config.getoption(o.DEVICE_OPTION)
    if device in ("cuda", "auto") and hasattr(config, "workerinput"):
        import torch

        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count > 1:
            return f"cuda:{index % count}"
    return device


@pytest.fixture
def corpus(request: pytest.FixtureRequest):
    """``corpus(name)``: a dataset from ``fixtures/data`` or ``--neurospec-data`` folders."""
    from neurospec.data.corpus import load_corpus

    dirs = o.data_dirs(request.config)

    def get(name: str):
        return load_corpus(name, dirs)

    return get


@pytest.fixture(autouse=True)
def _neurospec_claims(request: pytest.FixtureRequest, neurospec_checkpoint: str | None):
    """Around every test: the claim context (model, seed, data folders), the evidence
    collector, and the check that no hook was left on the model."""
    from neurospec.claims.context import using
    from neurospec.claims.statements import tracking
    from neurospec.evidence.sink import collecting

    config = request.config
    item = request.node
    records = item.stash.setdefault(RECORDS, [])
    wants_model = uses_model(config, item, request.fixturenames)
    if wants_model:  # the recorder counts these: a run of them that checks nothing fails
        item.user_properties.append((MODEL_TEST, True))
    m = request.getfixturevalue("model") if wants_model else None
    if m is not None:
        item.stash[MODELS_OF_TEST] = [m]
    min_docs = config.getoption(o.MIN_DOCS_OPTION)
    vacuity, strict = o.vacuity(config, item)
    sae_dirs = tuple(dict.fromkeys((Path(item.path).parent, config.rootpath)))
    before = (m.weights_state(), m.info()) if m is not None else None
    with _progress_lines(config), collecting(records), tracking() as said, using(
            model=m, seed=o.seed(config), data_dirs=o.data_dirs(config), sae_dirs=sae_dirs,
            min_docs=min_docs if min_docs is not None else 10, test=item.nodeid,
            vacuity=vacuity, strict=strict, sequential=o.sequential(config)):
        item.stash[STATEMENTS] = said
        yield
    if m is None or before is None:
        return
    _check_unchanged(request, m, before)
    left = m.leftover_hooks()
    if left:
        from neurospec.errors import HookLeak

        m.remove_all_hooks()
        raise HookLeak(f"{request.node.nodeid} left hooks registered on {m.name}: {left}; "
                       f"use model.hooked([...]) or run_with_hooks so they are removed")


def _check_unchanged(request: pytest.FixtureRequest, m: Any, before: tuple) -> None:
    """The shared model must leave a test as it came: a test that edits its weights (or its
    settings) would change later tests' verdicts under the fingerprint recorded before.  A
    change fails the test that made it, and the model is loaded afresh for the next test."""
    weights, info = before
    changed = []
    if m.weights_state() != weights and m.weights_digest() != m.fingerprint_parts.get("weights"):
        changed.append(f"its weights (digest {m.fingerprint_parts.get('weights')} -> "
                       f"{m.weights_digest()})")
    now = m.info()
    changed += [f"{k}: {info[k]!r} -> {now[k]!r}" for k in info if info[k] != now.get(k)]
    if not changed:
        return
    loaded = request.config.stash[MODELS].loaded
    loaded.pop(model_key(request), None)  # the next test gets the model as it was named
    from neurospec.errors import ModelModified

    raise ModelModified(
        f"{request.node.nodeid} changed the shared model {m.name} ({'; '.join(changed)}); later "
        f"tests would measure another model than the one named and fingerprinted. Edit a copy "
        f"instead (load_model(...) a model of your own in the test), or restore it before the "
        f"test ends", value=changed)


def _progress_lines(config: pytest.Config):
    """Long measurements report progress as terminal lines (throttled; none under xdist
    workers, whose output pytest does not show)."""
    from neurospec.progress import reporting

    tr = config.pluginmanager.get_plugin("terminalreporter")
    if tr is None or hasattr(config, "workerinput"):
        return reporting(None)
    return reporting(lambda line: tr.write_line(line))
