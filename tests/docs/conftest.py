"""Lists the docs examples that were not run (marked skip) and why, after the test summary
(from the tests' user_properties, so it works under xdist too)."""

from __future__ import annotations


def pytest_terminal_summary(terminalreporter):
    reasons = [value for reports in terminalreporter.stats.values() for report in reports
               for key, value in getattr(report, "user_properties", ())
               if key == "docs-skip" and getattr(report, "when", "call") == "call"]
    if reasons:
        terminalreporter.section("docs examples not run (marked skip)")
        for reason in reasons:
            terminalreporter.write_line(reason)
