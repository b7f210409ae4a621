"""The how-to pages of docs/ as tests, one per page (see test_docs_examples.py): a file of
their own so that pytest-xdist's --dist loadfile runs them beside the other pages."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_docs_examples import DOCS, HOWTO, run_docs_page


@pytest.mark.parametrize("page", HOWTO, ids=[str(p.relative_to(DOCS)) for p in HOWTO])
def test_docs_howto_page_examples_run(page: Path, tmp_path: Path,
                                      request: pytest.FixtureRequest):
    run_docs_page(page, tmp_path, request)
