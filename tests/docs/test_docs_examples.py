"""Every page of docs/ outside how-to/ as one test: its code blocks run in a fresh scratch
project, in order (files written, python executed, console commands run and their shown output
checked). The convention is in tests/docs_examples.py; a page that breaks it fails with the line
and the fix. The how-to pages run from test_docs_howto_examples.py (a file of their own, so
xdist's --dist loadfile gives the two halves to different workers)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from docs_runner import ROOT, run_page

DOCS = ROOT / "docs"
PAGES = sorted(DOCS.rglob("*.md"))
HOWTO = [p for p in PAGES if p.parent.name == "how-to"]
OTHERS = [p for p in PAGES if p not in HOWTO]


def run_docs_page(page: Path, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    scratch = tmp_path / "project"
    scratch.mkdir()
    skipped = run_page(page, scratch, name=str(page.relative_to(ROOT)))
    request.node.user_properties.extend(("docs-skip", reason) for reason in skipped)


@pytest.mark.parametrize("page", OTHERS, ids=[str(p.relative_to(DOCS)) for p in OTHERS])
def test_docs_page_examples_run(page: Path, tmp_path: Path, request: pytest.FixtureRequest):
    run_docs_page(page, tmp_path, request)


def test_docs_pages_exist():
    # an empty glob would make the parametrized tests vanish, not fail
    assert (DOCS / "tutorial.md") in OTHERS and (DOCS / "index.md") in OTHERS
    assert len(HOWTO) >= 10, HOWTO


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


def test_the_readme_quotes_only_what_the_tutorial_checks():
    # README.md is not run; the measurement it quotes must be one the tutorial's run checks
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    quoted = re.findall(r"`(measured [^`]+)`", readme)
    assert quoted, "README.md quotes no measurement: update this test"
    tutorial = (DOCS / "tutorial.md").read_text(encoding="utf-8")
    for line in quoted:
        assert line in tutorial, f"README.md quotes {line!r}, which docs/tutorial.md does not show"
    assert 'by_at_least=1.5' in readme and 'neuron("L0N125")' in readme
