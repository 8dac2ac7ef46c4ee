"""Training regimes beyond one task per model: multi-task mixtures and sequential training
with forgetting (docs/regimes.md).

A suite's `[regimes.<name>]` tables (bench.regimes.spec) run after its single-task cells,
with the same methods, the same training settings and the same tuning budget rules, and
their records land in `<run>/regimes*.jsonl` for the report's Regimes section.

    validate(table, file, tasks, model_kinds=(), methods=()) -> list[Problem]   # torch-free
    execute(ctx)          # the runner's hook: run every regime cell of ctx.suite
"""
from __future__ import annotations

from typing import Any

from bench.regimes.spec import Regime, parse, validate

__all__ = ["Regime", "execute", "parse", "validate"]


def execute(ctx: Any) -> None:
    """Run the regimes of `ctx.suite` (a `bench.work.RunContext`); records errors in ctx."""
    from bench.regimes.cells import expand
    from bench.regimes.run import execute as run_cells

    suite = ctx.suite
    regimes, problems = parse(suite.regimes, suite.path, suite.tasks,
                              methods=[m.label for m in suite.methods])
    if problems:  # bench.suite.load validated the table already; this is a bench bug
        raise RuntimeError("; ".join(map(str, problems)))
    cells = expand(suite, regimes)
    if cells:
        _count_in_progress(ctx.progress, sum(
            (c.regime.trials or suite.tune.trials) + len(suite.seeds) for c in cells))
        run_cells(ctx, cells)


def _count_in_progress(progress: Any, trainings: int) -> None:
    """Add the regimes' trainings to the progress display's total."""
    if hasattr(progress, "total"):
        progress.total += trainings
        bar = getattr(progress, "bar", None)
        if bar is not None and hasattr(progress, "all"):
            bar.update(progress.all, total=progress.total)
