from neurospec.errors import ClaimFailed
from neurospec.evidence.results import Results
from neurospec.report.html import render_record
from neurospec.report.notebook import register, to_html
from neurospec.report.samples import sample_record


class _Formatter:
    def __init__(self):
        self.types = {}

    def for_type_by_name(self, module, name, fn):
        self.types[f"{module}.{name}"] = fn


class _Shell:
    def __init__(self):
        self.html = _Formatter()
        self.display_formatter = type("D", (), {"formatters": {"text/html": self.html}})()


def test_register_adds_html_formatters_by_type_name():
    shell = _Shell()
    assert register(shell)
    assert {"neurospec.claims.result.ClaimResult", "neurospec.errors.ClaimFailed",
            "neurospec.evidence.results.Results"} <= set(shell.html.types)


def test_to_html_renders_records_results_and_failures():
    rec = sample_record(1)
    assert to_html(rec) == render_record(rec)
    assert to_html(ClaimFailed("x", rec)) == render_record(rec)
    assert "1 claim checks" in to_html(Results([rec])) and "ns-card" in to_html(Results([rec]))
    assert to_html(ClaimFailed("x")) is None and to_html("text") is None
