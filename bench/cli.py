"""The `bench` command line: run | validate | ls | count | report | compare | baseline.

Exit codes: 0 ok; 1 a run failed or a comparison found a regression; 2 a usage or suite
error (a `BenchError`: printed as a message, never as a traceback); 130 interrupted (Ctrl-C);
143 terminated (SIGTERM during `bench run`).
Heavy libraries are imported by the subcommands that need them, so `--help`, `validate`
and `ls` start fast and never import torch.
"""
from __future__ import annotations

import argparse
import sys

from bench.errors import BenchError

EPILOG = "exit codes: 0 ok, 1 run failure or regression, 2 usage/suite error"


def _add_run(sub) -> None:
    p = sub.add_parser("run", help="run a suite (validates it first)", epilog=EPILOG)
    p.add_argument("suite", help="path to a suite .toml")
    p.add_argument("--dry-run", action="store_true",
                   help="list the cells and the budget, train nothing")
    p.add_argument("--storage", help="Optuna storage URL shared by workers "
                   "(default: a journal file in the run folder)")
    p.add_argument("--run-id", help="name of the run folder (default: continue the "
                   "suite's latest run, so a second invocation re-runs nothing)")
    p.add_argument("--resume", metavar="RUN_DIR", help="continue this run folder")
    p.add_argument("--new", action="store_true", help="start a new run folder (nightly "
                   "jobs: a fresh measurement each time)")
    p.add_argument("--worker", action="store_true", help="one of several processes "
                   "sharing a run (same --run-id): claims trials until the suite's budget is "
                   "spent, writes records-<host>-<pid>.jsonl")
    p.add_argument("--baseline", metavar="FILE",
                   help="after the run, compare with this baseline; exit 1 on regression")
    p.add_argument("--quiet", "-q", action="store_true", help="plain log lines, no bars")


def _add_report_compare(sub) -> None:
    p = sub.add_parser("report", help="HTML/markdown report of one or more runs",
                       epilog=EPILOG)
    p.add_argument("runs", nargs="+", metavar="RUN_DIR")
    p.add_argument("--format", default="html,md", help="comma list of html, md")
    p.add_argument("--out", help="output folder (default: <first run>/report)")
    p = sub.add_parser("compare", help="compare a run with a baseline (nightly gate)",
                       epilog=EPILOG)
    p.add_argument("baseline", help="baseline JSON (from `bench baseline`) or a run dir")
    p.add_argument("current", help="run dir (or baseline JSON)")
    p.add_argument("--tolerance", action="append", metavar="FAMILY=VALUE",
                   help="e.g. quality=0.01 memory=0.1 (repeatable)")
    p.add_argument("--format", default="md", help="md, json or md,json")
    p.add_argument("--fail-on", help="families that gate: quality,memory,time,energy")
    p.add_argument("--out", help="folder for compare.md / compare.json")
    p = sub.add_parser("baseline", help="write a small baseline JSON from runs")
    p.add_argument("runs", nargs="+", metavar="RUN_DIR")
    p.add_argument("--out", required=True, help="baseline file to write")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bench", epilog=EPILOG,
        description="Compare fine-tuning methods on the same tasks with the same budget.")
    parser.add_argument("--version", action="version", version=_version())
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_run(sub)
    p = sub.add_parser("validate", help="check suites without running anything",
                       epilog=EPILOG)
    p.add_argument("suites", nargs="+", metavar="SUITE")
    p = sub.add_parser("ls", help="list registered methods or tasks")
    p.add_argument("what", choices=["methods", "tasks"])
    p.add_argument("--json", action="store_true")
    p = sub.add_parser("count", help="parameter accounting of a method on a model, "
                       "without training")
    p.add_argument("model", help="model ref (hub id, folder, package:pkg/dir)")
    p.add_argument("method")
    p.add_argument("options", nargs="*", metavar="KEY=VALUE")
    p.add_argument("--num-labels", type=int, default=2)
    p.add_argument("--kind", default="seq_cls", choices=["seq_cls", "causal_lm"])
    p.add_argument("--json", action="store_true")
    _add_report_compare(sub)
    return parser


def _version() -> str:
    from bench import __version__

    return f"bench {__version__}"


COMMANDS = {
    "run": "bench.runner:main",
    "validate": "bench.commands:validate",
    "ls": "bench.commands:ls",
    "count": "bench.count:main",
    "report": "bench.report:main",
    "compare": "bench.compare:main",
    "baseline": "bench.compare:baseline_main",
}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    module, _, attr = COMMANDS[args.command].partition(":")
    try:
        import importlib

        return int(getattr(importlib.import_module(module), attr)(args) or 0)
    except BenchError as err:
        print(f"bench: error: {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt as exc:
        from bench.errors import Terminated

        if isinstance(exc, Terminated):
            print("bench: terminated (SIGTERM); the running trial was given back: run the "
                  "same command again to go on", file=sys.stderr)
            return 143
        print("bench: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
