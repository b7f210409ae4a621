"""``neurospec init``: writes the starter project, never overwrites, refuses a file as folder.
(That the starter's claims pass, from an installed wheel, is tests/integration/test_wheel.py.)"""

import pytest
import tomllib

from neurospec.cli import main
from neurospec.data.corpus import load_corpus
from neurospec.errors import NeurospecError
from neurospec.scaffold import FILES, init_project


def test_init_writes_the_starter_project(tmp_path, capsys):
    assert main(["init", str(tmp_path / "proj")]) == 0
    proj = tmp_path / "proj"
    for dst in FILES.values():
        assert (proj / dst).is_file(), dst
    ini = tomllib.loads((proj / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    assert ini["neurospec_model"] == "tiny-bilingual" and ini["neurospec_data"] == ["data"]
    assert ini["testpaths"] == ["hypotheses"]
    # the user's own data load as corpora, with enough documents for a claim
    for name in ("my_german", "my_english"):
        assert len(load_corpus(name, [proj / "data"])) >= 20
    assert "wrote" in capsys.readouterr().out


def test_init_never_overwrites(tmp_path, capsys):
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'mine'\n")
    assert main(["init", str(tmp_path)]) == 2
    assert "not overwriting" in capsys.readouterr().err
    assert (tmp_path / "pyproject.toml").read_text() == "[project]\nname = 'mine'\n"
    assert not (tmp_path / "hypotheses").exists()  # nothing written at all


def test_init_refuses_a_file(tmp_path):
    (tmp_path / "f").write_text("")
    with pytest.raises(NeurospecError, match="is a file"):
        init_project(tmp_path / "f")
