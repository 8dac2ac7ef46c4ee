"""Progress of a run: rich bars (cells, trials, steps) with ETA and best value so far, or
plain log lines with `--quiet` (CI and nightly logs)."""
from __future__ import annotations

import sys
import time


class _Base:
    def __init__(self, suite, cells):
        self.total = len(cells) * (suite.tune.trials + len(suite.seeds))
        self.done = 0
        self.best: dict[str, float] = {}
        self.t0 = time.time()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return None

    def _update_best(self, cell, rec) -> str:
        value = rec.get("objective")
        if value is not None and rec["phase"] == "tune":
            prev = self.best.get(cell.cell_id)
            self.best[cell.cell_id] = value if prev is None else max(prev, value)
        best = self.best.get(cell.cell_id)
        return "" if best is None else f" best {best:.4f}"

    def step(self, cell, step: int) -> None:
        pass

    def note(self, text: str) -> None:
        pass

    def summary(self, run_dir: str) -> None:
        print(f"run folder: {run_dir}  ({time.time() - self.t0:.0f} s)")


class Quiet(_Base):
    """One line per finished trial."""

    def trial_done(self, cell, rec) -> None:
        self.done += 1
        value = rec.get("objective")
        shown = f"{value:.4f}" if isinstance(value, float) else rec.get("reason") or ""
        print(f"[{self.done}/{self.total}] {cell.model.name}/{cell.task.name}/{cell.label} "
              f"{rec['phase']} seed={rec['seed']} {rec['status']} {shown}"
              f"{self._update_best(cell, rec)}", flush=True)


class Bars(_Base):
    """A rich progress display: overall trainings with ETA and the current cell."""

    def __init__(self, suite, cells):
        super().__init__(suite, cells)
        from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                                   TimeElapsedColumn, TimeRemainingColumn)

        self.bar = Progress(TextColumn("{task.description}"), BarColumn(),
                            MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn())
        self.all = self.bar.add_task("trainings", total=self.total)
        self.cur = self.bar.add_task("", total=None)

    def __enter__(self):
        self.bar.__enter__()
        return self

    def __exit__(self, *exc):
        return self.bar.__exit__(*exc)

    def step(self, cell, step: int) -> None:
        self.bar.update(self.cur, description=f"  {cell.label} step {step}")

    def note(self, text: str) -> None:
        self.bar.update(self.cur, description=f"  {text}")

    def trial_done(self, cell, rec) -> None:
        self.done += 1
        best = self._update_best(cell, rec)
        self.bar.advance(self.all)
        self.bar.console.print(f"{cell.label:>14} {rec['phase']:5} seed={rec['seed']} "
                               f"{rec['status']:8} {rec.get('objective') or rec.get('reason') or ''}"
                               f"{best}", highlight=False)


def make_progress(suite, cells, quiet: bool):
    return Quiet(suite, cells) if quiet or not sys.stdout.isatty() else Bars(suite, cells)
