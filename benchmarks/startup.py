"""Benchmark: wall time of the bundled hypotheses suite (model load included) in one pytest
process, and spread over ``--workers`` pytest-xdist processes (``-n W --dist loadfile``, what
``scripts/run-claims.sh`` runs), against the notebook way (every file of claims on its own: one
process, one model load, no shared forward passes per file), same claims, same seed, same run.

    python benchmarks/startup.py [--quick] [--threads T] [--workers W]

Also prints the fixed costs: importing neurospec's plugin with torch and TransformerLens, and
loading the bundled model.  Last line:
``name=startup speedup=<per-file / one process> max_abs_diff=<effects, one run vs per-file>``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
QUICK = ["hypotheses/test_tiny_bilingual_logit_attribution.py",
         "hypotheses/test_tiny_bilingual_heads.py"]


def pytest(files: list[str], json_path: Path, threads: int, workers: int = 0) -> float:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    spread = ["-n", str(workers), "--dist", "loadfile"] if workers > 1 else [
        f"--neurospec-threads={threads}"]  # under xdist each worker takes its share of cores
    t = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "pytest", *files, "-q", "-p", "no:cacheprovider",
                           f"--neurospec-json={json_path}", *spread],
                          cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode not in (0, 1) or not json_path.exists():
        sys.exit(f"pytest {' '.join(files[:2])}... ended with {done.returncode}:\n"
                 f"{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return time.perf_counter() - t


def effects(path: Path) -> dict:
    doc = json.loads(path.read_text())
    out = {}
    for r in doc["records"]:
        key = (r["test"], r["claim"])
        out[key] = r["effect"] if isinstance(r["effect"], float) else float("nan")
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help=f"{len(QUICK)} files instead of all")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1),
                   help="pytest-xdist workers for the spread run (default: 2, or 1 core)")
    args = p.parse_args()
    files = QUICK if args.quick else sorted(
        str(f.relative_to(ROOT)) for f in (ROOT / "hypotheses").glob("test_*.py"))
    code = ("import time; t = time.perf_counter(); import torch, transformer_lens.model_bridge, "
            "neurospec.plugin.plugin, neurospec.claims.expect; a = time.perf_counter() - t; "
            "from neurospec import load_model; t = time.perf_counter(); "
            "load_model('tiny-bilingual', device='cpu'); print(a, time.perf_counter() - t)")
    imports, load = map(float, subprocess.run([sys.executable, "-c", code], cwd=ROOT,
                                              capture_output=True, text=True).stdout.split())
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        t_one = pytest(files, tmp / "one.json", args.threads)
        t_spread = (pytest(files, tmp / "spread.json", args.threads, args.workers)
                    if args.workers > 1 else None)
        t_each = 0.0
        per_file = {}
        for k, f in enumerate(files):
            t_each += pytest([f], tmp / f"f{k}.json", args.threads)
            if (tmp / f"f{k}.json").exists():
                per_file.update(effects(tmp / f"f{k}.json"))
        one = effects(tmp / "one.json")
        spread = effects(tmp / "spread.json") if t_spread is not None else {}

    def largest(other: dict) -> tuple[int, float]:
        common = [k for k in one if k in other]
        return len(common), max((abs(one[k] - other[k]) for k in common
                                 if one[k] == one[k] and other[k] == other[k]), default=0.0)

    n_common, diff = largest(per_file)
    print(f"{len(files)} files of claims, {len(one)} claim checks, torch threads {args.threads}, "
          f"{os.cpu_count()} CPU cores")
    print(f"fixed costs: imports (torch, TransformerLens, neurospec) {imports:.1f} s, loading "
          f"tiny-bilingual {load:.1f} s")
    print(f"{'run':<40}{'seconds':>10}")
    print(f"{'one pytest process (neurospec)':<40}{t_one:>10.1f}")
    if t_spread is not None:
        print(f"{f'pytest -n {args.workers} --dist loadfile':<40}{t_spread:>10.1f}")
    print(f"{'one process per file (notebook way)':<40}{t_each:>10.1f}")
    print(f"{n_common} claim checks in both runs; largest effect difference {diff:.1e}")
    if t_spread is not None:
        n_spread, diff_spread = largest(spread)
        print(f"{n_spread} claim checks in the one-process and the -n {args.workers} run; largest "
              f"effect difference {diff_spread:.1e}")
        diff = max(diff, diff_spread)
    fastest = min(t_one, t_spread or t_one)
    print(f"name=startup speedup={t_each / fastest:.2f} one_process_s={t_one:.1f} "
          f"spread_s={'' if t_spread is None else f'{t_spread:.1f}'} max_abs_diff={diff:.2e}")


if __name__ == "__main__":
    main()
