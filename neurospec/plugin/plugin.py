"""The pytest plugin (the ``pytest11`` entry point): it connects pytest to neurospec and
never measures.

- :mod:`~neurospec.plugin.options`: command-line options, ini values and their checks;
- :mod:`~neurospec.plugin.fixtures`: ``model``, ``corpus``, ``neurospec_checkpoint`` and
  the claim context around every test;
- :mod:`~neurospec.plugin.recorder`: records from tests to the results JSON, the run-wide
  correction and the terminal summary;
- :mod:`~neurospec.plugin.html_report`: the summary and cards in pytest-html's page.
"""

from __future__ import annotations

import pytest

from neurospec.plugin import options
from neurospec.plugin.fixtures import (  # noqa: F401 - fixtures pytest finds in this module
    _neurospec_claims,
    corpus,
    model,
    neurospec_checkpoint,
    parametrize_checkpoints,
)
from neurospec.plugin.recorder import PROPERTY, STATE, Recorder, State

LOCK = pytest.StashKey[list]()


def pytest_addoption(parser: pytest.Parser) -> None:
    options.add_options(parser)


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "model(name, checkpoint=None): the model this module's or test's claims are "
                   "about (a bundled name, a folder, or a hub name such as 'pythia-70m')")
    config.addinivalue_line(
        "markers", "vacuity(k, strict=False): re-run this test's passing unit claims on k random "
                   "units of the same layer and flag them vacuous when >5% pass too (as "
                   "--neurospec-vacuity, for one test)")
    state = State(is_worker=hasattr(config, "workerinput"), json_path=options.json_path(config))
    from neurospec.plugin import guards

    guards.check_values(config)  # each value in its range, named (before the coarser check)
    guards.check_paths(config)
    options.validate(config)
    if not state.is_worker:
        state.notes = options.check_outputs(config)
        from neurospec.plugin.guards import ResultsLock

        locks = []
        for path, option in ((state.json_path, options.JSON_OPTION),
                             (options.html_path(config), "--html")):
            if path is not None:
                lock = ResultsLock(path, option)
                lock.acquire()  # a second run writing the same file is a usage error
                locks.append(lock)
        config.stash[LOCK] = locks
    config.stash[STATE] = state
    config.pluginmanager.register(Recorder(config), "neurospec-recorder")
    if config.pluginmanager.hasplugin("html"):
        from neurospec.plugin.html_report import HtmlSummary

        config.pluginmanager.register(HtmlSummary(config), "neurospec-html")
    # only this run's own xdist workers share the cores (a pytest started inside a worker
    # inherits its environment, not its workers)
    shared = worker_threads() if hasattr(config, "workerinput") else None
    threads = config.getoption(options.THREADS_OPTION) or shared
    if threads:
        import torch

        torch.set_num_threads(threads)


def worker_threads() -> int | None:
    """Under pytest-xdist, each worker's share of the CPU cores (at least 1): torch would
    otherwise start one thread per core in every worker, and ``-n 2`` on 2 cores ran 4
    threads on 2 cores (measured 2.9x slower than one process).  None outside xdist, where
    torch's own default stands."""
    import os

    workers = os.environ.get("PYTEST_XDIST_WORKER_COUNT")
    if not workers or not workers.isdigit() or int(workers) < 1:
        return None
    return max(1, (os.cpu_count() or 1) // int(workers))


@pytest.hookimpl(trylast=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    """pytest-html's Environment table (from pytest-metadata) shows what produced the run."""
    try:
        from pytest_metadata.plugin import metadata_key
    except ImportError:
        return
    from neurospec.evidence.environment import environment

    config = session.config
    env = environment()
    env["device"] = config.getoption(options.DEVICE_OPTION) or "auto"
    env["dtype"] = config.getoption(options.DTYPE_OPTION) or "float32"
    config.stash.setdefault(metadata_key, {}).update(
        {f"neurospec: {key}": value for key, value in env.items()})


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    from neurospec.plugin.guards import check_checkpoints, check_vacuity_markers

    check_vacuity_markers(items)
    check_checkpoints(items, config)


def pytest_unconfigure(config: pytest.Config) -> None:
    for lock in config.stash.get(LOCK, []):
        lock.release()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    parametrize_checkpoints(metafunc)


@pytest.hookimpl(wrapper=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function):
    """A test that built an expectation and stated no claim on it fails, naming the call."""
    result = yield
    from neurospec.plugin.outcomes import check_statements

    check_statements(pyfuncitem)
    return result


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    from neurospec.plugin.outcomes import handle

    return handle(item, call, report, PROPERTY)
