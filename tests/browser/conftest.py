"""A headless Chromium for the report tests (Debian's ``chromium`` + ``chromium-driver``,
driven by selenium).  Without them every test here skips and says what to install."""

from __future__ import annotations

import os
import shutil
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import pytest

REQUIRE = "NEUROSPEC_REQUIRE_BROWSER"  # set by .ci/run: there, a missing browser is an error
INSTALL = ("apt-get install -y chromium chromium-driver && pip install -e '.[dev]' "
           "(selenium); or set NEUROSPEC_CHROMIUM / NEUROSPEC_CHROMEDRIVER")


def _binary(env: str, *names: str) -> str | None:
    if os.environ.get(env):
        return shutil.which(os.environ[env])  # None unless it exists and is executable
    return next((p for p in map(shutil.which, names) if p), None)


@dataclass
class Opened:
    """What a page did when it loaded: timings (ms), console errors, a screenshot."""

    dom_ms: float
    load_ms: float
    errors: list
    screenshot: bytes

    @property
    def colours(self) -> int:
        return png_colours(self.screenshot)


class Browser:
    def __init__(self, driver) -> None:
        self.driver = driver

    def open(self, path: Path) -> Opened:
        d = self.driver
        d.get("about:blank")
        d.get_log("browser")  # drop what an earlier page logged
        d.get(Path(path).resolve().as_uri())
        dom, load = d.execute_script(
            "const n = performance.getEntriesByType('navigation')[0];"
            "return [n.domContentLoadedEventEnd, n.loadEventEnd];")
        errors = [e for e in d.get_log("browser") if e["level"] == "SEVERE"]
        return Opened(dom, load, errors, d.get_screenshot_as_png())

    def screenshot(self, path: Path) -> int:
        """Save what the browser shows now to ``path``; how many colours it has (a blank page:
        a handful)."""
        png = self.driver.get_screenshot_as_png()
        Path(path).write_bytes(png)
        return png_colours(png)

    def js(self, script: str, *args):
        return self.driver.execute_script(script, *args)

    def css(self, selector: str):
        from selenium.webdriver.common.by import By

        return self.driver.find_elements(By.CSS_SELECTOR, selector)


def _unavailable(reason: str):
    if os.environ.get(REQUIRE):
        pytest.fail(f"{reason} but {REQUIRE} is set; {INSTALL}", pytrace=False)
    pytest.skip(f"{reason}; to run the browser tests: {INSTALL}")


@pytest.fixture(scope="session")
def browser():
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        _unavailable("selenium is not installed")
    chromium = _binary("NEUROSPEC_CHROMIUM", "chromium", "chromium-browser", "google-chrome")
    driver_bin = _binary("NEUROSPEC_CHROMEDRIVER", "chromedriver")
    if chromium is None or driver_bin is None:
        missing = "chromium" if chromium is None else "chromedriver"
        _unavailable(f"no {missing} found")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1400,1000", "--disable-extensions"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # An explicit driver path: selenium would otherwise try to download one.
    driver = webdriver.Chrome(service=Service(driver_bin), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield Browser(driver)
    finally:
        driver.quit()


def png_colours(png: bytes) -> int:
    """How many distinct byte values the decoded (filtered) scanlines hold: a blank page
    gives a handful, a rendered report hundreds.  Pure zlib: no imaging library needed."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, data = 8, b""
    while pos < len(png):
        (length,) = struct.unpack(">I", png[pos:pos + 4])
        kind = png[pos + 4:pos + 8]
        if kind == b"IDAT":
            data += png[pos + 8:pos + 8 + length]
        pos += 12 + length
    return len(set(zlib.decompress(data)))
