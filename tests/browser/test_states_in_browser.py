"""A reviewer sees every outcome for what it is (issue 26): a run with an error, tests that
state no claim, a failure the test caught and an xfail that errored, opened in a real
browser, in pytest-html's report and in ``neurospec report``'s page: each is a row of its own
state, with why, in the summary; none reads as a pass or an expected failure."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from four_states import FOUR_STATES

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = Path(os.environ.get("NEUROSPEC_SCREENSHOTS", ROOT / "reports" / "screenshots"))
EXPECTED = {"test_holds": "pass", "test_mistyped_corpus": "error", "test_no_claim": "no claim",
            "test_lookup_without_call": "no claim", "test_caught": "caught",
            "test_mistyped_xfail": "errored xfail", "test_false": "expected fail"}


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    folder = tmp_path_factory.mktemp("states")
    (folder / "test_four.py").write_text(FOUR_STATES)
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--neurospec-json=run.json",
         "--html=run.html", "--self-contained-html", "test_four.py"],
        cwd=folder, capture_output=True, text=True, timeout=600)
    assert run.returncode == 1, run.stdout[-2000:]
    report = subprocess.run(
        [sys.executable, "-m", "neurospec.cli", "report", "run.json", "-o", "page.html"],
        cwd=folder, capture_output=True, text=True, timeout=300)
    assert report.returncode == 0, report.stderr
    return folder / "run.html", folder / "page.html"


def _rows(browser) -> dict[str, tuple[str, str]]:
    """Each visible summary row: test name -> (state badge, the row's text)."""
    rows = browser.js(
        "return [...document.querySelectorAll('.ns-summary-box .ns-row:not(.ns-hrow)')]"
        ".filter(r => r.offsetParent !== null)"
        ".map(r => [r.children[9].textContent, r.querySelector('.ns-badge').textContent,"
        "           r.innerText])")
    return {test.split("::")[-1]: (badge, text) for test, badge, text in rows}


@pytest.mark.parametrize("which", ["pytest-html", "neurospec report"])
def test_each_outcome_is_its_own_visible_state(browser, pages, which):
    page = pages[0] if which == "pytest-html" else pages[1]
    opened = browser.open(page)
    assert opened.errors == []
    rows = _rows(browser)
    assert {t: badge for t, (badge, _) in rows.items()} == EXPECTED
    # why each did not pass is in its row, where a reviewer reads it
    assert "no dataset named 'germn'" in rows["test_mistyped_corpus"][1]
    assert "no dataset named 'englsh'" in rows["test_mistyped_xfail"][1]
    assert "states no claim" in rows["test_no_claim"][1]
    assert ".activates_more was looked up but never called" in \
        rows["test_lookup_without_call"][1]
    # the counts line names each state apart, and the broken ones come first
    counts = browser.css(".ns-counts")[0].text
    for part in ("1 error", "1 errored xfail", "2 no claim", "1 caught", "1 pass",
                 "1 expected fail"):
        assert part in counts, (part, counts)
    order = browser.js(
        "return [...document.querySelectorAll('.ns-summary-box .ns-row:not(.ns-hrow)')]"
        ".sort((a, b) => getComputedStyle(a).order - getComputedStyle(b).order)"
        ".map(r => r.querySelector('.ns-badge').textContent)")
    assert sorted(order[:4]) == ["error", "errored xfail", "no claim", "no claim"]
    assert order[-1] == "expected fail"
    # the badges differ in colour from a pass
    colours = {badge: browser.js(
        "return getComputedStyle(document.querySelector('.ns-badge-' + arguments[0]))"
        ".backgroundColor", badge.replace(" ", "-")) for badge in set(EXPECTED.values())}
    assert len(set(colours.values())) == len(colours)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    name = "states-pytest-html.png" if which == "pytest-html" else "states-page.png"
    browser.driver.save_screenshot(str(SCREENSHOTS / name))
