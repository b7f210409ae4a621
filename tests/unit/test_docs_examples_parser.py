"""The docs runner's parser and output matching (tests/docs_examples.py), and its runner on
small temporary pages: every broken example must fail the page, every good one pass."""

from __future__ import annotations

import textwrap

import pytest
from docs_examples import (
    DocsExampleError,
    console_commands,
    line_matches,
    missing_lines,
    parse_page,
    shown_output,
)
from docs_runner import run_page


def page(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


def kinds(text: str) -> list[str]:
    return [block.kind for block in parse_page(page(text), "p.md")]


def test_each_kind_is_classified():
    text = """
    ```python title="hypotheses/test_x.py"
    x = 1
    ```

    ```toml title="pytest.ini"
    [pytest]
    ```

    ```python
    print(1)
    ```

    ```console
    $ echo hi
    hi
    ```

    ```text
    shown
    ```

    ```json
    {}
    ```

    <!-- docs-test: skip="needs the hub" -->
    ```bash
    curl example
    ```
    """
    assert kinds(text) == ["file", "file", "python", "console", "display", "display", "skip"]
    blocks = parse_page(page(text), "p.md")
    assert blocks[0].title == "hypotheses/test_x.py" and blocks[0].code == "x = 1\n"
    assert blocks[-1].skip_reason == "needs the hub"
    assert [b.line for b in blocks] == [1, 5, 9, 13, 18, 22, 27]


@pytest.mark.parametrize("fence", ["```bash", "```", "```sh", "```shell", "```pycon"])
def test_an_unmarked_block_is_an_error_naming_the_line_and_the_fix(fence):
    with pytest.raises(DocsExampleError, match=r"p\.md:3: .*cannot classify.*console"):
        parse_page(page(f"""
        # Title

        {fence}
        ls
        ```
        """), "p.md")


def test_markers_combine_and_apply_to_the_next_block_only():
    blocks = parse_page(page("""
    <!-- docs-test: exit=1 check-output -->

    ```console
    $ pytest
    1 failed
    ```

    ```console
    $ true
    ```
    """), "p.md")
    assert (blocks[0].exit, blocks[0].check_output) == (1, True)
    assert (blocks[1].exit, blocks[1].check_output) == (0, False)


@pytest.mark.parametrize("text, message", [
    ('<!-- docs-test: skip -->\n```console\n$ x\n```\n', "unknown docs-test marker"),
    ('<!-- docs-test: skip="" -->\n```console\n$ x\n```\n', "needs a reason"),
    ('<!-- docs-test: exit=2 -->\nSome text.\n```console\n$ x\n```\n', "no code block after it"),
    ('```console\n$ x\n```\n<!-- docs-test: check-output -->\n', "no code block after it"),
    ('<!-- docs-test: exit=1 -->\n```python\nx = 1\n```\n', "console blocks only"),
    ('<!--docs-test skip="x"-->\n```console\n$ x\n```\n', "cannot be read"),
    ('```console\nno command here\n```\n', "no `\\$ ` command"),
    ('```text\n$ pytest\n```\n', "a command in a ```text block"),
    ('```python title="/etc/x.py"\nx = 1\n```\n', "relative path"),
    ('```python title="../x.py"\nx = 1\n```\n', "relative path"),
    ('```python\nx = 1\n', "never closed"),
])
def test_broken_markup_is_an_error(text, message):
    with pytest.raises(DocsExampleError, match=message):
        parse_page(text, "p.md")


def test_indented_and_longer_fences():
    blocks = parse_page(page("""
    !!! note
        ```python
        if True:
            x = 1
        ```

    ````text
    ```python
    not a block of its own
    ```
    ````
    """), "p.md")
    assert [b.kind for b in blocks] == ["python", "display"]
    assert blocks[0].code == "if True:\n    x = 1\n"
    assert "```python" in blocks[1].code


def test_console_commands_and_shown_output():
    code = "$ pytest \\\n    -q\nline one\n\n$ echo two\ntwo\n"
    commands = console_commands(code, 10)
    assert [(c.text, c.line) for c in commands] == [("pytest \n    -q", 11), ("echo two", 15)]
    assert shown_output(code) == ["line one", "", "two"]


@pytest.mark.parametrize("expected, real, matches", [
    ("p = 0.03", "p = 0.0312", True),            # rounded to the digits shown
    ("p = 0.03", "p = 0.0251", True),
    ("p = 0.03", "p = 0.0412", False),
    ("p = 0.03", "p = 0.0349", True),
    ("p = 0.03", "p = 0.025", True),             # either rounding of a tie
    ("p = 0.02", "p = 0.025", True),
    ("AUROC 0.904", "token AUROC 0.9036, 95% CI", True),
    ("AUROC 0.904", "token AUROC 0.9046, 95% CI", False),
    ("L0N125", "unit L0N125 fires", True),
    ("L0N125", "unit L0N1250 fires", False),     # a number never matches inside a longer one
    ("0.03", "10.03", False),
    ("12 passed", "  12   passed  in 3.1s", True),  # whitespace normalised
    ("1 failed", "\x1b[31m1 failed\x1b[0m", True),  # colours stripped
    ("1 failed", "11 failed", False),
    ("1.5e-04", "1.4962e-04", True),
    ("1.5e-04", "1.6e-04", False),
    ("effect 0.07 nats, below 0.1", "effect 0.0712 nats, below 0.1", True),
    ("effect 0.07 nats, below 0.1", "effect 0.0712 nats, below 0.2", False),
    ("[0.896, 0.912]", "CI [0.8961, 0.9118]", True),
])
def test_number_rule(expected, real, matches):
    assert line_matches(expected, real) is matches


def test_missing_lines_skips_blank_and_ellipsis_lines():
    assert missing_lines(["", "...", "  ...  ", "a 1"], "a 1.0\n") == []
    assert missing_lines(["a 2", "b"], "a 1\nb\n") == ["a 2"]


# The runner on pages written here: every broken example fails its page.

def run(tmp_path, text):
    docs = tmp_path / "docs"
    docs.mkdir(exist_ok=True)
    source = docs / "page.md"
    source.write_text(page(text))
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    return run_page(source, scratch, name="page.md")


def test_a_good_page_runs_files_python_and_commands_in_order(tmp_path):
    skipped = run(tmp_path, """
    ```python title="data/n.txt"
    first
    ```

    ```python title="data/n.txt"
    0.0312
    ```

    ```python
    from pathlib import Path
    value = float(Path("data/n.txt").read_text())
    ```

    ```python
    assert value == 0.0312
    ```

    <!-- docs-test: check-output -->
    ```console
    $ mkdir sub && cd sub
    $ pwd | grep -c sub && cat ../data/n.txt
    1
    ...
    0.03
    ```

    <!-- docs-test: exit=3 -->
    ```console
    $ exit 3
    ```

    ```text title="here.txt"
    after the cd
    ```

    ```python
    assert Path("here.txt").read_text() == "after the cd\\n" and Path.cwd().name == "sub"
    ```

    <!-- docs-test: skip="needs the hub" -->
    ```console
    $ false
    ```
    """)
    assert skipped == ["page.md:41: needs the hub"]


@pytest.mark.parametrize("broken, message", [
    ("```console\n$ false\n```\n", r"page\.md:1 \(line 2\): `false` exited 1, the page expects 0"),
    ("<!-- docs-test: exit=1 -->\n```console\n$ true\n```\n", "exited 0, the page expects 1"),
    ("```console\n$ false\n$ true\n```\n", "exited 1, the page expects 0"),
    ("<!-- docs-test: check-output -->\n```console\n$ echo p = 0.0412\np = 0.03\n```\n",
     r"not in the real output.*\n    p = 0\.03"),
    ("<!-- docs-test: check-output -->\n```console\n$ echo 12 passed\n13 passed\n```\n",
     "13 passed"),
    ("```python\nraise ValueError('boom')\n```\n", "python block raised ValueError: boom"),
    ("```bash\nls\n```\n", "cannot classify"),
])
def test_a_broken_example_fails_the_page(tmp_path, broken, message):
    with pytest.raises(DocsExampleError, match=message):
        run(tmp_path, broken)


def test_commands_run_with_this_interpreter_first_and_offline(tmp_path):
    import sys
    from pathlib import Path

    checkout = Path(__file__).resolve().parents[2]
    (tmp_path / "where.py").write_text(
        "import neurospec, pathlib, sys\n"
        f"home = pathlib.Path(neurospec.__file__).parents[1]\n"
        f"sys.exit(home != pathlib.Path({str(checkout)!r}))\n")
    run(tmp_path, f"""
    ```console
    $ test "$(command -v python)" -ef "{sys.executable}"
    $ test "$HF_HUB_OFFLINE" = 1
    $ python ../where.py
    ```
    """)
