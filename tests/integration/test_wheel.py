"""The wheel works anywhere: built from this tree, installed (not editable) into a new venv
outside the repository, ``neurospec init`` writes a starter project whose claims pass at once
against the bundled model and data that travel inside the wheel."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _run(cmd, **kw) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, capture_output=True, text=True, **kw)
    assert proc.returncode == 0, f"{cmd}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


@pytest.mark.slow
def test_wheel_in_a_fresh_venv_runs_a_new_project(tmp_path):
    wheels = tmp_path / "wheels"
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
          "-w", str(wheels), str(ROOT)], timeout=600)
    wheel = next(wheels.glob("neurospec-*.whl"))
    # The new venv must not see this checkout: with PYTHONPATH pointing at a source tree, pip
    # would take neurospec as installed already and skip the wheel.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", str(venv)], timeout=300, env=env)
    py = venv / "bin" / "python"
    pip = [str(py), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    _run(pip + ["torch==2.13.0"], timeout=900, env=env)
    _run(pip + ["-c", str(ROOT / "constraints.txt"), str(wheel)], timeout=900, env=env)

    outside = tmp_path / "elsewhere"
    outside.mkdir()
    env.update(HF_HUB_OFFLINE="1", OMP_NUM_THREADS="1")
    where = _run([str(py), "-c", "import neurospec; print(neurospec.__file__)"],
                 cwd=outside, env=env).stdout.strip()
    assert Path(where).is_relative_to(venv), where  # the installed copy, not this checkout
    _run([str(venv / "bin" / "neurospec"), "init", "proj"], cwd=outside, env=env)
    project = outside / "proj"
    assert (project / ".github" / "workflows" / "claims.yml").is_file()
    proc = _run([str(py), "-m", "pytest", "-p", "no:cacheprovider"], cwd=project, env=env,
                timeout=900)
    assert "2 passed" in proc.stdout
    records = json.loads((project / "reports" / "run.json").read_text())["records"]
    assert [r["verdict"] for r in records] == ["pass"] * 3
    assert (project / "reports" / "run.html").is_file()
    # the model came out of the wheel's package data
    assert all(r["model"]["name"] == "tiny-bilingual" for r in records)
    # every bundled kind is in the wheel, the attribution graph found by its name
    code = ("from neurospec.bundled import KINDS, bundled; from neurospec.graph_claims import "
            "read_graph; print([k for k in KINDS if not any(bundled(k).iterdir())], "
            "len(read_graph('tiny-bilingual-german.json').links) > 0)")
    assert _run([str(py), "-c", code], cwd=outside, env=env).stdout.split() == ["[]", "True"]
