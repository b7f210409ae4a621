"""Every page of docs/ as one test: its code blocks run in a fresh scratch project, in order
(files written, python executed, console commands run and their shown output checked). The
convention is in tests/docs_examples.py; a page that breaks it fails with the line and the fix.
"""

from __future__ import annotations

import re
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


_LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")


def _local_targets(page: Path) -> list[str]:
    text = page.read_text(encoding="utf-8")
    text = re.sub(r"```.*?```", "", text, flags=re.S)  # links inside code are not links
    return [t for t in _LINK.findall(text)
            if not re.match(r"[a-z]+:|#", t)]  # web addresses and same-page anchors aside


@pytest.mark.parametrize("page", [*PAGES, ROOT / "README.md"],
                         ids=[*(str(p.relative_to(DOCS)) for p in PAGES), "README.md"])
def test_images_and_relative_links_resolve(page: Path):
    # mkdocs --strict checks links between pages but not images; README.md is not built at all
    missing = [t for t in _local_targets(page)
               if not (page.parent / t.split("#")[0]).exists()]
    assert missing == [], f"{page.relative_to(ROOT)} points at files that do not exist: {missing}"
