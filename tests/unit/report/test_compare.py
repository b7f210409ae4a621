"""Run-to-run comparison on records (the CLI on real runs is in tests/integration)."""

from dataclasses import replace

import pytest

from neurospec.report.compare import compare, compare_markdown
from neurospec.report.samples import sample_record


def run(*records):
    return list(records)


def rec(i, verdict="pass", effect=0.06, ci=(0.05, 0.07), **kw):
    kw.setdefault("outcome", "passed" if verdict == "pass" else "failed")
    return replace(sample_record(i), verdict=verdict, effect=effect, ci=ci, **kw)


def test_categories_and_exit_codes():
    base = run(rec(0), rec(1, "fail", 0.01, (0.0, 0.02)), rec(2), rec(3), rec(4))
    head = run(rec(0, "fail", 0.02, (0.01, 0.03)),      # newly failing (and moved)
               rec(1),                                  # newly passing (and moved)
               rec(2, effect=0.068),                    # inside base CI: unchanged
               rec(3, effect=0.09, ci=(0.08, 0.1)),     # still passes, moved beyond CI
               rec(5))                                  # new; 4 removed
    c = compare(base, head)
    assert [ch.claim_id.split("_")[-1] for ch in c.newly_failing] == ["0"]
    assert [ch.claim_id.split("_")[-1] for ch in c.newly_passing] == ["1"]
    assert {ch.claim_id.split("_")[-1] for ch in c.moved} == {"0", "1", "3"}
    assert [ch.claim_id.split("_")[-1] for ch in c.new] == ["5"]
    assert [ch.claim_id.split("_")[-1] for ch in c.removed] == ["4"]
    assert c.unchanged == 1
    assert (c.exit_code(), c.exit_code("never"), c.exit_code("change")) == (1, 0, 1)
    same = compare(base, base)
    assert not same.changed and same.exit_code("change") == 0 and same.unchanged == 5
    with pytest.raises(ValueError, match="fail_on"):
        c.exit_code("sometimes")


def test_markdown_lists_each_category():
    base, head = run(rec(0), rec(1)), run(rec(0, "fail", 0.0, (-0.01, 0.01)), rec(2))
    md = compare_markdown(compare(base, head), base, head, "main.json", "pr.json")
    assert md.startswith("### :x: neurospec: 1 newly failing, 0 not run, 0 broken on the head, "
                         "0 newly passing, 1 new, 1 removed")
    assert "#### Newly failing (passed on the base) (1)" in md and "#### New claims (1)" in md
    assert "#### Removed claims (tests removed from the suite) (1)" in md
    assert "base `main.json`:" in md and "head `pr.json`:" in md
    assert "pass +0.06 [+0.05, +0.07]" in md and "fail +0 [-0.01, +0.01]" in md


def test_vacuity_changes_are_read_when_records_have_the_field():
    class WithVacuous:  # a newer record type with the optional field
        def __init__(self, r, vacuous):
            self.__dict__.update(r.__dict__, vacuous=vacuous)
            self.passed = r.passed
            self.column = r.column
            self.is_claim = r.is_claim

    base = [WithVacuous(rec(0), False)]
    head = [WithVacuous(rec(0), True)]
    c = compare(base, head)
    assert len(c.vacuity) == 1 and c.exit_code() == 0
    assert "vacuous" in compare_markdown(c, base, head)


def test_checkpoint_parameter_is_not_part_of_the_identity():
    a = replace(sample_record(0), test="t.py::f[step150]", checkpoint="step150")
    b = replace(sample_record(0), test="t.py::f[step3000]", checkpoint="step3000")
    assert compare([a], [b]).unchanged == 1  # one checkpoint per run: compared as such
    both = [a, b]
    assert compare(both, both).unchanged == 2
    assert compare(both, [b]).removed[0].column == "step150"  # shared columns: per column


