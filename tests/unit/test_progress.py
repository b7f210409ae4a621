"""Progress lines are throttled: nothing for short work, then at most one per interval."""

from neurospec.progress import EVERY_S, FIRST_AFTER_S, Progress, reporting


def test_short_work_prints_nothing_and_long_work_prints_a_few_lines():
    now = [0.0]
    lines: list[str] = []
    with reporting(lines.append):
        quick = Progress("sweep", 100, "neurons", clock=lambda: now[0])
        for _ in range(100):
            now[0] += 0.01
            quick.advance()
        assert lines == []
        slow = Progress("sweep of MLP0", 1000, "neurons", clock=lambda: now[0])
        for _ in range(1000):
            now[0] += 0.1  # 100 s in all
            slow.advance()
    # first after 5 s, then every 15 s, and a final "done" line
    expected = 1 + int((100 - FIRST_AFTER_S) // EVERY_S) + 1
    assert abs(len(lines) - expected) <= 1
    assert lines[0].startswith("neurospec: sweep of MLP0: ") and "left" in lines[0]
    assert lines[-1].endswith("done")


def test_no_reporter_no_output(capsys):
    p = Progress("x", 3, "steps", clock=lambda: 100.0)
    p.advance(3)
    assert capsys.readouterr() == ("", "")
