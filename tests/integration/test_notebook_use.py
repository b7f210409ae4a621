"""A claim outside pytest, as in a notebook cell: the same helpers, the session's records,
and the report's views through the notebook formatters (``neurospec.report.notebook``)."""

import subprocess
import sys
import textwrap

CELL = textwrap.dedent('''
    from neurospec import ClaimFailed, corpus, expect, load_model, session_records
    from neurospec.report.html import render_record
    from neurospec.report.notebook import register, to_html

    class Formatter:  # what IPython's HTML formatter offers, as a stand-in
        def __init__(self):
            self.names = []

        def for_type_by_name(self, module, name, fn):
            self.names.append((module, name, fn))

    class Shell:
        def __init__(self):
            self.display_formatter = type("D", (), {"formatters": {"text/html": Formatter()}})()

    shell = Shell()
    assert register(shell)
    registered = {n: fn for _, n, fn in shell.display_formatter.formatters["text/html"].names}
    assert {"ClaimResult", "ClaimFailed", "Results"} <= set(registered)

    model = load_model("tiny-bilingual")
    german, english = corpus("german").subset(30), corpus("english").subset(30)
    result = expect("L0N125", model=model).activates_more(on=german, than=english,
                                                          by_at_least=0.5)
    assert result.passed and registered["ClaimResult"](result) == render_record(result.record)
    try:
        expect("L0N125", model=model).activates_more(on=english, than=german, by_at_least=0.1)
    except ClaimFailed as err:
        assert "ns-badge-fail" in to_html(err)
    runs = session_records()
    assert [r.verdict for r in runs] == ["pass", "fail"]
    assert 'class="ns-card' in to_html(runs)
    assert runs.to_frame()["verdict"].tolist() == ["pass", "fail"]
    print("OK")
''')


def test_a_claim_runs_and_renders_outside_pytest():
    proc = subprocess.run([sys.executable, "-c", CELL], capture_output=True, text=True,
                          timeout=300)
    assert proc.stdout.strip().endswith("OK"), proc.stderr[-3000:]
