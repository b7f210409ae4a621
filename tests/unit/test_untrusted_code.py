"""No untrusted code runs: the package never unpickles without the user's trust option.

An AST scan of every module of ``neurospec/`` for the calls that can run code from a file:
``pickle``-family loads, ``torch.load`` without ``weights_only=True`` outside a function that
takes ``trust_pickle``, ``numpy.load(allow_pickle=True)``, ``trust_remote_code`` other than
False (or than the user's own choice passed on: a ``trust_remote_code`` parameter whose
default is False, or the pytest option that sets it), and model ``from_pretrained`` calls
that do not say ``use_safetensors``.  The scanner
is itself checked on a module full of such calls.
"""

from __future__ import annotations

import ast
import textwrap
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "neurospec"
PICKLERS = {"pickle", "cPickle", "_pickle", "dill", "cloudpickle", "joblib", "marshal", "shelve"}


def _dotted(node: ast.AST, aliases: dict[str, str]) -> str:
    """``torch.load`` for ``torch.load``, ``th.load`` (import torch as th) or ``load``
    (from torch import load)."""
    if isinstance(node, ast.Name):
        return aliases.get(node.id, node.id)
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value, aliases)}.{node.attr}"
    return "?"


def _kw(call: ast.Call, name: str):
    for k in call.keywords:
        if k.arg == name:
            return k.value
    return None


def _is_true(node) -> bool:
    return isinstance(node, ast.Constant) and node.value is True


class Scanner(ast.NodeVisitor):
    def __init__(self, where: str) -> None:
        self.where = where
        self.aliases: dict[str, str] = {}
        self.trusted_scopes: list[bool] = [False]
        self.code_scopes: list[bool] = [False]  # a trust_remote_code=False parameter is in scope
        self.problems: list[str] = []

    def _flag(self, node: ast.AST, what: str) -> None:
        self.problems.append(f"{self.where}:{node.lineno}: {what}")

    def visit_Import(self, node: ast.Import) -> None:
        for a in node.names:
            self.aliases[(a.asname or a.name).split(".")[0]] = (
                a.name if a.asname else a.name.split(".")[0])
            if a.name.split(".")[0] in PICKLERS:
                self._flag(node, f"imports {a.name}")

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        for a in node.names:
            self.aliases[a.asname or a.name] = f"{node.module}.{a.name}"
        if (node.module or "").split(".")[0] in PICKLERS:
            self._flag(node, f"imports from {node.module}")

    def visit_FunctionDef(self, node) -> None:
        params = {a.arg for a in node.args.args + node.args.kwonlyargs}
        self.trusted_scopes.append(self.trusted_scopes[-1] or "trust_pickle" in params)
        args = node.args.args + node.args.kwonlyargs
        defaults = dict(zip([a.arg for a in node.args.args][::-1], node.args.defaults[::-1]))
        defaults.update({a.arg: d for a, d in zip(node.args.kwonlyargs, node.args.kw_defaults)})
        code = any(a.arg == "trust_remote_code" for a in args)
        default = defaults.get("trust_remote_code")
        if code and default is not None and not (isinstance(default, ast.Constant)
                                                 and default.value is False):
            self._flag(node, "a trust_remote_code parameter whose default is not False")
        self.code_scopes.append(self.code_scopes[-1] or code)
        self.generic_visit(node)
        self.trusted_scopes.pop()
        self.code_scopes.pop()

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Call(self, node: ast.Call) -> None:
        name = _dotted(node.func, self.aliases)
        root, last = name.split(".")[0], name.split(".")[-1]
        if root in PICKLERS or last in ("Unpickler", "loads") and "pickle" in name:
            self._flag(node, f"calls {name}")
        if name == "torch.load" and not _is_true(_kw(node, "weights_only")) \
                and not self.trusted_scopes[-1]:
            self._flag(node, "torch.load without weights_only=True outside a trust_pickle "
                             "function")
        if last == "load" and root in ("numpy", "np") and _is_true(_kw(node, "allow_pickle")):
            self._flag(node, f"{name}(allow_pickle=True)")
        remote = _kw(node, "trust_remote_code")
        passed_on = (isinstance(remote, ast.Name) and remote.id == "trust_remote_code"
                     and self.code_scopes[-1])
        option = (isinstance(remote, ast.Call) and _dotted(remote.func, self.aliases)
                  .endswith("getoption") and len(remote.args) == 1
                  and _dotted(remote.args[0], self.aliases).endswith("TRUST_CODE_OPTION"))
        if remote is not None and not (isinstance(remote, ast.Constant) and remote.value is False
                                       or passed_on or option):
            self._flag(node, "trust_remote_code is not False")
        if last == "from_pretrained" and "Tokenizer" not in name and "Config" not in name \
                and _kw(node, "use_safetensors") is None:
            self._flag(node, f"{name} without use_safetensors=")
        self.generic_visit(node)


def scan(source: str, where: str = "<string>") -> list[str]:
    s = Scanner(where)
    s.visit(ast.parse(source))
    return s.problems


def test_package_never_unpickles_without_trust():
    problems = []
    files = sorted(PACKAGE.rglob("*.py"))
    assert len(files) > 30
    for path in files:
        problems += scan(path.read_text(encoding="utf-8"), str(path.relative_to(PACKAGE.parent)))
    assert not problems, "\n".join(problems)


def test_the_scanner_finds_every_kind_of_unguarded_load():
    bad = textwrap.dedent('''
        import pickle
        import torch as th
        import numpy as np
        from torch import load
        from transformers import AutoModelForCausalLM, AutoTokenizer

        def read(path):
            a = pickle.load(open(path, "rb"))
            b = th.load(path)
            c = load(path, weights_only=False)
            d = np.load(path, allow_pickle=True)
            e = AutoModelForCausalLM.from_pretrained(path)
            f = AutoModelForCausalLM.from_pretrained(path, use_safetensors=True,
                                                     trust_remote_code=True)
            g = AutoTokenizer.from_pretrained(path, trust_remote_code=path != "")

        def opted_in(path, trust_remote_code=True):
            return AutoTokenizer.from_pretrained(path, trust_remote_code=trust_remote_code)

        def elsewhere(path, trust=False):
            return AutoTokenizer.from_pretrained(path, trust_remote_code=trust)
    ''')
    found = scan(bad)
    for what in ("imports pickle", "calls pickle.load", "torch.load without", "allow_pickle",
                 "without use_safetensors", "trust_remote_code is not False",
                 "trust_remote_code parameter whose default is not False"):
        assert any(what in p for p in found), (what, found)
    assert sum("torch.load without" in p for p in found) == 2
    assert sum("trust_remote_code is not False" in p for p in found) == 3


def test_the_scanner_accepts_guarded_loads():
    good = textwrap.dedent('''
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        def safe(path):
            return torch.load(path, weights_only=True)

        def trusted(path, trust_pickle=False):
            if trust_pickle:
                return torch.load(path, weights_only=False)

        def model(path, pickles):
            AutoTokenizer.from_pretrained(path)
            return AutoModelForCausalLM.from_pretrained(path, use_safetensors=not pickles,
                                                        trust_remote_code=False)

        def chosen(path, *, trust_remote_code=False):
            return AutoTokenizer.from_pretrained(path, trust_remote_code=trust_remote_code)

        def fixture(config, path):
            return load_model(path, trust_remote_code=config.getoption(o.TRUST_CODE_OPTION))
    ''')
    assert scan(good) == []
