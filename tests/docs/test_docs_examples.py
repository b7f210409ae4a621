"""Every page of docs/ as one test: its code blocks run in a fresh scratch project, in order
(files written, python executed, console commands run and their shown output checked). The
convention is in tests/docs_examples.py; a page that breaks it fails with the line and the fix.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from docs_runner import ROOT, run_page

DOCS = ROOT / "docs"
PAGES = sorted(DOCS.rglob("*.md"))


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(DOCS)) for p in PAGES])
def test_docs_page_examples_run(page: Path, tmp_path: Path, request: pytest.FixtureRequest):
    scratch = tmp_path / "project"
    scratch.mkdir()
    skipped = run_page(page, scratch, name=str(page.relative_to(ROOT)))
    request.node.user_properties.extend(("docs-skip", reason) for reason in skipped)


def test_docs_pages_exist():
    # an empty glob would make the parametrized test above vanish, not fail
    assert (DOCS / "tutorial.md") in PAGES and (DOCS / "index.md") in PAGES
