"""The docs site in a real browser: built strictly from docs/ and mkdocs.yml, served by a local
http.server thread (127.0.0.1 only), opened in headless Chromium. The tutorial page renders (its
title, a highlighted code block, the navigation to the other sections) without a console error,
and the search works offline: Material's lunr index is built in the browser from the site's own
search_index.json, so typing a word lists the pages that hold it."""

from __future__ import annotations

import functools
import importlib.util
import os
import re
import subprocess
import sys
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = Path(os.environ.get("NEUROSPEC_SCREENSHOTS", ROOT / "reports" / "screenshots"))


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the base class's signature
        pass


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The URL of the freshly built site, served until the module's tests end."""
    if importlib.util.find_spec("mkdocs") is None or importlib.util.find_spec("material") is None:
        reason = "mkdocs-material is not installed: pip install -e '.[docs]'"
        if os.environ.get("NEUROSPEC_REQUIRE_BROWSER"):  # set by .ci/run: there, an error
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    folder = tmp_path_factory.mktemp("site")
    built = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-d",
                            str(folder)], cwd=ROOT, capture_output=True, text=True, timeout=300,
                           env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert built.returncode == 0, built.stdout + built.stderr
    server = ThreadingHTTPServer(("127.0.0.1", 0),
                                 functools.partial(_Quiet, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _open(browser, url: str):
    driver = browser.driver
    driver.get("about:blank")
    driver.get_log("browser")
    driver.get(url)
    return driver


def test_tutorial_page_renders_with_code_and_navigation(browser, site):
    driver = _open(browser, f"{site}/tutorial.html")
    assert driver.title.startswith("Tutorial")
    heading = browser.css("article h1")
    assert heading and heading[0].is_displayed()
    code = [c for c in browser.css("article .highlight pre code") if c.is_displayed()]
    assert code, "no highlighted code block is shown"
    assert "neurospec" in " ".join(c.text for c in code)
    nav = {a.get_attribute("textContent").strip() for a in browser.css(".md-nav__link")}
    assert {"Tutorial", "How-to guides", "Reference", "Explanation"} <= nav
    errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == []
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    assert browser.screenshot(SCREENSHOTS / "docs-tutorial.png") > 50  # rendered, not blank


def test_search_finds_pages_offline(browser, site):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ready
    from selenium.webdriver.support.ui import WebDriverWait

    driver = _open(browser, f"{site}/index.html")
    box = WebDriverWait(driver, 10).until(ready.element_to_be_clickable(
        (By.CSS_SELECTOR, "input.md-search__input")))  # in the header on a wide window
    box.click()
    box.send_keys("virtual")  # a word of the tutorial's set-up that no other page holds
    results = WebDriverWait(driver, 30).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, ".md-search-result__item a"))
    links = {a.get_attribute("href") for a in results}
    assert f"{site}/tutorial.html" in {re.split("[?#]", link)[0] for link in links}
    box.clear()
    box.send_keys("zqxjkwv")  # a word no page holds: no result
    WebDriverWait(driver, 10).until(
        lambda d: not d.find_elements(By.CSS_SELECTOR, ".md-search-result__item"))
    assert "No matching documents" in browser.css(".md-search-result__meta")[0].text
