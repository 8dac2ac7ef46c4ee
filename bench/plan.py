"""`bench run --dry-run`: the cells of a suite and its budget, without importing torch."""
from __future__ import annotations


def _fmt_search(cell) -> str:
    parts = []
    for name, d in cell.search.items():
        if d.kind == "categorical":
            parts.append(f"{name}∈{list(d.choices)}")
        else:
            parts.append(f"{name}∈[{d.low:g}, {d.high:g}]{' log' if d.log else ''}")
    return ", ".join(parts)


def print_plan(suite, cells) -> None:
    """Print one row per cell and the total number of trainings."""
    from rich.console import Console
    from rich.table import Table

    from bench.grid import budget

    table = Table(title=f"suite {suite.name}: {len(cells)} cells")
    for col in ("#", "cell id", "model", "task", "method", "options", "tuned"):
        table.add_column(col, overflow="fold")
    for i, c in enumerate(cells, 1):
        opts = ", ".join(f"{k}={v}" for k, v in c.options.items())
        table.add_row(str(i), c.cell_id, c.model.name, c.task.name, c.label, opts,
                      _fmt_search(c))
    console = Console()
    console.print(table)
    b = budget(suite, cells)
    console.print(f"budget: {b['cells']} cells × {b['trials_per_cell']} trials = "
                  f"{b['tuning_trials']} tuning trials (validation split) + "
                  f"{b['cells']} cells × {b['seeds']} seeds = {b['final_runs']} final runs "
                  f"(held-out split) = {b['trainings']} trainings", highlight=False)
