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
DEVICES_OPTION = "--neurospec-devices"
BATCH_OPTION = "--neurospec-max-batch-tokens"
CACHE_OPTION = "--neurospec-cache-mb"
VACUITY_OPTION = "--neurospec-vacuity"
STRICT_OPTION = "--neurospec-strict"
CORRECT_OPTION = "--neurospec-correct"
ALPHA = 0.05
CHECKPOINT_OPTION = "--checkpoint"
CHECKPOINT_FIXTURE = "neurospec_checkpoint"
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
    group.addoption(CHECKPOINT_OPTION, action="append", default=[], metavar="NAME",
                    help="run every model-using test once per checkpoint NAME of its model "
                         "(tiny-bilingual: step150 ... step3000; hub: a revision such as "
                         "step1000), or per model NAME@CHECKPOINT / folder; repeatable; records "
                         "carry it and the report shows a claims x checkpoints matrix")
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
    group.addoption(DEVICES_OPTION, default=None, metavar="LIST",
                    help="devices for pytest-xdist workers, e.g. cuda:0,cuda:1: worker gwN "
                         "gets device N modulo their number (default: with --device cuda and "
                         "several GPUs visible, one GPU per worker)")
    group.addoption(BATCH_OPTION, type=int, default=None, metavar="N",
                    help="tokens per forward batch: bounds activation memory, so a large corpus "
                         "never has to fit at once (default: 8192 on a GPU; on a CPU about 4M "
                         "logits' worth, 1024 for a 4096-token vocabulary)")
    group.addoption(CACHE_OPTION, type=float, default=2048, metavar="MB",
                    help="budget of the per-model cache of forward passes and activations shared "
                         "across claims (least recently used evicted; 0 turns caching off; "
                         "default 2048)")
    group.addoption(VACUITY_OPTION, type=int, default=0, metavar="K",
                    help="re-run every passing unit claim with its unit swapped for K random "
                         "units of the same layer; flag it 'vacuous' when more than 5%% of them "
                         "pass too (default 0: off)")
    group.addoption(STRICT_OPTION, action="store_true", default=False,
                    help="vacuous claims fail (with --neurospec-vacuity)")
    group.addoption(CORRECT_OPTION, default="none", choices=("none", "holm"),
                    help="correct the claims' p-values for their number (Holm); a passing "
                         "claim whose adjusted p exceeds 0.05 fails the run")
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
    config.addinivalue_line(
        "markers", "vacuity(k, strict=False): re-run this test's passing unit claims on k random "
                   "units of the same layer and flag them vacuous when >5% pass too (as "
                   "--neurospec-vacuity, for one test)")
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
    if (config.getoption(BATCH_OPTION) or 1) < 1 or config.getoption(CACHE_OPTION) < 0:
        raise pytest.UsageError(f"{BATCH_OPTION} must be >= 1 token and {CACHE_OPTION} >= 0 MB "
                                f"(e.g. {BATCH_OPTION}=4096 {CACHE_OPTION}=512)")
    config.pluginmanager.register(Recorder(config), "neurospec-recorder")
    if config.pluginmanager.hasplugin("html"):
        config.pluginmanager.register(HtmlSummary(config), "neurospec-html")
    threads = config.getoption(THREADS_OPTION)
    if threads:
        import torch

        torch.set_num_threads(threads)


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
    env["device"] = config.getoption(DEVICE_OPTION) or "auto"
    env["dtype"] = config.getoption(DTYPE_OPTION) or "float32"
    config.stash.setdefault(metadata_key, {}).update(
        {f"neurospec: {key}": value for key, value in env.items()})


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


