"""The docs runner on real claims (the bundled tiny-bilingual): a page whose claim names a unit
the model does not have, or that quotes a number the run did not measure, fails; the same page
with the unit and the number right passes. (The parser and the runner's other rules:
tests/unit/test_docs_examples_parser.py.)"""

from __future__ import annotations

import re
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
                                            by_at_least=1)
```

<!-- docs-test: check-output -->
```console
$ pytest -q -p no:cacheprovider hypotheses --neurospec-json=reports/run.json
{shown}
```
'''


SUMMARY = """
<!-- docs-test: check-output -->
```console
$ neurospec summary reports/run.json
| pass | L0N125 activates more on german than on english by >= 1 | {effect} |
```
"""


def run(folder, text: str, scratch=None) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    source = folder / "page.md"
    source.write_text(textwrap.dedent(text))
    if scratch is None:
        scratch = folder / "scratch"
        scratch.mkdir()
    run_page(source, scratch, name="page.md")


@pytest.mark.slow
def test_a_claim_on_a_unit_that_does_not_exist_fails_the_page(tmp_path):
    with pytest.raises(DocsExampleError, match=r"exited 1, the page expects 0(.|\n)*"
                                               r"L0N9999: neuron 9999 does not exist"):
        run(tmp_path, CLAIM.format(unit="L0N9999", shown="1 passed"))


@pytest.mark.slow
def test_a_number_the_run_did_not_measure_fails_the_page(tmp_path):
    # the right page passes: the claim runs, its effect is quoted at the digits shown ...
    run(tmp_path, CLAIM.format(unit="L0N125", shown="1 passed") + SUMMARY.format(effect="+1.63"))
    # ... and the same summary of the same run, quoted with a number it did not measure, fails
    for wrong in ("+1.64", "+1.527"):
        missing = r"not in the real output(.|\n)*" + re.escape(wrong)
        with pytest.raises(DocsExampleError, match=missing):
            run(tmp_path / wrong, SUMMARY.format(effect=wrong), scratch=tmp_path / "scratch")
