import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TINY = ROOT / "fixtures" / "models" / "tiny-bilingual"


@pytest.fixture(scope="session")
def manifest() -> dict:
    return json.loads((TINY / "MANIFEST.json").read_text())


@pytest.fixture(scope="session")
def tiny():
    from neurospec.models import load_model

    return load_model("tiny-bilingual", device="cpu")


@pytest.fixture(scope="session")
def small_sets():
    """The first 40 held-out documents of each language: enough for exact comparisons."""
    from neurospec.data.corpus import load_corpus

    return load_corpus("german").subset(40), load_corpus("english").subset(40)