def _uses_model(config: pytest.Config, node: Any, fixturenames: Any) -> bool:
    return bool("model" in fixturenames or node.get_closest_marker("model")
                or config.getoption(MODEL_OPTION) or config.getini("neurospec_model"))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    checkpoints = metafunc.config.getoption(CHECKPOINT_OPTION)
    if (checkpoints and CHECKPOINT_FIXTURE in metafunc.fixturenames
            and _uses_model(metafunc.config, metafunc.definition, metafunc.fixturenames)):
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
    name = request.config.getoption(MODEL_OPTION) or request.config.getini("neurospec_model")
    if not name:
        raise pytest.UsageError(
            f"{request.node.nodeid} needs a model: add @pytest.mark.model('tiny-bilingual') "
            f"(or pytestmark = pytest.mark.model(...) in the module), or run with "
            f"{MODEL_OPTION} NAME")
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
    key = (name, checkpoint, worker_device(config), config.getoption(DTYPE_OPTION),
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
    if config.getoption(BATCH_OPTION):
        loaded.batch_tokens = config.getoption(BATCH_OPTION)
    loaded.cache.max_bytes = int(config.getoption(CACHE_OPTION) * 2 ** 20)
    return loaded


def worker_device(config: pytest.Config) -> str:
    """This process's device: ``--device``, or under pytest-xdist one of ``--neurospec-devices``
    (or of the visible GPUs) picked by the worker's number, so each worker has its own."""
    devices = config.getoption(DEVICES_OPTION)
    worker = getattr(config, "workerinput", {}).get("workerid", "gw0")
    index = int(worker[2:]) if worker[2:].isdigit() else 0
    if devices:
        pool = [d.strip() for d in devices.split(",") if d.strip()]
        if not pool:
            raise pytest.UsageError(f"{DEVICES_OPTION}={devices!r}: give devices such as "
                                    f"cuda:0,cuda:1")
        return pool[index % len(pool)]
    device = config.getoption(DEVICE_OPTION)
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

    dirs = _data_dirs(request.config)

    def get(name: str):
        return load_corpus(name, dirs)

    return get


@pytest.fixture(autouse=True)
def _neurospec_claims(request: pytest.FixtureRequest, neurospec_checkpoint: str | None):
    """Around every test: the claim context (model, seed, data folders), the evidence
    collector, and the check that no hook was left on the model."""
    from neurospec.claims.context import using
    from neurospec.evidence.sink import collecting

    config = request.config
    uses_model = _uses_model(config, request.node, request.fixturenames)
    m = request.getfixturevalue("model") if uses_model else None
    min_docs = request.config.getoption(MIN_DOCS_OPTION)
    vacuity, strict = config.getoption(VACUITY_OPTION), config.getoption(STRICT_OPTION)
    marker = request.node.get_closest_marker("vacuity")
    if marker is not None:
        vacuity = marker.args[0] if marker.args else marker.kwargs.get("k", 20)
        strict = strict or bool(marker.kwargs.get("strict", False))
    if isinstance(vacuity, bool) or not isinstance(vacuity, int) or vacuity < 0:
        raise pytest.UsageError(f"{VACUITY_OPTION}={vacuity}: give a number of random units "
                                f">= 0, e.g. {VACUITY_OPTION}=20")
    with _progress_lines(config), collecting() as records, using(model=m, seed=_seed(config),
                                        data_dirs=_data_dirs(config),
                                        min_docs=min_docs if min_docs is not None else 10,
                                        test=request.node.nodeid, vacuity=vacuity,
                                        strict=strict):
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


def _progress_lines(config: pytest.Config):
    """Long measurements report progress as terminal lines (throttled; none under xdist
    workers, whose output pytest does not show)."""
    from neurospec.progress import reporting

    tr = config.pluginmanager.get_plugin("terminalreporter")
    if tr is None or hasattr(config, "workerinput"):
        return reporting(None)
    return reporting(lambda line: tr.write_line(line))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    if report.when != "call":
        return report
    records = item.stash.get(RECORDS, [])
    if not records:
        return report
    callspec = getattr(item, "callspec", None)
    label = callspec.params.get(CHECKPOINT_FIXTURE) if callspec is not None else None
    if label:
        from dataclasses import replace

        records = [replace(r, checkpoint=label) for r in records]
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
        self.demoted: list[dict] = []

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
        from neurospec.evidence.environment import environment

        env = environment([d.get("model") or {} for d in self.state.records])
        atomic_write_text(self.state.json_path, results_text(
            lines, meta={"seed": _seed(self.config), "environment": env}))

    @pytest.hookimpl(tryfirst=True)  # before pytest-html renders its summary
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self.config.getoption(CORRECT_OPTION) == "holm" and not self.state.is_worker:
            # p-values are one-sided, against each claim's own threshold, from the bootstrap
            # that gives its CI: a 95% CI clears the threshold exactly when p <= ALPHA / 2
            self.demoted = correct_holm(self.state.records, ALPHA / 2)
            self.state.record_lines.clear()  # every record changed: serialise them afresh
            if self.demoted and session.exitstatus == 0:
                session.exitstatus = pytest.ExitCode.TESTS_FAILED
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
        for r in self.demoted:
            terminalreporter.write_line(f"FAILED after Holm correction: {r['test']}: {r['claim']} "
                                        f"(p={r['p']:.3g}, adjusted {r['p_adjusted']:.3g})")
        vacuous = [r for r in records if r.get("vacuous")]
        for r in vacuous:
            v = r["details"]["vacuity"]
            terminalreporter.write_line(f"VACUOUS: {r['test']}: {r['claim']} (also holds for "
                                        f"{v['passed']} of {v['k']} random units)")
        if self.state.json_path is not None:
            terminalreporter.write_line(f"neurospec results: {self.state.json_path}")


def correct_holm(records: list[dict], alpha: float) -> list[dict]:
    """Holm-adjust the p-values of all claim records in place; a passing claim whose
    adjusted p exceeds ``alpha`` becomes a failure.  Returns the demoted records."""
    import numpy as np

    from neurospec.stats.multiple import holm

    def p_of(r: dict) -> float:
        p = r.get("p")
        return float(p) if isinstance(p, (int, float)) else float("nan")

    adjusted = holm([p_of(r) for r in records])
    tested = int(np.isfinite(adjusted).sum())
    demoted = []
    for r, adj in zip(records, adjusted):
        if np.isfinite(adj):
            r["p_adjusted"] = float(adj)
            if r["verdict"] == "pass" and adj > alpha:
                r["verdict"] = "fail"
                r["missed"] = (f"Holm-adjusted p={adj:.3g} > {alpha} across the run's "
                               f"{tested} claims")
                demoted.append(r)
    return demoted


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
        from neurospec.report.html import run_overview, stylesheet

        prefix.append(f"<style>{stylesheet()}</style>")
        if self.state.records:
            prefix.append(run_overview([Record.from_dict(r) for r in self.state.records]))
