"""The reference pages cover what the code has: every claim method and record kind
(docs/reference/claims.md), every option, ini key and default (options.md), every subcommand
and its options (cli.md), and every field the results writer emits (results-json.md).

Each list is read off the code (the claims classes, pytest's parser, argparse, the record
types and a real results file), never kept by hand, so a new claim, option or field fails
here until its page says what it is."""

from __future__ import annotations

import ast
import contextlib
import importlib
import inspect
import io
import json
import os
import pkgutil
import re
import subprocess
import sys
import typing
import warnings
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "docs" / "reference"


def page(name: str) -> str:
    return (REFERENCE / name).read_text(encoding="utf-8")


def quoted(text: str) -> set[str]:
    """Every name a page shows in backticks (and every word inside a backticked span); fence
    lines are left out (their backticks would pair with the text's)."""
    text = "\n".join(line for line in text.splitlines()
                     if not line.lstrip().startswith(("```", "~~~")))
    spans = re.findall(r"`([^`]+)`", text)
    return set(spans) | {w for s in spans for w in re.findall(r"[A-Za-z_][\w-]*", s)}


def claim_classes() -> list[type]:
    """Every class a test states claims on: the subclasses of ``Stated`` defined in
    ``neurospec.claims`` (the expectations of every unit kind, ablation chains, layers,
    transcoder replacements)."""
    import neurospec.claims as claims
    from neurospec.claims.expectation import Stated

    found = []
    for info in pkgutil.iter_modules(claims.__path__):
        module = importlib.import_module(f"neurospec.claims.{info.name}")
        found += [obj for obj in vars(module).values() if inspect.isclass(obj)
                  and issubclass(obj, Stated) and obj.__module__ == module.__name__]
    return found


def claim_methods() -> set[str]:
    from neurospec.claims.expectation import claims_of
    from neurospec.claims.statements import FOLLOW_UPS

    names = {n for cls in claim_classes() for n in claims_of(cls)}
    return names | set(FOLLOW_UPS)


def record_kinds() -> set[str]:
    """The ``kind`` of every record a claim builds: string constants passed as ``kind=`` or
    assigned to ``kind`` in ``neurospec/claims`` (through conditional expressions)."""
    kinds: set[str] = set()

    def strings(node: ast.AST) -> set[str]:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return {node.value}
        if isinstance(node, ast.IfExp):
            return strings(node.body) | strings(node.orelse)
        return set()

    for path in (ROOT / "neurospec" / "claims").glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        # inside functions only: a class's ``kind = "head"`` names its unit kind
        functions = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)]
        for node in (n for f in functions for n in ast.walk(f)):
            if isinstance(node, ast.keyword) and node.arg == "kind":
                kinds |= strings(node.value)
            elif isinstance(node, ast.Assign) and any(
                    isinstance(t, ast.Name) and t.id == "kind" for t in node.targets):
                kinds |= strings(node.value)
    return kinds


def test_every_claim_method_is_in_the_overview_and_described():
    text = page("claims.md")
    overview = text.split("## What every claim shares")[0]
    methods = claim_methods()
    assert {"activates_more", "raises_loss", "drives", "beats_random_units"} <= methods
    not_in_table = sorted(m for m in methods if f"`{m}" not in overview)
    assert not not_in_table, f"claims.md's overview table lacks {not_in_table}"
    undescribed = sorted(m for m in methods if f"{m}(" not in text)
    assert not undescribed, f"claims.md shows no signature for {undescribed}"


def test_every_record_kind_is_in_the_claims_page():
    kinds = record_kinds()
    assert {"activation_contrast", "sae_feature", "ablation_loss", "transcoder_edge"} <= kinds
    missing = sorted(kinds - quoted(page("claims.md")))
    assert not missing, f"claims.md does not name the record kinds {missing}"


def test_a_claim_method_missing_from_the_page_is_caught(monkeypatch):
    # the check above can fail: a new claim method appears in claim_methods()
    from neurospec.claims.layer import LayerExpectation

    monkeypatch.setattr(LayerExpectation, "carries_nothing", lambda self: None, raising=False)
    assert "carries_nothing" in claim_methods()
    assert "carries_nothing" not in page("claims.md")


def plugin_options() -> tuple[list[tuple[str, object]], list[str]]:
    """(long option, default) of every option the plugin adds, and its ini keys."""
    from _pytest.config.argparsing import Parser

    from neurospec.plugin.options import add_options

    with warnings.catch_warnings():  # building a Parser directly is pytest-internal
        warnings.simplefilter("ignore", pytest.PytestDeprecationWarning)
        parser = Parser()
    add_options(parser)
    options = [(name, opt.default) for group in parser._groups for opt in group.options
               for name in opt.names() if name.startswith("--")]
    return options, list(parser._inidict)


