"""A --checkpoint run's own verdict: failing before a claim starts holding is youth, holding
and then failing is a regression."""

from dataclasses import replace

import pytest

from neurospec.plugin.checkpoint_verdict import judge
from neurospec.report.samples import sample_record

COLUMNS = ("step150", "step750", "step3000")


def claim(i: int, verdicts: str) -> list:
    """Records of claim ``i`` on each checkpoint: ``verdicts`` as 'fpp' (fail, pass, pass),
    '-' where it was not run."""
    r = sample_record(i)
    return [replace(r, test=f"t.py::test_{i}[{c}]", checkpoint=c,
                    verdict="pass" if v == "p" else "fail")
            for c, v in zip(COLUMNS, verdicts) if v != "-"]


def failing(records) -> set:
    return {r.test for r in records if not r.passed}


@pytest.mark.parametrize("verdicts, mode, excused, regression", [
    ("fpp", "no-regression", True, False),   # starts holding at step750: fine
    ("ffp", "no-regression", True, False),
    ("pfp", "no-regression", False, True),   # held, stopped, came back: a regression
    ("ppf", "no-regression", False, False),  # fails at the end: fails the run
    ("fff", "no-regression", False, False),  # never holds
    ("pfp", "final", True, False),           # only the last checkpoint counts
    ("ppf", "final", False, False),
    ("fpp", "every", False, False),          # every checkpoint must pass
    ("-fp", "no-regression", True, False),
])
def test_judge(verdicts, mode, excused, regression):
    records = claim(0, verdicts) + claim(1, "ppp")
    v = judge(records, mode)
    bad = failing(records)
    assert bad  # every case has a failing checkpoint
    assert (bad <= v.excused) == excused
    assert bool(v.regressions) == regression


def test_a_test_is_excused_only_when_all_its_failing_claims_are():
    a, b = claim(0, "fpp"), claim(1, "fff")
    b = [replace(r, test=a[i].test) for i, r in enumerate(b)]  # the same tests hold both
    assert judge(a, "no-regression").excused == {a[0].test}
    assert judge(a + b, "no-regression").excused == frozenset()


def test_one_checkpoint_excuses_nothing():
    assert judge(claim(0, "f--"), "no-regression").excused == frozenset()
