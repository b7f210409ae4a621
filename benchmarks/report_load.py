"""How heavy the report is for a large suite: N synthetic claims (every chart kind, sized like
the bundled suite's records) rendered as the standalone page and as pytest-html's report,
then opened in headless Chromium (Debian's chromium + chromium-driver, via selenium).

    python benchmarks/report_load.py [--claims 300] [--out reports/bench]

Prints size, render time and the time to the load event (median of 3 cold loads).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import textwrap
import time
from pathlib import Path

CLAIMS = textwrap.dedent('''
    import pytest
    from neurospec.evidence.sink import emit
    from neurospec.report.samples import sample_record

    @pytest.mark.parametrize("i", range({n}))
    def test_claim(i):
        emit(sample_record(i))
''')


def _driver():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1400,1000"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


EXPAND = ("const t = performance.now(); document.getElementById('show_all_details').click();"
          "document.body.offsetHeight; return performance.now() - t;")


def _open(driver, path: Path, extra_js: str = "") -> tuple[float, float, float, int]:
    """Medians over 3 cold loads of the load event and DOMContentLoaded (ms) and of what
    ``extra_js`` returns (a duration in ms); console errors."""
    loads, dcls, extra, errors = [], [], [], 0
    for _ in range(3):
        driver.get("about:blank")
        driver.get_log("browser")
        driver.execute_cdp_cmd("Network.clearBrowserCache", {})
        driver.get(path.resolve().as_uri())
        dcl, load = driver.execute_script(
            "const n = performance.getEntriesByType('navigation')[0];"
            "return [n.domContentLoadedEventEnd, n.loadEventEnd];")
        extra.append(driver.execute_script(extra_js) if extra_js else 0.0)
        errors += sum(e["level"] == "SEVERE" for e in driver.get_log("browser"))
        loads.append(load)
        dcls.append(dcl)
    return (statistics.median(loads), statistics.median(dcls), statistics.median(extra),
            errors)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=300)
    parser.add_argument("--out", type=Path, default=Path("reports/bench"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    from neurospec.report.html import render_page
    from neurospec.report.samples import sample_records

    t = time.perf_counter()
    page = args.out / "standalone.html"
    page.write_text(render_page(sample_records(args.claims)), encoding="utf-8")
    page_s = time.perf_counter() - t

    suite = args.out / "suite"
    suite.mkdir(exist_ok=True)
    (suite / "test_sample_claims.py").write_text(CLAIMS.format(n=args.claims))
    html = args.out / "pytest-html.html"
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                    f"--html={html.resolve()}", "--self-contained-html", "suite"],
                   cwd=args.out, capture_output=True, check=False)
    suite_s = time.perf_counter() - t

    driver = _driver()
    try:
        rows = [("standalone page", page, page_s, _open(driver, page)),
                ("pytest-html report", html, suite_s, _open(driver, html, EXPAND))]
    finally:
        driver.quit()
    print(f"{args.claims} claims ({sys.platform}, headless Chromium)")
    print(f"{'view':20} {'size MB':>8} {'built s':>8} {'DOM ms':>8} {'load ms':>8} "
          f"{'expand all ms':>14} errors")
    for name, path, built, (load, dcl, expand, errors) in rows:
        print(f"{name:20} {path.stat().st_size / 1e6:8.2f} {built:8.2f} {dcl:8.0f} {load:8.0f} "
              f"{expand:14.0f} {errors:6d}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