def test_compare_outputs_cannot_be_injected_into():
    from neurospec.report.compare import github_annotations

    evil = "a\n::warning::forged <img src=x onerror=alert(1)> <!-- 100% \u202e\x00"
    base, head = run(rec(0, claim=evil)), run(rec(0, "fail", claim=evil))
    c = compare(base, head)
    lines = github_annotations(c).splitlines()
    assert len(lines) == 1 and lines[0].startswith("::error ")  # no second command
    assert "%0A::warning::forged" in lines[0] and "100%25" in lines[0]
    assert "\u202e" not in lines[0] and "\x00" not in lines[0]
    md = compare_markdown(c, base, head)
    import re

    # the hostile text shows as text: every "<" it holds is escaped, none opens a tag
    assert not re.search(r"(?<!\\)<img", md) and "\\<img" in md
    assert not re.search(r"(?<!\\)<!-- 100", md)
    assert "\u202e" not in md and "\x00" not in md
    assert not any(line.startswith("::") for line in md.splitlines())


def test_failure_messages_show_control_characters_as_escapes():
    from neurospec.claims.verdict import failure_message

    msg = failure_message(rec(0, "fail", claim="L0N1 on \u202egerman\x00", missed="x"))
    assert "\u202e" not in msg and "\x00" not in msg and "\\u202e" in msg
    assert "--neurospec-seed=1" in msg  # another seed than the one used (0)


def test_agreement_of_two_runs_of_the_same_claims():
    """The GPU tier's rule: same claims, same verdicts, every number within rounding."""
    from neurospec.report.compare import agreement

    base = [rec(0), rec(1, details={"auroc": 0.9, "sets": {"de": [0.1, 0.2]}}), rec(2)]
    assert agreement(base, base) == []
    near = [rec(0, effect=0.06 + 5e-5), rec(1, details={"auroc": 0.9 + 2e-5,
                                                        "sets": {"de": [0.1, 0.2]}}), rec(2)]
    assert agreement(base, near) == []
    moved = [rec(0, effect=0.061), rec(1, "fail", details={"auroc": 0.9,
                                                         "sets": {"de": [0.1, 0.25]}})]
    paths = {(m.claim_id.split("_")[-1], m.path) for m in agreement(base, moved)}
    assert paths == {("0", "effect"), ("1", "verdict"), ("1", "outcome"),
                     ("1", "details.sets.de[1]"), ("2", "(record)")}


def test_agreement_edge_cases():
    from neurospec.report.compare import agreement

    nan = float("nan")
    a = rec(0, effect=nan, p=0.01, missed="effect 0.0123 below 0.05")
    assert agreement([a], [replace(a)]) == []  # NaN matches only NaN
    assert [m.path for m in agreement([a], [replace(a, effect=0.06)])] == ["effect"]
    assert [m.path for m in agreement([replace(a, effect=0.06)], [a])] == ["effect"]
    # a resampling p-value may move by a few steps of 1 / (resamples + 1), no more
    assert agreement([a], [replace(a, p=0.0105)]) == []
    assert [m.path for m in agreement([a], [replace(a, p=0.02)])] == ["p"]
    # numbers printed inside texts: within one unit of their last digit
    assert agreement([a], [replace(a, missed="effect 0.0124 below 0.05")]) == []
    assert [m.path for m in agreement([a], [replace(a, missed="effect 0.0150 below 0.05")])
            ] == ["missed"]
    assert [m.path for m in agreement([a], [replace(a, missed="effect 0.0123 above 0.05")])
            ] == ["missed"]
    # where the run happened is not compared; which weights it ran is
    dev = replace(a, model={**a.model, "device": "cuda:0"})
    assert agreement([a], [dev]) == []
    other = replace(a, model={**a.model, "fingerprint": "0123abcd"})
    assert [m.path for m in agreement([a], [other])] == ["model.fingerprint"]
    # a chart of another length, an infinite value
    charts = replace(a, charts={"h": [1.0, 2.0]})
    assert [m.path for m in agreement([charts], [replace(a, charts={"h": [1.0]})])
            ] == ["charts.h (length)"]
    assert [m.path for m in agreement([charts], [replace(a, charts={"h": [1.0, float("inf")]})])
            ] == ["charts.h[1]"]


