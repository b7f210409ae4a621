"""The public names are visible (``dir()``, ``__all__``, a type checker's view) while start-up
stays light: importing neurospec, ``pytest --help`` and ``neurospec compare`` load no torch."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

NAMES = {"expect", "expect_layer", "corpus", "neuron", "head", "load_model", "load_corpus",
         "Corpus", "Model", "ModelBackend", "read_results", "register_unit_kind", "UnitKind"}


def _run(code: str, cwd: Path | None = None) -> str:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=cwd, timeout=300).stdout


def test_public_names_are_listed_and_seen_by_dir():
    out = _run("import sys, neurospec; print(sorted(set(dir(neurospec)) & set(neurospec.__all__)));"
               "print('TORCH' if 'torch' in sys.modules else 'NO TORCH')")
    listed, torch = out.splitlines()
    assert NAMES <= set(eval(listed))  # noqa: S307 - our own printed list
    assert torch == "NO TORCH"


def test_every_public_name_resolves():
    import neurospec

    for name in neurospec.__all__:
        assert getattr(neurospec, name) is not None, name


def test_a_type_checker_sees_the_lazy_names():
    text = (Path(__file__).resolve().parents[2] / "neurospec" / "__init__.py").read_text()
    block = text.split("if TYPE_CHECKING:")[1].split("\n\n")[0]
    for name in ("expect", "load_model", "Corpus", "Model", "read_results", "ModelBackend"):
        assert f" {name}" in block or f"import {name}" in block, name


def test_compare_loads_no_torch(tmp_path):
    from neurospec.evidence.jsonio import write_results
    from neurospec.report.samples import sample_records

    path = tmp_path / "run.json"
    write_results(path, sample_records(3))
    out = _run("import sys; from neurospec.cli import main; "
               f"main(['compare', {str(path)!r}, {str(path)!r}]); "
               "print('TORCH' if 'torch' in sys.modules else 'NO TORCH')")
    assert out.strip().endswith("NO TORCH"), out[-300:]
