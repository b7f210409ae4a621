"""The ``neurospec`` command: inspect models and results outside pytest.

    neurospec init [DIR]                  # a starter project: settings, two claims, data, CI
    neurospec models                      # bundled / local models and hub names
    neurospec summary reports/run.json    # markdown summary of a results file
    neurospec report reports/run.json -o reports/claims.html   # standalone HTML page
    neurospec compare base.json head.json # what changed, as markdown; exit 1 on a regression
    neurospec graph-claims graph.json --on german --out hypotheses/test_graph.py
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from neurospec.errors import NeurospecError, OutputError
from neurospec.report.escape import terminal


def _init(args: argparse.Namespace) -> int:
    from neurospec.scaffold import init_project

    for path in init_project(args.folder):
        print(f"wrote {path}")
    print(f"next: cd {args.folder} && pytest   (report: reports/run.html)")
    return 0


def _models(args: argparse.Namespace) -> int:
    from neurospec.models.registry import HUB_ALIASES, available_models

    for name in available_models():
        print(name)
    print("hub:", ", ".join(sorted(HUB_ALIASES)))
    return 0


def _read_all(paths: list[Path]) -> list:
    """The records of one or more results files (e.g. one per checkpoint, from parallel CI
    jobs): together they make the report's checkpoint matrix."""
    from neurospec.evidence.jsonio import read_results
    from neurospec.evidence.results import Results

    runs = [read_results(path) for path in paths]
    names = [path.name if len(paths) > 1 else "" for path in paths]
    return Results([r for run in runs for r in run],
                   meta={"incomplete": [n for n, run in zip(names, runs) if run.incomplete]})


def _notes(paths: list[Path]) -> str:
    """A note for each results file written before its run ended, as markdown."""
    from neurospec.evidence.jsonio import read_results
    from neurospec.report.markdown import run_notes

    return "".join(run_notes(read_results(p).meta, p.name if len(paths) > 1 else "")
                   for p in paths)


def _summary(args: argparse.Namespace) -> int:
    from neurospec.report.markdown import summary

    sys.stdout.write(_notes(args.results) + summary(_read_all(args.results)))
    return 0


def _report(args: argparse.Namespace) -> int:
    from neurospec.evidence.jsonio import atomic_write_text
    from neurospec.evidence.outputs import prepare
    from neurospec.report.html import render_page

    target, note = prepare(args.output, "html", "-o")
    if note:
        print(f"neurospec: {note}", file=sys.stderr)
    if args.sample:
        from neurospec.report.samples import sample_records

        records = sample_records(args.sample)
    elif args.results:
        records = _read_all(args.results)
    else:
        raise NeurospecError("give one or more results files (or --sample N)")
    page = render_page(records, max_cards=args.max_cards or None,
                       full_data="every record is in " + ", ".join(map(str, args.results))
                       if args.results and not args.sample else "")
    atomic_write_text(target, page, option="-o reports/claims.html")
    print(f"wrote {args.output}")
    for name in getattr(records, "incomplete", []):
        print(f"incomplete run{f' ({name})' if name else ''}: the results were written before "
              f"the run ended; later claims are missing")
    return 0


def _compare(args: argparse.Namespace) -> int:
    from neurospec.evidence.environment import differences
    from neurospec.evidence.jsonio import read_results
    from neurospec.report.compare import compare, compare_markdown, github_annotations

    base, head = read_results(args.base), read_results(args.head)
    result = compare(base, head)
    text = compare_markdown(result, base, head, base_name=args.base.name,
                            head_name=args.head.name,
                            environment=differences(base.meta.get("environment", {}),
                                                    head.meta.get("environment", {})))
    text = _notes([args.base, args.head]) + text
    if args.format == "github":
        sys.stdout.write(github_annotations(result))
        target = os.environ.get("GITHUB_STEP_SUMMARY")
        if target:
            try:
                with open(target, "a", encoding="utf-8") as fh:
                    fh.write(text + "\n")
            except OSError as exc:
                raise OutputError(f"GITHUB_STEP_SUMMARY={target}: cannot append the summary "
                                  f"({exc.strerror or exc}); unset it to print the summary "
                                  f"here, or point it at a writable file", value=target) from exc
        else:
            sys.stdout.write(text)
    else:
        sys.stdout.write(text)
    return result.exit_code(args.fail_on)


def _agree(args: argparse.Namespace) -> int:
    """Same claims, same numbers: every disagreement between two runs of one suite (two
    backends, devices or dtypes), exit 1 when a claim or a number differs."""
    from neurospec.evidence.jsonio import read_results
    from neurospec.report.agreement import agreement, disagreements

    base, head = read_results(args.base), read_results(args.head)
    found = agreement(list(base), list(head), atol=args.atol, rtol=args.atol,
                      p_atol=args.p_atol)
    failing = disagreements(found)
    claims = {m.claim_id for m in failing}
    print(f"{len(base)} and {len(head)} records; {len(claims)} claims disagree "
          f"({len(failing)} differences; {len(found) - len(failing)} of order or at rounding "
          f"level, not counted)")
    for m in failing[:50]:
        print(f"  {terminal(str(m))}")
    if not base or not head:
        print("neurospec: error: a run with no records agrees with nothing", file=sys.stderr)
        return 1
    return 1 if failing else 0


