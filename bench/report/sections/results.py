"""The headline: metric vs trainable parameters (Pareto plots) and the paper-style table."""
from __future__ import annotations

import re
from typing import Any

from bench.report import fmt
from bench.report.aggregate import ReportData
from bench.report.model import Block, Section, Table, Text
from bench.report.sections.common import AVG_RULE, Dot, cell_hover, metric_label, pareto_figure


def _missing_note(data: ReportData) -> list[Block]:
    have = set(data.finals["cell_id"])
    lost = data.tuning[~data.tuning["cell_id"].isin(have)]
    if lost.empty:
        return []
    names = "; ".join(f"{r.variant} on {r.task}" for r in lost.itertuples())
    return [Text(f"No complete final run (so not shown): {names}. See Fairness for why.", "warn")]


def tradeoff_section(data: ReportData) -> Section | None:
    """Metric vs trainable parameters: one scatter per task and one for the task average."""
    fin = data.finals
    if fin.empty:
        return Section("tradeoff", "Accuracy vs trainable parameters",
                       (Text("No complete final runs yet: nothing to plot.", "warn"),
                        *_missing_note(data)))
    blocks: list[Block] = []
    avg = data.average
    if len(data.avg_tasks) > 1 and len(avg):  # with one task the average repeats its plot
        dots = [Dot(r["variant"], r["trainable"], r["mean"], r["std"],
                    (f"{r['variant']}: task average {fmt.metric(r['mean'], r['std'])}",
                     f"trainable (mean over tasks): {fmt.count(r['trainable'])}"))
                for _, r in avg.iterrows()]
        blocks.append(pareto_figure("params-avg", "Task average vs trainable parameters",
                                    "trainable parameters (log)", "task average",
                                    dots, data.styles, caption=AVG_RULE))
    for i, task in enumerate(data.tasks):
        rows = fin[fin["task"] == task]
        if rows.empty:
            continue
        scale = data.scale(task)
        dots = [Dot(r["variant"], r["trainable"], r["mean"] * scale,
                    None if r["std"] != r["std"] else r["std"] * scale, cell_hover(r, scale))
                for _, r in rows.iterrows()]
        blocks.append(pareto_figure(f"params-{i}-{_slug(task)}", f"{task}: metric vs "
                                    "trainable parameters", "trainable parameters (log)",
                                    metric_label(data, task), dots, data.styles,
                                    rows["direction"].iloc[0] == "max",
                                    "One point per cell: its best configuration, mean over "
                                    "seeds, error bar ±1 std."))
    return Section("tradeoff", "Accuracy vs trainable parameters",
                   (*blocks, *_missing_note(data)))


def table_section(data: ReportData) -> Section | None:
    """Methods × tasks, metric mean ± std over seeds, an Avg column, best per column bold."""
    fin = data.finals
    if fin.empty:
        return None
    tasks = [t for t in data.tasks if (fin["task"] == t).any()]
    averaged = data.avg_tasks
    avg = data.average.set_index("variant") if len(averaged) > 1 else None
    columns = ["method", "trainable", "% of total",
               *(f"{t} ({metric_label(data, t)})" for t in tasks)]
    if avg is not None:
        columns.append("Avg")
    rows, scores = [], []
    for v in [v for v in data.variants if (fin["variant"] == v).any()]:
        cells = fin[fin["variant"] == v].set_index("task")
        row = [v, _spread(cells["trainable"], fmt.count), _spread(cells["percent"], fmt.percent)]
        score = []
        for t in tasks:
            c = cells.loc[t] if t in cells.index else None
            row.append(fmt.MISSING if c is None else fmt.metric(c["mean"], c["std"], data.scale(t)))
            score.append(None if c is None else _signed(c["mean"], c["direction"]))
        if avg is not None:
            a = avg["mean"].get(v)
            row.append(_avg_cell(a, avg["std"].get(v)))
            score.append(a)
        rows.append(tuple(row))
        scores.append(score)
    bold = _best(scores, offset=3)
    return Section("table", "Results table", (Table(
        "Primary metric on the held-out split", tuple(columns), tuple(rows), bold,
        _caption(data, averaged), (False, True, True, *([True] * (len(columns) - 3)))),))


def _caption(data: ReportData, averaged: list[str]) -> str:
    splits = ", ".join(sorted(set(data.finals["split"]))) or "?"
    return (f"Mean ± sample std (n−1) over seeds of the final runs (the best tuned "
            f"configuration re-trained per seed), measured on split: {splits}. Fractions "
            f"are shown ×100. Best per column in bold."
            + (" " + AVG_RULE if len(averaged) > 1 else ""))


def _avg_cell(mean: Any, std: Any) -> str:
    """The Avg column is already in displayed units (×100 where the tasks are)."""
    if fmt.missing(mean):
        return fmt.MISSING
    return f"{mean:.1f}" + ("" if fmt.missing(std) else f" ± {std:.1f}")


def _signed(mean: float, direction: str) -> float:
    return mean if direction == "max" else -mean


def _best(scores: list[list[Any]], offset: int) -> frozenset[tuple[int, int]]:
    """Positions of the best (highest signed) value per column, ties all bold."""
    bold = set()
    for j in range(len(scores[0]) if scores else 0):
        col = [s[j] for s in scores if s[j] is not None and s[j] == s[j]]
        if col:
            bold |= {(i, j + offset) for i, s in enumerate(scores) if s[j] == max(col)}
    return frozenset(bold)


def _spread(values: Any, f: Any) -> str:
    lo, hi = values.min(), values.max()
    return f(lo) if f(lo) == f(hi) else f"{f(lo)}–{f(hi)}"


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40] or "task"