def test_agreement_kinds_tell_ties_and_rounding_from_disagreement():
    """Near-equal items shown or ranked in another order, and statistics of values at
    rounding level (2e-19 on one device, exactly 0 on the other), are reported but are not
    disagreements; a measured number or a claim's verdict is."""
    from neurospec.report.compare import agreement, disagreements

    nan = float("nan")
    a = rec(0, details={"found": ["eats", "runs"], "rank_in_layer": 1, "auroc": 0.9},
            charts={"items": [{"doc": "d/1", "values": [0.5, 0.2]},
                              {"doc": "d/2", "values": [0.1]}],
                    "histogram": [0.1, 0.2]})
    tied = replace(a, details={"found": ["runs", "eats"], "rank_in_layer": 2, "auroc": 0.9},
                   charts={"items": [{"doc": "d/7", "values": [0.4, 0.2]},
                                     {"doc": "d/2", "values": [0.1]}],
                           "histogram": [0.1, 0.2]})
    found = agreement([a], [tied])
    assert {m.kind for m in found} == {"order"} and not disagreements(found)
    assert {m.path for m in found} == {"details.found", "details.rank_in_layer",
                                       "charts.items[0].doc", "charts.items[0].values[0]"}
    # another set of tokens, a value of an item shown on both runs, a histogram value:
    # disagreements
    other = replace(a, details={**a.details, "found": ["eats", "flies"]},
                    charts={**a.charts, "items": [a.charts["items"][0],
                                                  {"doc": "d/2", "values": [0.3]}],
                            "histogram": [0.1, 0.25]})
    assert {m.path for m in disagreements(agreement([a], [other]))} == {
        "details.found[1]", "charts.items[1].values[0]", "charts.histogram[1]"}
    # rounding-level values: CI defined on one device, undefined on the other
    tiny = rec(1, effect=2.3e-19, ci=(1.9e-19, 2.8e-19), p=1.0,
               missed="CI lower bound 1.9e-19 < 0.01")
    zero = replace(tiny, effect=0.0, ci=(nan, nan), p=nan,
                   missed="undefined: a resample without variance")
    found = agreement([tiny], [zero])
    assert found and {m.kind for m in found} == {"degenerate"} and not disagreements(found)
    # ... but not when the effect is real, and never for the verdict
    real = replace(tiny, effect=0.05, ci=(0.04, 0.06))
    assert {m.kind for m in agreement([real], [replace(zero, effect=0.05)])} == {"number"}
    assert [m.kind for m in agreement([tiny], [replace(tiny, verdict="fail")])] == ["claim"]


def test_a_sequential_and_a_fixed_n_run_of_a_claim_are_comparable():
    from dataclasses import replace

    from neurospec.report.compare import compare, moved_beyond_ci
    from neurospec.report.samples import sample_record

    fixed = replace(sample_record(0), verdict="pass", effect=0.904, ci=(0.896, 0.912))
    seq = replace(fixed, effect=0.917, ci=(0.873, 0.946), n=89,
                  details={**fixed.details, "sequential": {"mode": "sequential",
                                                           "stopped_after": 89, "of": 790}})
    assert not moved_beyond_ci(fixed, seq) and not moved_beyond_ci(seq, fixed)
    c = compare([fixed], [seq])
    assert c.unchanged == 1 and not c.changed
    far = replace(seq, effect=0.7, ci=(0.65, 0.75))
    assert moved_beyond_ci(fixed, far)
    failing = replace(seq, verdict="fail")
    assert compare([fixed], [failing]).newly_failing