def _graph_claims(args: argparse.Namespace) -> int:
    """The strongest feature -> feature edges of an attribution graph as drives() claims."""
    import shlex

    from neurospec.graph_claims import (
        claims_file,
        default_model,
        default_transcoder,
        feature_edges,
        read_graph,
    )

    if not 0 < args.fraction:
        raise OutputError(f"--fraction {args.fraction!r}: give a number > 0 (the threshold as "
                          f"a fraction of each edge's graph weight, e.g. 0.15)",
                          value=args.fraction)
    graph = read_graph(args.graph)
    edges = feature_edges(graph, args.top)
    command = "neurospec graph-claims " + shlex.join(
        [args.graph.name, "--on", args.on, "--top", str(args.top), "--fraction",
         str(args.fraction)])
    text = claims_file(graph, edges, corpus=args.on, model=default_model(graph, args.model),
                       transcoder=default_transcoder(graph, args.transcoder),
                       fraction=args.fraction, against_random=args.against_random,
                       command=command)
    if args.out is None:
        sys.stdout.write(text)
        return 0
    if args.out.exists():
        raise OutputError(f"{args.out} exists; remove it or choose another --out (a claims "
                          f"file may hold your edits)", value=str(args.out))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(f"{args.out}: {len(edges)} claims from {len(graph.links)} links of {args.graph}")
    return 0


def _count(text: str) -> int:
    """An argparse type: a whole number >= 0."""
    if not (text.isascii() and text.isdigit()):
        raise argparse.ArgumentTypeError(f"{text!r}: give a whole number >= 0")
    return int(text)


MAX_SAMPLE = 20_000  # synthetic records for --sample: a page of ~300 MB at most


def _sample(text: str) -> int:
    """An argparse type: how many synthetic records, 0 .. MAX_SAMPLE."""
    n = _count(text)
    if n > MAX_SAMPLE:
        raise argparse.ArgumentTypeError(f"{text}: give at most {MAX_SAMPLE} records (a page "
                                         f"of {n} would not fit in memory or a browser)")
    return n


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="neurospec", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("init", help="write a starter project (settings, claims, data, CI)")
    p.add_argument("folder", type=Path, nargs="?", default=Path("."),
                   help="where (default: here; created if missing)")
    p.set_defaults(fn=_init)
    sub.add_parser("models", help="list models found by name").set_defaults(fn=_models)
    p = sub.add_parser("summary", help="markdown summary of results JSONs")
    p.add_argument("results", type=Path, nargs="+", help="one or more results files")
    p.set_defaults(fn=_summary)
    p = sub.add_parser("report", help="standalone HTML page of results JSONs")
    p.add_argument("results", type=Path, nargs="*",
                   help="one or more results files (several checkpoints: a matrix)")
    p.add_argument("-o", "--output", type=Path, default=Path("reports/claims.html"))
    p.add_argument("--max-cards", type=_count, default=1000, metavar="N",
                   help="evidence cards on the page (default 1000, about 15 MB; 0: all); the "
                        "summary table lists every claim regardless")
    p.add_argument("--sample", type=_sample, default=0, metavar="N",
                   help="render N synthetic records instead (to try the views or load-test)")
    p.set_defaults(fn=_report)
    p = sub.add_parser("compare", help="what changed between two results JSONs (markdown)")
    p.add_argument("base", type=Path, help="results of the base run (e.g. main's)")
    p.add_argument("head", type=Path, help="results of this run")
    p.add_argument("--format", choices=("markdown", "github"), default="markdown",
                   help="github: append to $GITHUB_STEP_SUMMARY and print ::error:: annotations "
                        "for newly failing claims")
    p.add_argument("--fail-on", choices=("regression", "change", "never"), default="regression",
                   help="exit 1 when a passing claim now fails (default), on any change, or never")
    p.set_defaults(fn=_compare)
    p = sub.add_parser("agree", help="the same claims on two backends/devices: every number "
                                     "that differs (exit 1 if any)")
    p.add_argument("base", type=Path, help="results of one run (e.g. the TransformerLens one)")
    p.add_argument("head", type=Path, help="results of the other (e.g. nnsight's)")
    p.add_argument("--atol", type=float, default=1e-4,
                   help="numbers agree within atol + atol * |base| (default 1e-4)")
    p.add_argument("--p-atol", type=float, default=1e-3,
                   help="p-values agree within this (default 1e-3: a resampling step)")
    p.set_defaults(fn=_agree)
    p = sub.add_parser("graph-claims", help="an attribution graph's strongest feature edges as "
                                            "a pytest file of drives() claims")
    p.add_argument("graph", type=Path, help="a circuit-tracer graph JSON")
    p.add_argument("--on", required=True, metavar="CORPUS",
                   help="the corpus each claim is tested on, e.g. german")
    p.add_argument("--top", type=_count, default=6, metavar="N",
                   help="how many of the strongest feature -> feature edges (default 6)")
    p.add_argument("--out", type=Path, default=None, metavar="FILE",
                   help="write here (never over an existing file); default: print")
    p.add_argument("--fraction", type=float, default=0.15,
                   help="by_at_least as a fraction of the edge's graph weight (default 0.15)")
    p.add_argument("--against-random", type=_count, default=8, metavar="K",
                   help="random source features per claim (default 8)")
    p.add_argument("--model", default=None, help="the model (default: the graph's scan)")
    p.add_argument("--transcoder", default=None, metavar="PATH",
                   help="the transcoders (default: the bundled set named by the graph's scan)")
    p.set_defaults(fn=_graph_claims)
    args = parser.parse_args(argv)
    try:
        return args.fn(args)
    except NeurospecError as exc:
        print(f"neurospec: error: {terminal(exc)}", file=sys.stderr)
        return 2
    except OSError as exc:  # a full disk, a read-only folder, a name too long ...
        where = f" ({exc.filename})" if getattr(exc, "filename", None) else ""
        print(f"neurospec: error: {terminal(exc.strerror or exc)}{terminal(where)}; check the "
              f"path and free space there", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
