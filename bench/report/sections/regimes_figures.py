"""Figures of the Regimes section: forgetting-matrix heatmaps, retention curves, and
forgetting (or general-text loss change) against trainable parameters.

The report's figures are scatter plots, so the heatmap is drawn as a grid of square
markers: x = the training stage, y = the evaluated task, colour = the score on one
colour scale shared by every method of the regime (so methods compare at a glance), each
cell's value in its legend entry and hover text.
"""
from __future__ import annotations

from typing import Sequence

from bench.report import fmt
from bench.report.model import Figure, Point, Series
from bench.report.sections.common import Dot, pareto_figure
from bench.report.sections.regimes_data import RegimeResult

# viridis at 0, .25, .5, .75, 1 (low scores dark purple, high scores yellow)
VIRIDIS = ((68, 1, 84), (59, 82, 139), (33, 145, 140), (94, 201, 98), (253, 231, 37))


def colour(value: float, low: float, high: float) -> str:
    """The viridis colour of `value` on [low, high]."""
    t = 0.5 if high <= low else min(max((value - low) / (high - low), 0.0), 1.0)
    i = min(int(t * 4), 3)
    f = t * 4 - i
    rgb = [round(a + (b - a) * f) for a, b in zip(VIRIDIS[i], VIRIDIS[i + 1])]
    return "#" + "".join(f"{c:02x}" for c in rgb)


def heatmap(key: str, res: RegimeResult, scale: float, bounds: tuple[float, float]) -> Figure:
    """The forgetting matrix of one method as a square-marker heatmap."""
    tasks, series = res.tasks, []
    for i, trained in enumerate(tasks, start=1):
        for j, task in enumerate(tasks[:i], start=1):
            value = res.score(i, task)
            if value is None:
                continue
            shown = fmt.metric(value, None, scale)
            series.append(Series(f"{task} after {trained}: {shown}", (Point(
                float(i), float(j), None, (f"{res.variant}", f"score on {task} after "
                                           f"training on {trained} (stage {i}): {shown}")),),
                colour(value, *bounds), "markers", "square"))
    legend = "; ".join(f"{j} = {t}" for j, t in enumerate(tasks, start=1))
    return Figure(key, f"{res.variant}: score after each stage", "after training stage",
                  "evaluated task", tuple(series), False,
                  f"Forgetting matrix of {res.variant} (mean over {res.seeds} seed(s)). "
                  f"Tasks (x: trained at stage k, y: evaluated): {legend}. Colour: the score, "
                  f"from {fmt.metric(bounds[0], None, scale)} (dark) to "
                  f"{fmt.metric(bounds[1], None, scale)} (yellow), one scale for every "
                  "method of this regime.")


def retention(key: str, task: str, stage: int, found: Sequence[RegimeResult],
              styles: dict[str, tuple[str, str]], scale: float) -> Figure:
    """Each method's score on `task` (learnt at `stage`) through the later stages."""
    series = []
    for res in found:
        pts = tuple(Point(float(i), res.score(i, task) * scale, None,
                          (res.variant, f"{task} after stage {i} ({res.tasks[i - 1]}): "
                           f"{fmt.metric(res.score(i, task), None, scale)}"))
                    for i in range(stage, len(res.tasks) + 1) if res.score(i, task) is not None)
        color, symbol = styles.get(res.variant, ("#1f77b4", "circle"))
        series += [Series(res.variant, pts, color, "line"),
                   Series(res.variant, pts, color, "markers", symbol)]
    return Figure(key, f"{task}: kept or forgotten as later tasks train", "training stage",
                  f"score on {task}" + (" ×100" if scale == 100 else ""), tuple(series),
                  False, f"{task} is learnt at stage {stage}; a flat line keeps it, a falling "
                  "line forgets it.")


def cost_figure(key: str, title: str, y_label: str, found: Sequence[RegimeResult],
                metric: str, styles: dict[str, tuple[str, str]], scale: float,
                caption: str) -> Figure:
    """`metric` (lower is better) against trainable parameters, Pareto frontier marked."""
    dots = [Dot(r.variant, float(r.trainable), r.mean(metric) * scale,
                None if r.std(metric) is None else r.std(metric) * scale,
                (r.variant, f"{metric}: {fmt.metric(r.mean(metric), r.std(metric), scale)}",
                 f"trainable: {fmt.count(r.trainable)}"))
            for r in found if r.mean(metric) is not None and r.trainable]
    return pareto_figure(key, title, "trainable parameters (log)", y_label, dots, styles,
                         maximize=False, caption=caption)
