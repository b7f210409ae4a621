"""Every bundled kind travels in the wheel: each file under fixtures/<kind> is matched by the
package-data globs that map fixtures/ to neurospec/_fixtures (pyproject.toml), and an installed
layout (neurospec/_fixtures) is where bundled() looks first.  (The wheel itself, built and
installed in a fresh venv, is tests/integration/test_wheel.py.)"""

import shutil
from pathlib import Path

import pytest
import tomllib

import neurospec.bundled as b
from neurospec.graph_claims import find_graph, read_graph

ROOT = Path(__file__).resolve().parents[2]


def _globs() -> list[str]:
    cfg = tomllib.loads((ROOT / "pyproject.toml").read_text())
    globs: list[str] = cfg["tool"]["setuptools"]["package-data"]["neurospec._fixtures"]
    return globs


@pytest.mark.parametrize("kind", b.KINDS)
def test_each_bundled_kind_is_package_data(kind):
    folder = ROOT / "fixtures" / kind
    files = {p for p in folder.rglob("*") if p.is_file()}
    assert files, f"nothing bundled under fixtures/{kind}"
    shipped = {p for g in _globs() for p in (ROOT / "fixtures").glob(g) if p.is_file()}
    assert not files - shipped, sorted(str(p) for p in files - shipped)[:5]
    assert b.bundled(kind) == folder


def test_bundled_refuses_an_unknown_kind():
    with pytest.raises(ValueError, match="graphs"):
        b.bundled("graph")


def test_an_installed_layout_finds_its_graphs_by_name(tmp_path, monkeypatch):
    pkg = tmp_path / "site" / "neurospec"
    (pkg / "_fixtures" / "graphs").mkdir(parents=True)
    name = "tiny-bilingual-german.json"
    shutil.copy(ROOT / "fixtures" / "graphs" / name, pkg / "_fixtures" / "graphs" / name)
    monkeypatch.setattr(b, "_PACKAGE", pkg)
    monkeypatch.chdir(tmp_path)  # no graph file of that name here
    assert b.bundled("graphs") == pkg / "_fixtures" / "graphs"
    assert find_graph(name) == pkg / "_fixtures" / "graphs" / name
    assert read_graph(name).links  # read from there
    monkeypatch.setattr(b, "_PACKAGE", tmp_path / "elsewhere" / "neurospec")
    with pytest.raises(Exception, match="nor a bundled graph"):
        read_graph(name)
