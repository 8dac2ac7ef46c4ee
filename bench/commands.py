"""The light subcommands: `validate` and `ls` (no torch, no training)."""
from __future__ import annotations

import json


def validate(args) -> int:
    """Validate each suite; print its cell count and budget. SuiteError -> exit 2."""
    from bench import grid, suite
    from bench.errors import SuiteError

    problems = []
    for path in args.suites:
        try:
            s = suite.load(path)
        except SuiteError as err:
            problems.extend(err.problems)
            continue
        b = grid.budget(s, grid.expand(s))
        print(f"ok {path}: {b['cells']} cells × {b['trials_per_cell']} trials + "
              f"{b['seeds']} seed(s) = {b['trainings']} trainings")
    if problems:
        raise SuiteError(problems)
    return 0


def _method_rows() -> list[dict]:
    from bench.methods import METHODS
    from bench.methods._base import info

    rows = []
    for name in METHODS:
        i = info(name, METHODS[name])
        rows.append({"name": name, "family": i.family, "paper": i.paper,
                     "kinds": list(i.kinds), "lr": list(i.lr), "options": i.options,
                     "summary": i.summary})
    return rows


def _task_rows() -> list[dict]:
    import os

    from bench.defaults import DATA_DIR_ENV
    from bench.tasks.listing import rows

    return rows(data_dir=os.environ.get(DATA_DIR_ENV))


def ls(args) -> int:
    """`bench ls methods|tasks` as a table (or --json)."""
    rows = _method_rows() if args.what == "methods" else _task_rows()
    if args.json:
        print(json.dumps(rows, indent=2, default=str))
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"bench {args.what}")
    cols = (["name", "family", "paper", "lr", "options"] if args.what == "methods"
            else ["name", "kind", "metrics", "primary", "train", "test", "source"])
    for col in cols:
        table.add_column(col, overflow="fold")
    for row in rows:
        table.add_row(*(_fmt(row.get(c)) for c in cols))
    Console().print(table)
    return 0


def _fmt(value) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k}={v!r}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return ", ".join(map(str, value))
    return "" if value is None else str(value)
