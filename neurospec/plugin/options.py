"""The plugin's command-line options and ini values, and the checks on them.

Every value a user types reaches neurospec through here: ``add_options`` declares them,
``validate`` refuses bad ones at configure time (with the fix), and the small readers
(``seed``, ``data_dirs``) resolve an option against its ini fallback.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

MODEL_OPTION = "--model"
DEVICE_OPTION = "--device"
DTYPE_OPTION = "--dtype"
BACKEND_OPTION = "--neurospec-backend"
REMOTE_OPTION = "--neurospec-remote"
SEED_OPTION = "--neurospec-seed"
JSON_OPTION = "--neurospec-json"
DATA_OPTION = "--neurospec-data"
MODEL_DIR_OPTION = "--neurospec-model-dir"
TRUST_OPTION = "--neurospec-trust-pickle"
TRUST_CODE_OPTION = "--neurospec-trust-remote-code"
MAX_CONTEXT_OPTION = "--neurospec-max-context"
MIN_DOCS_OPTION = "--neurospec-min-docs"
THREADS_OPTION = "--neurospec-threads"
NO_BOS_OPTION = "--neurospec-no-bos"
DEVICES_OPTION = "--neurospec-devices"
BATCH_OPTION = "--neurospec-max-batch-tokens"
CACHE_OPTION = "--neurospec-cache-mb"
VACUITY_OPTION = "--neurospec-vacuity"
STRICT_OPTION = "--neurospec-strict"
CORRECT_OPTION = "--neurospec-correct"
SEQUENTIAL_OPTION = "--neurospec-sequential"
CHECKPOINT_OPTION = "--checkpoint"
REQUIRE_OPTION = "--neurospec-require-models"
CHECKPOINT_VERDICT_OPTION = "--neurospec-checkpoint-verdict"
CHECKPOINT_VERDICTS = ("every", "final", "no-regression")
HTML_CARDS_OPTION = "--neurospec-html-max-cards"
HTML_CARDS = 1000  # as `neurospec report --max-cards`: a page of ~15 MB
ALPHA = 0.05


def add_options(parser: pytest.Parser) -> None:
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
    group.addoption(CHECKPOINT_VERDICT_OPTION, default="no-regression",
                    choices=CHECKPOINT_VERDICTS,
                    help="with several --checkpoint: 'every' checkpoint must pass each claim; "
                         "'final': the last one must; 'no-regression' (default): a claim must "
                         "hold from some checkpoint on to the last (failing before it holds is "
                         "fine; holding and then failing at a later one fails the run)")
    group.addoption(DEVICE_OPTION, default="auto", choices=("auto", "cpu", "cuda"),
                    help="device for models (default: cuda when available)")
    group.addoption(BACKEND_OPTION, default=None, choices=("transformer_lens", "nnsight"),
                    help="how models run: 'transformer_lens' (default; a TransformerBridge) or "
                         "'nnsight' (the Hugging Face model through nnsight; needs "
                         "neurospec[nnsight]); a test's model marker may set backend=")
    group.addoption(REMOTE_OPTION, default=None, choices=("ndif", "local"),
                    help="run the claims' traces remotely through nnsight: 'ndif' (NDIF's "
                         "hosted models; key in NDIF_API_KEY) or 'local' (nnsight's local "
                         "simulation of a remote run, offline); a marker may set remote=")
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
    group.addoption(TRUST_CODE_OPTION, action="store_true", default=False,
                    help="allow models whose config asks for their own Python code (auto_map); "
                         "that code runs with your permissions: only for code you have read")
    group.addoption(MAX_CONTEXT_OPTION, type=int, default=None, metavar="N",
                    help="cut documents to at most N tokens (default: the model's context); for "
                         "long-context models whose attention over a long document would not "
                         "fit in memory")
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
    group.addoption(SEQUENTIAL_OPTION, action="store_true", default=None,
                    help="claims with a confidence sequence (activates_more, raises_loss, "
                         "fires_on) read their documents in a seeded random order, in growing "
                         "batches, and stop once the sequence decides (a claim's own "
                         "sequential= wins; ini: neurospec_sequential)")
    group.addoption(CORRECT_OPTION, default="none", choices=("none", "holm"),
                    help="correct the claims' p-values for their number (Holm); a passing "
                         "claim whose adjusted p exceeds 0.025 (the one-sided level of its 95%% "
                         "CI) fails the run")
    group.addoption(REQUIRE_OPTION, action="store_true", default=None,
                    help="a model that cannot be loaded here (an offline hub model) fails its "
                         "tests instead of skipping them (use it in CI)")
    group.addoption(HTML_CARDS_OPTION, type=int, default=HTML_CARDS, metavar="N",
                    help="evidence cards in pytest-html's page, what needs attention first "
                         f"(default {HTML_CARDS}; 0: all); the summary lists every claim and "
                         "the results JSON keeps every record")
    parser.addini("neurospec_sequential", "as --neurospec-sequential", type="bool",
                  default=False)
    parser.addini("neurospec_require_models", "as --neurospec-require-models", type="bool",
                  default=False)
    parser.addini("neurospec_model", "default model (as --model)", default=None)
    parser.addini("neurospec_json", "results JSON path (as --neurospec-json)", default=None)
    parser.addini("neurospec_data", "dataset folders, relative to the rootdir", type="paths",
                  default=[])
    parser.addini("neurospec_seed", "seed (as --neurospec-seed)", default="0")


def validate(config: pytest.Config) -> None:
    """Refuse option values that cannot work, before any test runs (``pytest.UsageError``
    naming the option and a value that works)."""
    if (config.getoption(BATCH_OPTION) or 1) < 1 or config.getoption(CACHE_OPTION) < 0:
        raise pytest.UsageError(f"{BATCH_OPTION} must be >= 1 token and {CACHE_OPTION} >= 0 MB "
                                f"(e.g. {BATCH_OPTION}=4096 {CACHE_OPTION}=512)")


def json_path(config: pytest.Config) -> Path | None:
    path = config.getoption(JSON_OPTION)
    if path is None:
        path = config.getini("neurospec_json") or None
    elif not path.strip():
        raise pytest.UsageError(f"{JSON_OPTION}={path!r}: give the path of the results file, "
                                f"e.g. {JSON_OPTION}=reports/run.json (or leave the option out)")
    return Path(path) if path else None


def html_path(config: pytest.Config) -> Path | None:
    path = getattr(config.option, "htmlpath", None)
    return Path(os.path.expandvars(path)).expanduser() if path else None


def check_outputs(config: pytest.Config) -> list[str]:
    """The results JSON and pytest-html's page must be writable, and may replace only files
    of their own kind (checked on the controller).  Returns notes to show (a path that is a
    symbolic link)."""
    from neurospec.errors import OutputError
    from neurospec.evidence.outputs import prepare

    notes = []
    for path, option, kind, example in ((json_path(config), JSON_OPTION, "results",
                                         "reports/run.json"),
                                        (html_path(config), "--html", "html", "reports/run.html")):
        if path is None:
            continue
        # Before pytest-html's own configure, which crashes with an INTERNALERROR.
        check_writable(path, option, example)
        try:
            notes.append(prepare(path, kind, option)[1])
        except OutputError as exc:
            raise pytest.UsageError(str(exc)) from None
    return [n for n in notes if n]


def check_writable(path: Path, option: str, example: str) -> None:
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


def seed(config: pytest.Config) -> int:
    value = config.getoption(SEED_OPTION)
    return int(value if value is not None else config.getini("neurospec_seed") or 0)


def data_dirs(config: pytest.Config) -> tuple[Path, ...]:
    dirs = [Path(d) for d in config.getoption(DATA_OPTION)]
    dirs += [Path(d) for d in config.getini("neurospec_data")]
    return tuple(dirs)


def vacuity(config: pytest.Config, node) -> tuple[int, bool]:
    """The test's vacuity check: ``(k random units, strict)`` from the options or its
    ``@pytest.mark.vacuity(k, strict=...)``."""
    k, strict = config.getoption(VACUITY_OPTION), config.getoption(STRICT_OPTION)
    marker = node.get_closest_marker("vacuity")
    if marker is not None:
        k = marker.args[0] if marker.args else marker.kwargs.get("k", 20)
        strict = strict or bool(marker.kwargs.get("strict", False))
    if isinstance(k, bool) or not isinstance(k, int) or k < 0:
        raise pytest.UsageError(f"{VACUITY_OPTION}={k}: give a number of random units "
                                f">= 0, e.g. {VACUITY_OPTION}=20")
    return k, strict


def require_models(config: pytest.Config) -> bool:
    """``--neurospec-require-models`` or its ini value."""
    flag = config.getoption(REQUIRE_OPTION)
    return bool(flag) if flag is not None else bool(config.getini("neurospec_require_models"))


def sequential(config: pytest.Config) -> bool:
    """Sequential mode from ``--neurospec-sequential`` or the ``neurospec_sequential`` ini."""
    value = config.getoption(SEQUENTIAL_OPTION)
    return bool(config.getini("neurospec_sequential") if value is None else value)
