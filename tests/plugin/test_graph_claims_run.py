"""``neurospec graph-claims`` end to end: the file it writes from the bundled German graph runs
under pytest, and the claims come out as measured: the strongest edge holds on the German
fortunes, L0T341 -> L1T101 does not generalise beyond the prompt (a failing claim)."""

import json
from pathlib import Path

GRAPH = Path(__file__).resolve().parents[2] / "fixtures/graphs/tiny-bilingual-german.json"


def test_the_generated_claims_run_with_the_expected_verdicts(pytester):
    from neurospec.cli import main

    out = pytester.path / "test_from_graph.py"
    assert main(["graph-claims", str(GRAPH), "--on", "german", "--top", "6",
                 "--against-random", "4", "--out", str(out)]) == 0
    assert out.read_text().count("def test_") == 6
    # two of the six, to keep the run short: the strongest, and the one that does not hold
    result = pytester.runpytest("-p", "no:cacheprovider", "--neurospec-json=run.json",
                                "-k", "l1t486 or l1t101")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*ClaimFailed: L0T341 drives L1T101 directly*"])
    records = json.loads((pytester.path / "run.json").read_text())["records"]
    verdicts = {r["test"].split("::")[-1]: r["verdict"] for r in records}
    assert verdicts == {"test_l0t341_drives_l1t486": "pass", "test_l0t341_drives_l1t101": "fail"}
    assert all(r["model"]["backend"] == "transformer_lens" for r in records)
