"""The docs runner on real claims (the bundled tiny-bilingual): a page whose claim names a unit
the model does not have, or whose quoted number differs from the run's, fails; the same page
with the unit and the number right passes. (The parser and the runner's other rules:
tests/unit/test_docs_examples_parser.py.)"""

from __future__ import annotations

import textwrap

import pytest
from docs_examples import DocsExampleError
from docs_runner import run_page

CLAIM = '''
```python title="hypotheses/test_german.py"
import pytest
from neurospec import expect, neuron

pytestmark = pytest.mark.model("tiny-bilingual")


def test_german(corpus):
    expect(neuron("{unit}")).activates_more(on=corpus("german"), than=corpus("english"),
                                            by_at_least=1.0)
```

<!-- docs-test: check-output -->
```console
$ pytest -q -p no:cacheprovider hypotheses
{shown}
```
'''


def run(tmp_path, unit: str, shown: str) -> None:
    tmp_path.mkdir(parents=True, exist_ok=True)
    source = tmp_path / "page.md"
    source.write_text(textwrap.dedent(CLAIM.format(unit=unit, shown=shown)))
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    run_page(source, scratch, name="page.md")


@pytest.mark.slow
def test_a_claim_on_a_unit_that_does_not_exist_fails_the_page(tmp_path):
    with pytest.raises(DocsExampleError, match=r"exited 1, the page expects 0(.|\n)*"
                                               r"L0N9999: neuron 9999 does not exist"):
        run(tmp_path, "L0N9999", "1 passed")


@pytest.mark.slow
def test_a_shown_line_that_the_run_does_not_print_fails_the_page(tmp_path):
    run(tmp_path, "L0N125", "1 passed")  # the same page, right: passes
    with pytest.raises(DocsExampleError, match="not in the real output(.|\n)*2 passed"):
        run(tmp_path / "again", "L0N125", "2 passed")
