"""Validity tests (issue 13): each closes a way a false claim used to pass, and true claims
that must still pass.  Model fixtures as in tests/integration."""

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def manifest() -> dict:
    return json.loads((ROOT / "fixtures" / "models" / "tiny-bilingual" / "MANIFEST.json")
                      .read_text())


@pytest.fixture(scope="session")
def tiny():
    from neurospec.models import load_model

    return load_model("tiny-bilingual", device="cpu")
