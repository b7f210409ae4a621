"""pytest-html's page is bounded like ``neurospec report`` (at most N evidence cards, saying
how many were left out and where every record is), and a run stopped before its end says
"incomplete run" in the terminal, the results file and the page.  Records come from
``emit`` (no model needed)."""

import json
import re
import textwrap

CLAIMS = textwrap.dedent('''
    import pytest
    from dataclasses import replace
    from neurospec.evidence.sink import emit
    from neurospec.report.samples import sample_record

    @pytest.mark.parametrize("i", range(5))
    def test_claim(i):
        emit(replace(sample_record(i), verdict="pass", missed="", claim=f"claim {i}"))

    def test_breaks():
        raise RuntimeError("stops a -x run here")

    def test_later():
        emit(replace(sample_record(9), verdict="pass", missed="", claim="claim later"))
''')


def _cards(html: str) -> list[str]:
    return re.findall(r'<div class="ns-card ns-[\w-]+"[^>]*id="ns-card-\d+">', html)


def test_pytest_html_page_caps_its_cards_and_says_where_the_rest_is(pytester):
    pytester.makepyfile(test_inner=CLAIMS)
    result = pytester.runpytest("--neurospec-json=out/run.json", "--html=run.html",
                                "--self-contained-html", "--neurospec-html-max-cards=2",
                                "-p", "no:cacheprovider")
    result.assert_outcomes(passed=6, failed=1)
    html = (pytester.path / "run.html").read_text()
    assert len(_cards(html)) == 2
    assert re.search(r"4 of 6 evidence cards not shown \(the summary above lists every claim; "
                     r"every record is in out[/\\]run\.json;", html)
    assert html.count('class="ns-row ns-pass"') == 6  # the summary still lists every claim
    assert len(json.loads((pytester.path / "out/run.json").read_text())["records"]) == 6
    assert "incomplete run" not in html and "incomplete run" not in result.stdout.str()


def test_pytest_html_cap_default_and_zero_and_range(pytester):
    pytester.makepyfile(test_inner=CLAIMS)
    result = pytester.runpytest("--html=run.html", "--self-contained-html",
                                "--neurospec-html-max-cards=0", "-p", "no:cacheprovider")
    assert len(_cards((pytester.path / "run.html").read_text())) == 6
    result = pytester.runpytest("--html=run.html", "--neurospec-html-max-cards=-1")
    assert result.ret == 4
    result.stderr.fnmatch_lines(["*--neurospec-html-max-cards=-1*0: all*"])


def test_a_stopped_run_is_incomplete_in_terminal_json_and_page(pytester):
    pytester.makepyfile(test_inner=CLAIMS)
    result = pytester.runpytest("-x", "--neurospec-json=run.json", "--html=run.html",
                                "--self-contained-html", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=5, failed=1)
    result.stdout.fnmatch_lines(["*neurospec: 5 claim checks*",
                                 "neurospec: incomplete run (stopping after 1 failures; "
                                 "6 of 7 tests ran): later claims are missing"])
    meta = json.loads((pytester.path / "run.json").read_text())["meta"]
    assert meta["complete"] is False
    html = (pytester.path / "run.html").read_text()
    assert '<p class="ns-incomplete" role="alert"><strong>incomplete run</strong>' in html


def test_a_run_stopped_after_its_last_test_is_complete(pytester):
    pytester.makepyfile(test_inner=CLAIMS.replace("def test_breaks", "def test_zz_breaks"))
    result = pytester.runpytest("-x", "--neurospec-json=run.json", "-p", "no:cacheprovider",
                                "test_inner.py::test_claim",
                                "test_inner.py::test_zz_breaks")
    result.assert_outcomes(passed=5, failed=1)
    assert json.loads((pytester.path / "run.json").read_text())["meta"]["complete"] is True
    assert "incomplete" not in result.stdout.str()


def test_collect_only_is_not_an_incomplete_run(pytester):
    pytester.makepyfile(test_inner=CLAIMS)
    pytester.runpytest("--collect-only", "--neurospec-json=run.json", "-p", "no:cacheprovider")
    assert json.loads((pytester.path / "run.json").read_text())["meta"]["complete"] is True


def test_terminal_lines_show_control_characters_as_escapes(pytester):
    pytester.makepyfile(test_inner=textwrap.dedent('''
        from dataclasses import replace
        from neurospec.evidence.sink import emit
        from neurospec.report.samples import sample_record

        def test_strong():
            emit(replace(sample_record(0), p=0.001, verdict="pass", missed="", claim="ok"))

        def test_weak():
            emit(replace(sample_record(1), p=0.04, verdict="pass", missed="",
                         claim="evil\\u202eclaim\\x00end"))
    '''))
    result = pytester.runpytest("--neurospec-correct=holm", "-p", "no:cacheprovider")
    out = result.stdout.str()
    assert re.search(r"FAILED after Holm correction: \S+: evil\\u202eclaim\\u0000end", out)
    assert "\u202e" not in out and "\x00" not in out
