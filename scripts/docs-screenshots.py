"""Regenerate the docs' screenshots (docs/assets/*.png) from a real run.

Writes the tutorial's claims about tiny-bilingual's German neuron L0N125 into a scratch project,
checks them on three training checkpoints of the bundled model (so the report has a checkpoint
matrix), renders the results with `neurospec report`, and photographs it in headless Chromium
(Debian's chromium + chromium-driver, driven by selenium as in tests/browser):

    report.png   the top of the report: counts, the summary table, the checkpoint matrix
    card.png     the evidence card of the tutorial's claim (by >= 1.5) on the final checkpoint
    matrix.png   the checkpoint matrix alone

    python scripts/docs-screenshots.py [--out docs/assets] [--keep DIR [--reuse]]

About 2-4 minutes on 2 CPU cores (three checkpoints, two claims each). Offline.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHECKPOINTS = ("step150", "step750", "step3000")
CLAIMS = '''\
import pytest

from neurospec import expect, neuron

pytestmark = pytest.mark.model("tiny-bilingual")
GERMAN = neuron("L0N125")  # layer 0, MLP neuron 125


def test_fires_more_on_german_than_english(corpus):
    expect(GERMAN).activates_more(on=corpus("german"), than=corpus("english"),
                                  by_at_least=1.5)


def test_ablating_it_raises_german_loss_only(corpus):
    (expect(GERMAN).ablated(to="mean", over=corpus("english"))
        .raises_loss(on=corpus("german"), by_at_least=0.03)
        .and_not_on(corpus("english"), tolerance=0.01))
'''


def run_claims(project: Path) -> Path:
    """Check CLAIMS on every checkpoint in ``project``; the standalone report page."""
    (project / "hypotheses").mkdir(parents=True)
    (project / "hypotheses" / "test_german_neuron.py").write_text(CLAIMS)
    env = {**os.environ, "HF_HUB_OFFLINE": "1",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "hypotheses",
               "--neurospec-seed=0", "--neurospec-json=reports/run.json"]
    command += [f"--checkpoint={c}" for c in CHECKPOINTS]
    done = subprocess.run(command, cwd=project, env=env, text=True, capture_output=True)
    # a claim failing on an early checkpoint is what the matrix is for: only a crash stops here
    if not (project / "reports" / "run.json").is_file():
        sys.exit(f"the claims run wrote no results:\n{done.stdout[-3000:]}{done.stderr[-3000:]}")
    page = project / "reports" / "page.html"
    subprocess.run([sys.executable, "-m", "neurospec.cli", "report", "reports/run.json", "-o",
                    str(page)], cwd=project, env=env, check=True)
    return page


def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium = next(filter(None, map(shutil.which, ("chromium", "chromium-browser",
                                                   "google-chrome"))), None)
    driver_bin = shutil.which("chromedriver")
    if chromium is None or driver_bin is None:
        sys.exit("needs Debian's chromium and chromium-driver: apt-get install -y chromium "
                 "chromium-driver")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1200,900", "--hide-scrollbars", "--force-device-scale-factor=1"):
        options.add_argument(arg)
    return webdriver.Chrome(service=Service(driver_bin), options=options)


def photograph(page: Path, out: Path) -> list[Path]:
    from selenium.webdriver.common.by import By

    driver = browser()
    written = []
    try:
        driver.get(page.resolve().as_uri())
        driver.set_window_size(1200, 900)
        top = out / "report.png"
        driver.save_screenshot(str(top))
        written.append(top)
        matrix = driver.find_elements(By.CSS_SELECTOR, ".ns-matrix")
        if matrix:
            written.append(_element(driver, matrix[0], out / "matrix.png"))
        cards = [c for c in driver.find_elements(By.CSS_SELECTOR, ".ns-card")
                 if "by >= 1.5" in c.text and CHECKPOINTS[-1] in c.text]
        if not cards:
            sys.exit("no card of the tutorial's claim on the last checkpoint in the report")
        written.append(_element(driver, cards[0], out / "card.png", max_height=640))
    finally:
        driver.quit()
    return written


def _element(driver, element, path: Path, max_height: int = 0) -> Path:
    """A screenshot of one element, its box cut at ``max_height`` pixels (it must fit the
    900-pixel window: an element screenshot shows only what the viewport shows)."""
    if max_height:
        driver.execute_script("arguments[0].style.maxHeight = arguments[1] + 'px';"
                              "arguments[0].style.overflow = 'hidden'", element, max_height)
    driver.execute_script("arguments[0].scrollIntoView()", element)
    element.screenshot(str(path))
    return path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=textwrap.dedent(__doc__ or "").split("\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "assets")
    parser.add_argument("--keep", type=Path, help="run in this folder and keep it")
    parser.add_argument("--reuse", action="store_true",
                        help="with --keep: photograph the run already in that folder again")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        project = args.keep or Path(scratch) / "project"
        page = project / "reports" / "page.html"
        if not (args.reuse and page.is_file()):
            page = run_claims(project)
        for path in photograph(page, args.out):
            print(f"wrote {path}")


if __name__ == "__main__":
    main()
