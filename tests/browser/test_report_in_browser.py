"""The report in a real browser (headless Chromium): the summary and evidence render, CSS
sorting and filtering work without scripts, nothing logs an error, the screenshot is not
blank; and pytest-html's report shows the same views inside its (script-built) rows."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from neurospec.report.html import render_page
from neurospec.report.samples import sample_records

ROOT = Path(__file__).resolve().parents[2]


def _visible(browser, selector: str) -> list:
    return [e for e in browser.css(selector) if e.is_displayed()]


def test_standalone_page_renders_summary_matrix_and_evidence(browser, tmp_path):
    records = sample_records(12, columns=("step150", "step3000"))
    page = tmp_path / "report.html"
    page.write_text(render_page(records), encoding="utf-8")
    opened = browser.open(page)
    assert opened.errors == []
    assert opened.colours > 50
    assert _visible(browser, ".ns-summary-box .ns-hrow")
    assert len(browser.css(".ns-summary-box .ns-row:not(.ns-hrow)")) == 24
    assert len(browser.css(".ns-matrix tr")) == 1 + 12  # header + one row per claim
    cards = browser.css(".ns-card")
    assert len(cards) == 24
    browser.js("arguments[0].scrollIntoView()", cards[3])  # a head card: attention heatmap
    sizes = browser.js("return [...arguments[0].querySelectorAll('svg')].map("
                       "s => s.getBoundingClientRect().width)", cards[3])
    assert sizes and min(sizes) > 100


def test_sorting_and_filtering_work_without_script(browser, tmp_path):
    records = sample_records(30)
    page = tmp_path / "report.html"
    page.write_text(render_page(records), encoding="utf-8")
    browser.open(page)

    def first_row_effect() -> str:
        rows = browser.js(
            "return [...document.querySelectorAll('.ns-row:not(.ns-hrow)')]"
            ".filter(r => r.offsetParent !== null)"
            ".map(r => [getComputedStyle(r).order * 1, r.children[2].textContent])")
        return min(rows)[1]

    browser.css(".ns-l-E")[0].click()  # effect, largest first
    best = max(records, key=lambda r: r.effect)
    assert float(first_row_effect()) == pytest.approx(best.effect, rel=1e-3)
    browser.css(".ns-l-e")[0].click()
    assert float(first_row_effect()) == pytest.approx(min(r.effect for r in records), rel=1e-3)
    browser.css(".ns-fl-pass")[0].click()  # hide passing claims
    shown = _visible(browser, ".ns-summary-box .ns-row:not(.ns-hrow)")
    assert len(shown) == sum(not r.passed for r in records)


def test_token_hover_shows_its_value(browser, tmp_path):
    from selenium.webdriver.common.action_chains import ActionChains

    page = tmp_path / "report.html"
    page.write_text(render_page(sample_records(1)), encoding="utf-8")
    browser.open(page)
    tok = browser.css(".ns-tok")[0]
    ActionChains(browser.driver).move_to_element(tok).perform()
    shown = browser.js("return getComputedStyle(arguments[0], '::after').content", tok)
    assert shown.strip('"') == tok.get_attribute("data-v")


CLAIMS = textwrap.dedent('''
    import pytest
    from neurospec.evidence.sink import emit
    from neurospec.report.samples import sample_record

    @pytest.mark.parametrize("i", range({n}))
    def test_claim(i):
        emit(sample_record(i))
''')


def _pytest_html_report(tmp_path, n: int):
    (tmp_path / "test_sample_claims.py").write_text(CLAIMS.format(n=n))
    out = tmp_path / "run.html"
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--html={out}",
         "--self-contained-html", "test_sample_claims.py"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert out.exists(), proc.stdout + proc.stderr
    return out


def test_pytest_html_report_shows_summary_and_cards(browser, tmp_path):
    report = _pytest_html_report(tmp_path, 6)
    opened = browser.open(report)
    assert opened.errors == []
    assert opened.colours > 50
    assert _visible(browser, ".ns-summary-box .ns-hrow")
    assert len(browser.css(".ns-summary-box .ns-row:not(.ns-hrow)")) == 6
    browser.css("#show_all_details")[0].click()
    cards = _visible(browser, ".ns-card")
    assert len(cards) == 6
    browser.js("arguments[0].scrollIntoView()", cards[0])
    assert _visible(browser, ".ns-card svg.ns-chart")


@pytest.mark.slow
def test_a_300_claim_report_opens_fast(browser, tmp_path):
    records = sample_records(300)
    page = tmp_path / "report.html"
    start = time.perf_counter()
    page.write_text(render_page(records), encoding="utf-8")
    render_s = time.perf_counter() - start
    opened = browser.open(page)
    assert opened.errors == []
    size_mb = page.stat().st_size / 1e6
    print(f"300 claims: {size_mb:.1f} MB, rendered in {render_s:.2f} s, load event at "
          f"{opened.load_ms:.0f} ms")
    assert size_mb < 8 and opened.load_ms < 10_000
    assert len(browser.css(".ns-card")) == 300
    last = browser.css(".ns-card")[-1]
    browser.js("arguments[0].scrollIntoView()", last)
    assert last.is_displayed() and last.size["height"] > 50


XFAIL_CLAIMS = textwrap.dedent('''
    import pytest
    from neurospec.evidence.sink import emit
    from neurospec.report.samples import sample_record

    @pytest.mark.parametrize("i", range({n}))
    def test_claim(i):
        r = sample_record(i)
        emit(r)
        if not r.passed:
            pytest.xfail("deliberately false")
''')
SCREENSHOTS = Path(os.environ.get("NEUROSPEC_SCREENSHOTS", ROOT / "reports" / "screenshots"))


def test_a_reviewer_sees_what_needs_attention_first(browser, tmp_path):
    (tmp_path / "test_sample_claims.py").write_text(XFAIL_CLAIMS.format(n=24))
    report = tmp_path / "run.html"
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--html={report}",
         "--self-contained-html", "test_sample_claims.py"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert report.exists(), proc.stdout + proc.stderr
    assert "expected fail" in proc.stdout
    opened = browser.open(report)
    assert opened.errors == []
    cards = _visible(browser, ".ns-card")
    assert cards, "no evidence card in view"
    first = cards[0]
    assert first.get_attribute("data-state") != "expected fail"
    assert first.location["y"] < 3000  # not after pages of deliberately false claims
    # every expected failure sits in one collapsed block, after the others
    hidden = [c for c in browser.css(".ns-card") if not c.is_displayed()]
    assert hidden and all(c.get_attribute("data-state") == "expected fail" for c in hidden)
    # pytest-html's own rows of expected failures start collapsed (their extras hidden)
    rows = browser.css("#results-table tbody.xfailed")
    assert rows, "no expected-fail row in pytest-html's table"
    for row in rows:
        assert "collapsed" in row.find_element("css selector", ".col-result").get_attribute(
            "class")
        assert not row.find_element("css selector", ".extras-row").is_displayed()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shot = SCREENSHOTS / "pytest-html-report.png"
    browser.driver.save_screenshot(str(shot))
    assert shot.stat().st_size > 10_000


def test_every_effect_chart_draws_its_threshold(browser, tmp_path):
    page = tmp_path / "report.html"
    page.write_text(render_page(sample_records(24)), encoding="utf-8")
    browser.open(page)
    charts = browser.css(".ns-card[data-kind='activation_contrast'] svg.ns-chart, "
                         ".ns-card[data-kind='ablation_loss'] svg.ns-chart")
    assert len(charts) >= 8
    missing = [c.find_element("css selector", "title").get_attribute("textContent")
               for c in charts if not c.find_elements("css selector", ".threshold")]
    assert missing == []
    # every kind of card with a chart (sweeps, path patching, gradients, heads too) shows
    # its threshold on a chart, and a visible one
    kinds = {}
    for card in browser.css(".ns-card"):
        if card.find_elements("css selector", "svg.ns-chart"):
            marks = card.find_elements("css selector", "svg.ns-chart .threshold")
            kinds.setdefault(card.get_attribute("data-kind"), []).append(bool(marks))
    assert {"path_patching", "neuron_sweep", "weight_gradients", "transcoder_path"} <= set(kinds)
    assert {k: v for k, v in kinds.items() if not all(v)} == {}
    zero = browser.css(".ns-card[data-kind='ablation_loss'] svg.ns-chart .zero")
    assert zero


def test_no_chart_text_is_clipped(browser, tmp_path):
    from dataclasses import replace

    long = ("mean loss change on german_manpages: L0N125 vs 20 random neurons of layer 0 "
            "(mean ablation over english_manpages, 400 documents each)")
    records = []
    for r in sample_records(16):
        charts = {k: ({**v, "title": long} if isinstance(v, dict) and "title" in v else v)
                  for k, v in r.charts.items()}
        if "histogram" in charts:  # set names reach the legend and the threshold's label
            charts["histogram"]["sets"] = {f"{k}_manpages_with_a_longer_name": v
                                           for k, v in charts["histogram"]["sets"].items()}
        records.append(replace(r, charts=charts))
    page = tmp_path / "report.html"
    page.write_text(render_page(records), encoding="utf-8")
    browser.open(page)
    clipped = browser.js(
        "return [...document.querySelectorAll('svg.ns-chart')].flatMap(s => {"
        "  const box = s.getBoundingClientRect();"
        "  return [...s.querySelectorAll('text')].filter(t => {"
        "    const r = t.getBoundingClientRect();"
        "    return r.right > box.right + 0.5 || r.left < box.left - 0.5 ||"
        "           r.bottom > box.bottom + 0.5 || r.top < box.top - 0.5;"
        "  }).map(t => t.textContent.slice(0, 80));"
        "})")
    assert clipped == []
    assert len(browser.css("svg.ns-chart .ns-ctitle tspan")) > 2 * len(browser.css("svg.ns-chart"))


def test_no_summary_cell_overflows(browser, tmp_path):
    from dataclasses import replace

    records = sample_records(30)
    # the widest things a cell holds: long numbers, two badges, "within" thresholds
    records[0] = replace(records[0], effect=-1.234567e-05, ci=(-1.234567e-05, 1.234567e-05),
                         vacuous=True, verdict="pass", outcome="passed")
    records[1] = replace(records[1], direction="within", threshold=0.0123, outcome="xfailed",
                         verdict="fail", n=123456)
    records[2] = replace(records[2], outcome="xpassed", verdict="pass")
    from neurospec.evidence.record import SKIPPED, outcome_record

    records.append(outcome_record("t.py::test_x", SKIPPED, "why", outcome="skipped"))
    page = tmp_path / "report.html"
    page.write_text(render_page(records), encoding="utf-8")
    browser.open(page)
    over = browser.js(
        "return [...document.querySelectorAll('.ns-summary-box .ns-row > span')]"
        ".filter(c => c.scrollWidth > c.clientWidth).map(c => c.textContent)")
    assert over == []
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    browser.driver.save_screenshot(str(SCREENSHOTS / "standalone-summary.png"))


def test_a_hostile_test_id_stays_text_in_pytest_html(browser, tmp_path):
    (tmp_path / "test_ids.py").write_text(textwrap.dedent('''
        import pytest
        from neurospec.evidence.sink import emit
        from neurospec.report.samples import sample_record

        EVIL = "<img src=x onerror=\\"document.title='pwned'\\">"

        @pytest.mark.parametrize("x", [EVIL], ids=[EVIL])
        def test_claim(x):
            emit(sample_record(0))
    '''))
    report = tmp_path / "run.html"
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--html={report}",
         "--self-contained-html", "test_ids.py"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert report.exists(), proc.stdout + proc.stderr
    browser.open(report)
    browser.css("#show_all_details")[0].click()
    time.sleep(0.5)
    assert browser.js("return document.title") != "pwned"
    imgs = browser.css("#results-table img[onerror]")  # (pytest-html has a media viewer img)
    assert imgs == [], [browser.js("return arguments[0].parentElement.outerHTML", i)[:400]
                        for i in imgs]
    assert "onerror" in browser.js("return document.querySelector('#results-table').innerText")
