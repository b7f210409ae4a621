"""The calibration re-runs a case that misses a target on independent draws, and the re-run
decides it: a chance excess in the screen is cleared, a truly invalid case stays invalid,
and a case that meets the targets is counted once."""

from neurospec.calibrate import BOUND, decide_case, misses_target
from neurospec.calibration_cases import Case


def test_a_chance_excess_is_cleared_by_the_re_run():
    calls = []

    def trial(rng, seed):  # 60 false passes in the first 1000 claims, then a valid rate
        calls.append(seed)
        return len(calls) <= 60 or rng.random() < 0.01
    row = decide_case(Case("lucky", "g", trial, (1000, 2000)), 1000, 2000, seed=0)
    assert row.screen[0] >= 60 and row.screen[1] == 1000
    assert row.reps == 2000 and len(calls) == 3000
    assert not row.invalid and row.hi <= BOUND and not misses_target(row)
    # the re-run's claims are new draws: none of its seeds repeats one of the screen's
    assert not set(calls[:1000]) & set(calls[1000:])


def test_a_truly_invalid_case_stays_invalid():
    row = decide_case(Case("bad", "g", lambda rng, seed: rng.random() < 0.08, (1000, 2000)),
                      1000, 2000, seed=0)
    assert row.screen is not None and row.screen[0] > 40
    assert row.invalid and row.reps == 2000


def test_a_case_within_its_targets_is_counted_once():
    calls = []

    def trial(rng, seed):
        calls.append(seed)
        return rng.random() < 0.01
    row = decide_case(Case("fine", "g", trial, (1000, 2000)), 1000, 2000, seed=0)
    assert row.screen is None and row.reps == 1000 and len(calls) == 1000


def test_a_case_no_mean_test_can_hold_is_not_re_run():
    row = decide_case(Case("rare", "g", lambda rng, seed: rng.random() < 0.08, (1000, 2000),
                           mean_testable=False), 1000, 2000, seed=0)
    assert row.screen is None and row.invalid
