"""pytest-html glue, registered only when pytest-html is installed: the neurospec summary
and every evidence card, rendered once at the session's end (after any correction across
the run), at the top of pytest-html's page, in reading order (what needs attention first,
expected failures last and collapsed); pytest-html's own rows of expected failures show one
line instead of a traceback and start collapsed, as passed rows do."""

from __future__ import annotations

from typing import Any

import pytest

from neurospec.plugin.recorder import STATE


class HtmlSummary:
    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.state = config.stash[STATE]

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        adapt_pytest_html(self.config)

    def pytest_html_results_summary(self, prefix: list, summary: list, postfix: list,
                                    session: Any) -> None:
        from neurospec.plugin.options import HTML_CARDS_OPTION
        from neurospec.report.html import render_fragment

        if self.state.records:
            cap = self.config.getoption(HTML_CARDS_OPTION)
            where = (f"every record is in {self.state.json_path}" if self.state.json_path
                     else "--neurospec-json PATH keeps every record in a results file")
            postfix.append(render_fragment(
                self.state.records, max_cards=cap or None,
                incomplete=[] if self.state.complete else [""], full_data=where))

    def pytest_html_results_table_row(self, report: pytest.TestReport, cells: list) -> None:
        """pytest-html puts the test id into its table as raw HTML: a parametrize id such
        as ``<img src=x onerror=...>`` would run.  Write it escaped (and with invisible
        characters shown)."""
        from neurospec.report.escape import html as html_text

        test_id = report.nodeid + ("" if report.when == "call" else f"::{report.when}")
        for i, cell in enumerate(cells):
            if cell.startswith('<td class="col-testId">'):
                cells[i] = f'<td class="col-testId">{html_text(test_id)}</td>'

    def pytest_html_results_table_html(self, report: pytest.TestReport, data: list) -> None:
        """An expected failure's row holds one line instead of its traceback: the claim was
        deliberately false, and its evidence card sits with the others above."""
        if hasattr(report, "wasxfail") and report.skipped:
            from neurospec.report.escape import html as html_text

            reason = report.wasxfail or "no reason"
            data[:] = [str(html_text(
                f"expected failure (xfail: {reason}); its evidence card is in the neurospec "
                f"summary above, under 'expected failures'"))]


COLLAPSED = ["passed", "xfailed"]  # pytest-html's rows that start collapsed


def adapt_pytest_html(config: pytest.Config) -> None:
    """Make pytest-html (4.x) write its page through neurospec's atomic writer, and start its
    rows of expected failures collapsed.

    pytest-html writes with a plain ``open("w")``, so a run killed while it writes leaves a
    truncated page in place of the last good one, and it offers no hook or option for how
    the page is written.  So this replaces its private ``_write_report`` method, only when
    its report object has the expected shape (``_report_path`` and a callable
    ``_write_report``); with another pytest-html it leaves it alone.

    pytest-html expands every row but passed ones (its ini value ``render_collapsed``,
    default ``passed``, read once into the page's data as ``renderCollapsed``): 43 tracebacks
    of deliberately false claims would come before the first real result.  Unless the user
    set ``render_collapsed`` themselves, expected failures start collapsed too (a reader
    opens one with a click; ``?collapsed=`` in the page's address still overrides).  These
    are the only places neurospec touches pytest-html's internals.
    """
    from neurospec.errors import OutputError
    from neurospec.evidence.jsonio import atomic_write_text

    state = config.stash[STATE]

    def write(rendered: str, path: Any) -> None:
        try:
            atomic_write_text(path, rendered, option="--html=reports/run.html")
        except OutputError as exc:  # a full disk: say so and fail the run, no INTERNALERROR
            state.html_error = str(exc)

    default = config.getini("render_collapsed") == "passed"
    for plugin in config.pluginmanager.get_plugins():
        path = getattr(plugin, "_report_path", None)
        if path is not None and callable(getattr(plugin, "_write_report", None)):
            plugin._write_report = lambda rendered, path=path: write(rendered, path)
        data = getattr(getattr(plugin, "_report", None), "data", None)
        if default and isinstance(data, dict) and data.get("renderCollapsed") == ["passed"]:
            data["renderCollapsed"] = list(COLLAPSED)
