"""The pytest plugin: options, markers, fixtures, and attaching evidence to reports.

It only connects pytest to neurospec: it never measures.  Heavy libraries (torch,
transformer_lens) load when a test first asks for a model, so ``pytest --help`` stays
fast.  Records travel from the test to the report through ``report.user_properties``,
so they reach the controller under pytest-xdist too.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

MODEL_OPTION = "--model"
DEVICE_OPTION = "--device"
DTYPE_OPTION = "--dtype"
SEED_OPTION = "--neurospec-seed"
JSON_OPTION = "--neurospec-json"
DATA_OPTION = "--neurospec-data"
MODEL_DIR_OPTION = "--neurospec-model-dir"
TRUST_OPTION = "--neurospec-trust-pickle"
MIN_DOCS_OPTION = "--neurospec-min-docs"
THREADS_OPTION = "--neurospec-threads"
NO_BOS_OPTION = "--neurospec-no-bos"
PROPERTY = "neurospec"


@dataclass
class State:
    """Plugin state for one pytest run (in ``config.stash``)."""

    models: dict = field(default_factory=dict)  # key -> Model or the error that loading raised
    records: list = field(default_factory=list)  # dicts, in the order tests finished
    record_lines: list = field(default_factory=list)  # the same, serialised once each
    json_path: Path | None = None
    is_worker: bool = False


STATE = pytest.StashKey[State]()
RECORDS = pytest.StashKey[list]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("neurospec", "neurospec: claims about model internals")
    group.addoption(MODEL_OPTION, default=None, metavar="NAME",
                    help="default model of the run (bundled name, checkpoint folder or hub name; "
                         "NAME@CHECKPOINT for a training checkpoint); a test's "
                         "@pytest.mark.model('name') wins")
    group.addoption(DEVICE_OPTION, default="auto", choices=("auto", "cpu", "cuda"),
                    help="device for models (default: cuda when available)")
    group.addoption(DTYPE_OPTION, default="float32", choices=("float32", "bfloat16", "float16"),
                    help="model dtype; statistics are float64 regardless (default float32)")
    group.addoption(SEED_OPTION, type=int, default=None, metavar="N",
                    help="seed for bootstrap / permutation / resampling (default 0 or ini)")
    group.addoption(JSON_OPTION, default=None, metavar="PATH",
                    help="write every claim's record to this JSON file (atomically, kept "
                         "current as tests finish)")
    group.addoption(DATA_OPTION, action="append", default=[], metavar="DIR",
                    help="folder of datasets (<name>.jsonl / <name>.txt); repeatable")
    group.addoption(MODEL_DIR_OPTION, action="append", default=[], metavar="DIR",
                    help="folder of model folders to find models by name; repeatable")
    group.addoption(TRUST_OPTION, action="store_true", default=False,
                    help="allow pickle checkpoints (.bin/.pt), which can run code when loaded")
    group.addoption(MIN_DOCS_OPTION, type=int, default=None, metavar="N",
                    help="fewest documents per set for a CI (fewer: 'underpowered'; default 10)")
    group.addoption(THREADS_OPTION, type=int, default=None, metavar="N",
                    help="torch CPU threads (1 is faster when processes share cores)")
    group.addoption(NO_BOS_OPTION, action="store_true", default=False,
                    help="do not prepend BOS to documents (the default prepends it, as the "
                         "seed papers did)")
    parser.addini("neurospec_model", "default model (as --model)", default=None)
    parser.addini("neurospec_json", "results JSON path (as --neurospec-json)", default=None)
    parser.addini("neurospec_data", "dataset folders, relative to the rootdir", type="paths",
                  default=[])
    parser.addini("neurospec_seed", "seed (as --neurospec-seed)", default="0")


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "model(name, checkpoint=None): the model this module's or test's claims are "
                   "about (a bundled name, a folder, or a hub name such as 'pythia-70m')")
    state = State(is_worker=hasattr(config, "workerinput"))
    path = config.getoption(JSON_OPTION) or config.getini("neurospec_json")
    if path:
        state.json_path = Path(path)
        if not state.is_worker:
            _check_writable(state.json_path, JSON_OPTION, "reports/run.json")
    html_path = getattr(config.option, "htmlpath", None)
    if html_path and not state.is_worker:
        # Before pytest-html's own configure, which crashes with an INTERNALERROR.
        _check_writable(Path(os.path.expandvars(html_path)).expanduser(), "--html",
                        "reports/run.html")
    config.stash[STATE] = state
    config.pluginmanager.register(Recorder(config), "neurospec-recorder")
    if config.pluginmanager.hasplugin("html"):
        config.pluginmanager.register(HtmlSummary(config), "neurospec-html")
    threads = config.getoption(THREADS_OPTION)
    if threads:
        import torch

        torch.set_num_threads(threads)


def _check_writable(path: Path, option: str, example: str) -> None:
    """Fail the run at once, with the fix, when an output path cannot be written: finding
    out after an hour of claims loses them all."""
    folder = path.parent if str(path.parent) else Path(".")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        ok = os.access(folder, os.W_OK)
    except OSError:
        ok = False
    if not ok:
        raise pytest.UsageError(f"{option}={path}: cannot write to {folder}; choose a "
                                f"writable path, e.g. {option}={example}")
    if path.is_dir():
        raise pytest.UsageError(f"{option}={path} is a folder; give a file path, e.g. "
                                f"{option}={path / Path(example).name}")


def _seed(config: pytest.Config) -> int:
    seed = config.getoption(SEED_OPTION)
    return int(seed if seed is not None else config.getini("neurospec_seed") or 0)


def _data_dirs(config: pytest.Config) -> tuple[Path, ...]:
    dirs = [Path(d) for d in config.getoption(DATA_OPTION)]
    dirs += [Path(d) for d in config.getini("neurospec_data")]
    return tuple(dirs)


def _model_spec(request: pytest.FixtureRequest) -> tuple[str, str | None]:
    marker = request.node.get_closest_marker("model")
    if marker is not None and marker.args:
        return marker.args[0], marker.kwargs.get("checkpoint")
    name = request.config.getoption(MODEL_OPTION) or request.config.getini("neurospec_model")
    if not name:
        raise pytest.UsageError(
            f"{request.node.nodeid} needs a model: add @pytest.mark.model('tiny-bilingual') "
            f"(or pytestmark = pytest.mark.model(...) in the module), or run with "
            f"{MODEL_OPTION} NAME")
    return name, None


@pytest.fixture
def model(request: pytest.FixtureRequest):
    """The test's model: from ``@pytest.mark.model``, else ``--model``; loaded once per
    session and shared read-only.  Hub models whose weights cannot be reached skip with
    the reason and the command that makes them run."""
    from neurospec.errors import ModelUnavailable
    from neurospec.models import load_model

    config = request.config
    name, checkpoint = _model_spec(request)
    key = (name, checkpoint, config.getoption(DEVICE_OPTION), config.getoption(DTYPE_OPTION),
           not config.getoption(NO_BOS_OPTION))
    state = config.stash[STATE]
    if key not in state.models:
        try:
            state.models[key] = load_model(
                name, checkpoint=checkpoint, device=key[2], dtype=key[3], prepend_bos=key[4],
                trust_pickle=config.getoption(TRUST_OPTION),
                model_dirs=tuple(Path(d) for d in config.getoption(MODEL_DIR_OPTION)))
        except Exception as exc:  # noqa: BLE001 - remembered, re-raised for every user
            state.models[key] = exc
    loaded = state.models[key]
    if isinstance(loaded, ModelUnavailable):
        pytest.skip(str(loaded))
    if isinstance(loaded, Exception):
        raise loaded
    return loaded


@pytest.fixture
def corpus(request: pytest.FixtureRequest):
    """``corpus(name)``: a dataset from ``fixtures/data`` or ``--neurospec-data`` folders."""
    from neurospec.data.corpus import load_corpus

    dirs = _data_dirs(request.config)

    def get(name: str):
        return load_corpus(name, dirs)

    return get


@pytest.fixture(autouse=True)
def _neurospec_claims(request: pytest.FixtureRequest):
    """Around every test: the claim context (model, seed, data folders), the evidence
    collector, and the check that no hook was left on the model."""
    from neurospec.claims.context import using
    from neurospec.evidence.sink import collecting

    config = request.config
    uses_model = ("model" in request.fixturenames or request.node.get_closest_marker("model")
                  or config.getoption(MODEL_OPTION) or config.getini("neurospec_model"))
    m = request.getfixturevalue("model") if uses_model else None
    min_docs = request.config.getoption(MIN_DOCS_OPTION)
    with collecting() as records, using(model=m, seed=_seed(request.config),
                                        data_dirs=_data_dirs(request.config),
                                        min_docs=min_docs if min_docs is not None else 10,
                                        test=request.node.nodeid):
        request.node.stash[RECORDS] = records
        yield
    if m is None:
        return
    left = m.leftover_hooks()
    if left:
        from neurospec.errors import HookLeak

        m.remove_all_hooks()
        raise HookLeak(f"{request.node.nodeid} left hooks registered on {m.name}: {left}; "
                       f"use model.hooked([...]) or run_with_hooks so they are removed")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    if report.when != "call":
        return report
    records = item.stash.get(RECORDS, [])
    if not records:
        return report
    report.user_properties.append((PROPERTY, [r.to_dict() for r in records]))
    if item.config.pluginmanager.hasplugin("html"):
        from pytest_html import extras

        from neurospec.report.html import render_record

        report.extras = getattr(report, "extras", []) + [
            extras.html(render_record(r, with_style=False)) for r in records]
    return report


class Recorder:
    """Collects records as test reports arrive (on the controller under xdist), keeps the
    results JSON current, and prints the terminal summary."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.state = config.stash[STATE]

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when != "call":
            return
        found = [value for key, value in report.user_properties if key == PROPERTY]
        if not found:
            return
        outcome = "xfailed" if hasattr(report, "wasxfail") and report.skipped else report.outcome
        for value in found:
            self.state.records.extend({**d, "outcome": outcome} for d in value)
        self.write()

    def write(self) -> None:
        """Rewrite the results file with every record so far (atomically): a run killed
        at any point leaves valid JSON with every claim that finished."""
        if self.state.json_path is None or self.state.is_worker:
            return
        from neurospec.evidence.jsonio import atomic_write_text, record_json, results_text

        lines = self.state.record_lines
        lines.extend(record_json(d) for d in self.state.records[len(lines):])
        atomic_write_text(self.state.json_path,
                          results_text(lines, meta={"seed": _seed(self.config)}))

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        self.write()

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        records = self.state.records
        if not records:
            return
        counts: dict[str, int] = {}
        for r in records:
            counts[r["verdict"]] = counts.get(r["verdict"], 0) + 1
        text = ", ".join(f"{v} {k}" for k, v in sorted(counts.items()))
        terminalreporter.write_sep("-", f"neurospec: {len(records)} claim checks ({text})")
        if self.state.json_path is not None:
            terminalreporter.write_line(f"neurospec results: {self.state.json_path}")


class HtmlSummary:
    """pytest-html hooks, registered only when pytest-html is installed."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.state = config.stash[STATE]

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        # pytest-html (4.x) writes its report with a plain open("w"): a run killed while it
        # writes leaves a truncated page in place of the last good one.  Route its writes
        # through neurospec's atomic writer (temporary file + rename) when its report object
        # has the expected shape; otherwise leave it alone.
        from neurospec.evidence.jsonio import atomic_write_text

        for plugin in self.config.pluginmanager.get_plugins():
            path = getattr(plugin, "_report_path", None)
            if path is not None and callable(getattr(plugin, "_write_report", None)):
                plugin._write_report = (
                    lambda rendered, path=path: atomic_write_text(path, rendered))

    def pytest_html_results_summary(self, prefix: list, summary: list, postfix: list,
                                    session: Any) -> None:
        from neurospec.evidence.record import Record
        from neurospec.report.html import stylesheet, summary_table

        prefix.append(f"<style>{stylesheet()}</style>")
        if self.state.records:
            prefix.append(summary_table([Record.from_dict(r) for r in self.state.records]))
