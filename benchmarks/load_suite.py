"""Load test: a generated suite of many claims on tiny-bilingual, run by pytest in a
subprocess with the HTML report and the results JSON, reporting wall time and peak memory.

    python benchmarks/load_suite.py [--quick] [--claims N] [--keep DIR]

The suite mixes the claim kinds a real one has (activation contrasts on neurons and SAE
features, zero / mean ablations with an off-target check, head ablations, direct logit
attribution), a few deliberately underpowered claims and a few bad units, so the failure
paths are loaded too.  Claims may pass or fail: what is checked is that every claim ends
in a verdict (bad units fail their test, nothing errors), that the JSON holds a record per
claim check, and how much memory the pytest process needed
(``getrusage(RUSAGE_CHILDREN).ru_maxrss``).

Last line: ``name=load_suite claims=<n> checks=<n> wall_s=<s> peak_rss_mb=<mb>``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAE_L0 = ROOT / "fixtures" / "saes" / "tiny-bilingual" / "L0"
HEADER = '''import pytest
from neurospec import expect, head

pytestmark = pytest.mark.model("tiny-bilingual")
SAE_L0 = {sae!r}
'''

# One template per claim kind; {i} is the claim's number, {n}/{h}/{f} a unit index.
KINDS = [
    ("activation", '''
def test_contrast_{i}(corpus):
    expect("L{layer}N{n}").activates_more(on=corpus("german").subset(40),
                                          than=corpus("english").subset(40), by_at_least=0.0)
'''),
    ("ablation", '''
def test_ablation_{i}(corpus):
    (expect("L{layer}N{n}").ablated(to="zero")
        .raises_loss(on=corpus("german").subset(20), by_at_least=0.0)
        .and_not_on(corpus("english").subset(20), tolerance=0.05))
'''),
    ("mean_ablation", '''
def test_mean_ablation_{i}(corpus):
    expect("L{layer}N{n}").ablated(to="mean", over=corpus("english").subset(40)).raises_loss(
        on=corpus("german").subset(20), by_at_least=0.0)
'''),
    ("head", '''
def test_head_{i}(corpus):
    expect(head("L{layer}H{h}")).ablation_raises_loss(on=corpus("german").subset(20),
                                                      by_at_least=0.0)
'''),
    ("logit_attribution", '''
def test_writes_{i}():
    expect("L{layer}N{n}").writes_tokens([" und", " der", " die", " the"], top_k=50)
'''),
    ("sae_feature", '''
def test_feature_{i}(corpus):
    expect("L0F{f}", sae=SAE_L0).activates_more(on=corpus("german").subset(40),
                                                than=corpus("english").subset(40),
                                                by_at_least=0.0)
'''),
]
EXTRAS = [
    ("underpowered", '''
def test_underpowered_{i}(corpus):
    expect("L0N{n}").activates_more(on=corpus("german").subset(4),
                                    than=corpus("english").subset(4), by_at_least=0.0)
'''),
    ("bad_unit", '''
def test_bad_unit_{i}():
    expect("L9N{n}")
'''),
]


def generate(folder: Path, n_claims: int, per_file: int = 25) -> dict[str, int]:
    """Write test files with ``n_claims`` claims in all; return the count per kind."""
    counts: dict[str, int] = {}
    bodies = []
    for i in range(n_claims):
        kind, template = (EXTRAS[i // 20 % 2] if i % 20 == 19 else KINDS[i % len(KINDS)])
        counts[kind] = counts.get(kind, 0) + 1
        bodies.append(template.format(i=i, layer=i % 2, n=(37 * i) % 256, h=i % 4,
                                      f=(53 * i) % 1024))
    for k in range(0, n_claims, per_file):
        (folder / f"test_load_{k // per_file:03d}.py").write_text(
            HEADER.format(sae=str(SAE_L0)) + "".join(bodies[k:k + per_file]))
    return counts


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="40 claims instead of 240")
    p.add_argument("--claims", type=int, default=None)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--keep", type=Path, default=None, help="write the suite and outputs here")
    args = p.parse_args()
    n = args.claims or (40 if args.quick else 240)
    folder = args.keep or Path(tempfile.mkdtemp(prefix="neurospec-load-"))
    folder.mkdir(parents=True, exist_ok=True)
    counts = generate(folder, n)
    cmd = [sys.executable, "-m", "pytest", str(folder), "-q", "-p", "no:cacheprovider",
           "--rootdir", str(folder), f"--neurospec-threads={args.threads}",
           f"--neurospec-json={folder / 'out' / 'run.json'}",
           f"--html={folder / 'out' / 'run.html'}", "--self-contained-html"]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    t = time.perf_counter()
    proc = subprocess.run(cmd, cwd=folder, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # KiB on Linux
    tail = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else proc.stderr[-2000:]
    outcomes = {k: int(v) for v, k in re.findall(r"(\d+) (passed|failed|errors?|xfailed)", tail)}
    doc = json.loads((folder / "out" / "run.json").read_text())
    verdicts: dict[str, int] = {}
    for r in doc["records"]:
        verdicts[r["verdict"]] = verdicts.get(r["verdict"], 0) + 1
    html_mb = (folder / "out" / "run.html").stat().st_size / 2**20
    json_mb = (folder / "out" / "run.json").stat().st_size / 2**20
    print(f"suite: {n} claims in {folder} ({', '.join(f'{v} {k}' for k, v in counts.items())})")
    print(f"pytest: {tail}")
    print(f"records: {len(doc['records'])} claim checks ({verdicts}); results JSON "
          f"{json_mb:.1f} MB, HTML report {html_mb:.1f} MB")
    print(f"wall {wall:.1f} s, peak RSS of the pytest process {peak_mb:.0f} MB, torch threads "
          f"{args.threads}, {os.cpu_count()} CPUs")
    errors = outcomes.get("error", 0) + outcomes.get("errors", 0)
    if errors or proc.returncode not in (0, 1):
        print(proc.stdout[-4000:], proc.stderr[-2000:])
        raise SystemExit(f"pytest ended with {errors} errors, exit code {proc.returncode}")
    print(f"name=load_suite claims={n} checks={len(doc['records'])} wall_s={wall:.1f} "
          f"peak_rss_mb={peak_mb:.0f}")


if __name__ == "__main__":
    main()
