"""Re-running some calibration rows (``--only``) writes them into the existing table in
place (``--update``): the same row replaced, a new row after its group, the run named, the
notes of the re-run cases added once."""

from neurospec.calibration_cases import Case
from neurospec.calibration_update import selected, update_table

TABLE = """# Calibration

Measured 2026-12-07 with `python -m neurospec.calibrate --seed 0` (10 s, 1 process).

## False passes on real activations

| group | case | false passes | rate | 95% CI (Clopper-Pearson) | verdict |
|---|---|---|---|---|---|
| real: a | x, n=10 | 60/2000 | 0.030 | [0.023, 0.038] | ok |
| real: a | y, n=10 | 1/2000 | 0.001 | [0.000, 0.003] | ok |
| real: b | z, n=10 | 2/2000 | 0.001 | [0.000, 0.004] | ok |

- near-copies: 387 of 400 families found whole.
- an old note.

## Power
"""


def case(name, group="real: a", note=""):
    return Case(name, group, lambda rng, seed: False, (1, 1), note=note)


def test_a_re_run_row_replaces_its_old_row_and_the_run_is_named():
    new = "| real: a | x, n=10 | 40/2000 | 0.020 | [0.014, 0.027] | ok |"
    out = update_table(TABLE, [(case("x, n=10"), new)], "python -m neurospec.calibrate "
                       "--only x", 12.0)
    lines = out.splitlines()
    assert new in lines and "60/2000" not in out
    assert lines.count(new) == 1 and "1/2000" in out and "2/2000" in out
    mark = [line for line in lines if line.startswith("Rows re-run ")]
    assert len(mark) == 1 and "real: a: x, n=10" in mark[0] and "--only x" in mark[0]
    assert lines.index(mark[0]) < lines.index("## False passes on real activations")


def test_a_new_row_goes_after_its_group_and_notes_are_added_once():
    new = "| real: a | w, n=30 | 3/2000 | 0.002 | [0.000, 0.004] | ok |"
    notes = ["w: why this row.", "near-copies: 400 of 400 families found whole."]
    out = update_table(TABLE, [(case("w, n=30"), new)], "cmd", 1.0, notes)
    lines = out.splitlines()
    assert lines.index(new) == lines.index("| real: a | y, n=10 | 1/2000 | 0.001 | "
                                           "[0.000, 0.003] | ok |") + 1
    assert lines.count("- w: why this row.") == 1
    # the one-word note replaces its old text; other notes stay
    assert "- near-copies: 400 of 400 families found whole." in lines
    assert not [line for line in lines if "387 of 400" in line]
    assert "- an old note." in lines
    again = update_table(out, [(case("w, n=30"), new)], "cmd", 1.0, notes)
    assert again.splitlines().count("- w: why this row.") == 1
    assert again.count(new) == 1


def test_only_matches_group_and_case_text_case_insensitively():
    c = case("L1N221 (sparse), token d, n=30", "real: German vs English")
    assert selected(c, ["l1n221"]) and selected(c, ["real: german"])
    assert not selected(c, ["near-copies"]) and not selected(c, [])


def test_a_case_whose_name_holds_a_bar_is_replaced_in_place():
    name = "L0N125 mean-ablated, changes loss by less than +/- |pool mean|, English, n=30"
    old = f"| real: loss changes | {name} | 63/2000 | 0.032 | [0.024, 0.040] | ok |"
    new = f"| real: loss changes | {name} | 44/2000 | 0.022 | [0.016, 0.029] | ok |"
    table = TABLE.replace("| real: b | z, n=10 |", old + "\n| real: b | z, n=10 |")
    out = update_table(table, [(case(name, "real: loss changes"), new)], "cmd", 1.0)
    assert new in out.splitlines() and old not in out
