"""Helpers the sections share: the Pareto scatter, metric labels, the task average."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

from bench.report import fmt
from bench.report.aggregate import ReportData
from bench.report.model import Figure, Point, Series
from bench.report.pareto import frontier

AVG_RULE = ("Avg = unweighted mean over tasks of each task's seed mean (in the units shown), "
            "over tasks whose metric is higher-is-better, for methods with results on all "
            "of them.")


@dataclass(frozen=True)
class Dot:
    """One cell in a scatter: its variant, coordinates, error bar and hover lines."""

    variant: str
    x: float
    y: float
    err: float | None
    hover: tuple[str, ...]


def metric_label(data: ReportData, task: str) -> str:
    """E.g. "accuracy ×100" for the task's primary metric."""
    rows = data.frame[data.frame["task"] == task]
    name = str(rows["primary"].iloc[0]) if len(rows) else "metric"
    return f"{name} ×100" if data.scale(task) == 100 else name


def cell_hover(row: Any, scale: float) -> tuple[str, ...]:
    """Hover lines for a cell of `data.finals`: what it is, its score, its best config."""
    return (f"{row['variant']} on {row['task']}",
            f"{row['primary']}: {fmt.metric(row['mean'], row['std'], scale)} "
            f"({int(row['n'])} seed{'s' if row['n'] != 1 else ''})",
            f"trainable: {fmt.count(row['trainable'])} ({fmt.percent(row['percent'])})",
            f"method: {row['method']}  options: {row['options']}",
            f"best config: {fmt.params(row['params'])}")


def pareto_figure(key: str, title: str, x_label: str, y_label: str, dots: Sequence[Dot],
                  styles: dict[str, tuple[str, str]], maximize: bool = True,
                  caption: str = "") -> Figure:
    """A log-x scatter, one series per variant (in `styles` order), the Pareto frontier
    drawn and ringed."""
    dots = [d for d in dots if _pos(d.x) and d.y == d.y]
    present = {d.variant for d in dots}
    series = []
    for variant in [v for v in styles if v in present] + sorted(present - set(styles)):
        pts = tuple(Point(d.x, d.y, d.err, d.hover) for d in dots if d.variant == variant)
        color, symbol = styles.get(variant, ("#1f77b4", "circle"))
        series.append(Series(variant, pts, color, "markers", symbol))
    idx = frontier([d.x for d in dots], [d.y for d in dots], maximize=maximize)
    front = tuple(Point(dots[i].x, dots[i].y, None, ("Pareto frontier",) + dots[i].hover)
                  for i in idx)
    if front:
        series.append(Series("Pareto frontier", front, "#444444", "line"))
        series.append(Series("frontier member", front, "#222222", "ring"))
    members = ", ".join(dots[i].variant for i in idx) or "none"
    note = f"Pareto frontier (no other cell is both cheaper and better): {members}."
    return Figure(key, title, x_label, y_label, tuple(series), True,
                  f"{caption} {note}".strip())


def _pos(x: Any) -> bool:
    return x is not None and isinstance(x, (int, float)) and math.isfinite(x) and x > 0