def shown_default(value: object) -> str | None:
    """How a default appears in the options table, or None for defaults with no value
    (unset, off, an empty list)."""
    if value is None or isinstance(value, bool) or value == []:
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def test_every_option_and_ini_key_is_in_the_options_page_with_its_default():
    text = page("options.md")
    options, ini = plugin_options()
    assert len(options) >= 25 and "neurospec_model" in ini
    rows = [line for line in text.splitlines() if line.startswith("| `--")]
    for name, default in options:
        row = [r for r in rows if r.startswith(f"| `{name}")]
        assert row, f"options.md has no row for {name}"
        shown = shown_default(default)
        assert shown is None or shown in row[0], f"options.md's row of {name} lacks {shown!r}"
    missing = sorted(k for k in ini if f"`{k}`" not in text)
    assert not missing, f"options.md lacks the ini keys {missing}"


def cli_help(*argv: str) -> str:
    from neurospec.cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit):
        main([*argv, "-h"])
    return out.getvalue()


def test_every_subcommand_and_its_options_are_in_the_cli_page():
    text = page("cli.md")
    usage = cli_help()
    commands = re.search(r"\{([\w,-]+)\}", usage)
    assert commands is not None, usage
    for command in commands.group(1).split(","):
        assert re.search(rf"^## {re.escape(command)}$", text, re.M), f"cli.md: no ## {command}"
        flags = set(re.findall(r"(?<![\w-])(--[a-z][a-z-]+)", cli_help(command))) - {"--help"}
        missing = sorted(f for f in flags if f not in text)
        assert not missing, f"cli.md lacks {command}'s options {missing}"


def typed_keys(hint: object, seen: set[int]) -> set[str]:
    """Every key of a TypedDict and of the TypedDicts inside it."""
    if id(hint) in seen:
        return set()
    seen.add(id(hint))
    keys: set[str] = set()
    if typing.is_typeddict(hint):
        hints = typing.get_type_hints(hint)
        keys |= set(hints)
        for value in hints.values():
            keys |= typed_keys(value, seen)
    for arg in typing.get_args(hint):
        keys |= typed_keys(arg, seen)
    return keys


def test_every_record_field_and_payload_key_is_in_the_results_page():
    from dataclasses import fields

    from neurospec.evidence import payloads
    from neurospec.evidence.jsonio import results_document
    from neurospec.evidence.record import Record
    from neurospec.evidence.results import FRAME_COLUMNS

    shown = quoted(page("results-json.md"))
    wanted = set(results_document([])) | {f.name for f in fields(Record)} | set(FRAME_COLUMNS)
    for hint in (payloads.ModelInfo, payloads.Data, payloads.Details, payloads.Charts):
        wanted |= typed_keys(hint, set())
    missing = sorted(wanted - shown)
    assert not missing, f"results-json.md does not name {missing}"


def keys_of(doc: dict) -> set[str]:
    """The keys a real results file holds: top level, meta (and its objects), and every
    record's fields with the keys of model, data, details and charts."""
    keys = set(doc) | set(doc["meta"])
    keys |= {k for v in doc["meta"].values() if isinstance(v, dict) for k in v}
    for record in doc["records"]:
        keys |= set(record)
        keys |= {k for part in ("model", "data", "details", "charts") for k in record[part]}
    return keys


def test_a_real_results_file_has_no_field_the_page_does_not_name(tmp_path):
    (tmp_path / "test_planted.py").write_text(
        "import pytest\nfrom neurospec import expect\n"
        "pytestmark = pytest.mark.model('planted')\n"
        "def test_animals(corpus):\n"
        "    expect('L0N0').activates_more(on=corpus('planted_animals'),\n"
        "                                  than=corpus('planted_plain'), by_at_least=0.05)\n"
        "    expect('L0N0').ablated(to='zero').raises_loss(on=corpus('planted_animals'),\n"
        "                                                  by_at_least=0.01)\n",
        encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "NEUROSPEC_"))}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    env["HF_HUB_OFFLINE"] = "1"
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "--neurospec-json=run.json", "test_planted.py"], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    doc = json.loads((tmp_path / "run.json").read_text(encoding="utf-8"))
    assert len(doc["records"]) == 2
    missing = sorted(keys_of(doc) - quoted(page("results-json.md")))
    assert not missing, f"results-json.md does not name {missing}, which a real run writes"
