"""The Regimes section: instruction tasks with all their metrics, multi-task beside
single-task runs of the same methods, and sequential training with its forgetting matrix,
forgetting score and general-text loss.

Reads `<run>/regimes*.jsonl` (bench.regimes) and the instruction tasks' final records; None
when the runs hold neither.
The single-task numbers come from the same runs' final records of the same model, method
label and options on each task, so a row compares like with like.
"""
from __future__ import annotations

import re
from typing import Any

from bench.report import fmt
from bench.report.aggregate import ReportData
from bench.report.model import Block, Section, Table, Text
from bench.report.sections.regimes_data import (RegimeResult, display_scale,
                                                load_regime_records, options_key, results)
from bench.report.sections.regimes_figures import cost_figure, heatmap, retention
from bench.report.sections.regimes_instruct import instruction_tables

INTRO = ("Instruction tuning: a causal LM trained on the response tokens of instruction "
         "data, scored by response loss, perplexity, token accuracy, exact match and (short "
         "answers) answer ranking. Multi-task: one model (one adapter, or all weights for "
         "full fine-tuning) trained on a mixture of tasks, scored on each. Sequential: the "
         "tasks trained one after another with the same method; after every stage each task "
         "seen so far is scored. "
         "Forgetting = mean over earlier tasks of (best score before the last stage − final "
         "score), Chaudhry et al. 2018; BWT = mean of (final − just-learnt score), Lopez-Paz "
         "& Ranzato 2017. Scores are the tasks' primary metrics on their test splits, final "
         "runs of each regime cell's best tuning trial, mean over seeds.")


def regimes_section(data: ReportData) -> Section | None:
    """Instruction tasks, then every regime of the runs, grouped by regime and model."""
    records = load_regime_records(data.runs)
    instruct = instruction_tables(data, records)
    if not records and not instruct:
        return None
    found = results(records)
    blocks: list[Block] = [Text(INTRO), *instruct]
    if records and not found:
        blocks.append(Text("No regime cell has a final run yet.", "warn"))
    groups: dict[tuple[str, str], list[RegimeResult]] = {}
    for r in found:
        groups.setdefault((r.title, r.model), []).append(r)
    styles = getattr(data, "styles", {}) or {}
    for n, ((title, model), group) in enumerate(groups.items()):
        group.sort(key=lambda r: (-(r.trainable or 0), r.variant))
        where = f"{title} on {model}"
        if group[0].kind == "multitask":
            blocks += _multitask(data, where, group)
        else:
            blocks += _sequential(f"reg{n}-{_slug(title)}", where, group, styles)
        failed = [f"{r.variant}: {reason}" for r in group for reason in r.failed]
        if failed:
            blocks.append(Text(f"Final runs not complete ({where}): " + "; ".join(failed),
                               "warn"))
    return Section("regimes", "Regimes: instruction tuning, multi-task and sequential",
                   tuple(blocks))


def _multitask(data: ReportData, where: str, group: list[RegimeResult]) -> list[Block]:
    """Per method: each task's multi-task score beside its single-task score."""
    tasks = group[0].tasks
    scale = display_scale([r.score(1, t) for r in group for t in tasks])
    columns = ["method", "trainable"]
    for t in tasks:
        columns += [f"{t} multi", f"{t} single", f"{t} Δ"]
    columns += ["avg multi", "avg single", "avg Δ"]
    rows = []
    for r in group:
        row = [r.variant, fmt.count(r.trainable)]
        multi, single = [], []
        for t in tasks:
            m, s = r.score(1, t), _single(data, r, t)
            multi.append(m)
            single.append(s)
            row += [fmt.metric(m, None, scale), fmt.metric(s, None, scale),
                    fmt.signed(None if m is None or s is None else m - s, scale)]
        am, as_ = _avg(multi), _avg(single)
        row += [fmt.metric(am, None, scale), fmt.metric(as_, None, scale),
                fmt.signed(None if am is None or as_ is None else am - as_, scale)]
        rows.append(tuple(row))
    caption = (f"Scores ×{scale:g}. multi: the regime's final runs; single: the same method "
               "and options trained on that task alone in these runs (— when not run); "
               "Δ = multi − single. Means over seeds.")
    return [Table(f"Multi-task vs single-task: {where}", tuple(columns), tuple(rows),
                  caption=caption, numeric=(False,) + (True,) * (len(columns) - 1))]


def _single(data: ReportData, r: RegimeResult, task: str) -> float | None:
    fin = data.finals
    if fin.empty:
        return None
    rows = fin[(fin["model"] == r.model) & (fin["label"] == r.label) & (fin["task"] == task)
               & (fin["options"] == options_key(r.options))]
    return None if rows.empty else float(rows["mean"].iloc[0])


def _avg(values: list[float | None]) -> float | None:
    return None if any(v is None for v in values) else sum(values) / len(values)


def _sequential(key: str, where: str, group: list[RegimeResult],
                styles: dict[str, Any]) -> list[Block]:
    tasks = group[0].tasks
    cells = [r.score(i, t) for r in group for i in range(1, len(tasks) + 1) for t in tasks]
    scale = display_scale(cells)
    seen = [v for v in cells if v is not None]
    bounds = (min(seen), max(seen)) if seen else (0.0, 1.0)
    unit = "points ×100" if scale == 100 else "metric units"
    blocks: list[Block] = [_summary_table(where, group, scale), _matrix_table(where, group,
                                                                               scale)]
    blocks.append(cost_figure(f"{key}-forgetting", f"Forgetting vs trainable parameters: "
                              f"{where}", f"forgetting ({unit}, lower = kept)", group,
                              "forgetting", styles, scale, "Mean forgetting over the "
                              "earlier tasks; error bar ±1 std over seeds."))
    if any(r.mean("general_loss_change") is not None for r in group):
        blocks.append(cost_figure(f"{key}-general", f"General-text loss change: {where}",
                                  "loss after − base (nats/token)", group,
                                  "general_loss_change", styles, 1.0,
                                  "Response loss on the general task after the last stage "
                                  "minus the base model's (adapters disabled): lower = less "
                                  "damage to what the model could already do."))
    for j, task in enumerate(tasks[:-1], start=1):
        blocks.append(retention(f"{key}-keep{j}", task, j, group, styles, scale))
    blocks += [heatmap(f"{key}-m{i}", r, scale, bounds) for i, r in enumerate(group)]
    return blocks


def _summary_table(where: str, group: list[RegimeResult], scale: float) -> Table:
    general = any(r.mean("general_loss_change") is not None for r in group)
    columns = ["method", "trainable", "% of total", "average", "forgetting", "BWT"]
    if general:
        columns += ["general loss base", "after", "Δ loss"]
    columns.append("seeds")
    rows, best = [], {}
    for i, r in enumerate(group):
        row = [r.variant, fmt.count(r.trainable), fmt.percent(r.percent),
               fmt.metric(r.mean("average"), r.std("average"), scale),
               fmt.metric(r.mean("forgetting"), r.std("forgetting"), scale),
               fmt.signed(r.mean("bwt"), scale)]
        if general:
            row += [fmt.number(r.mean("general_loss_base")),
                    fmt.number(r.mean("general_loss_after")),
                    fmt.signed(r.mean("general_loss_change"))]
        rows.append(tuple(row + [str(r.seeds)]))
        for col, metric, sign in ((3, "average", 1), (4, "forgetting", -1), (5, "bwt", 1),
                                  (8, "general_loss_change", -1)):
            v = r.mean(metric)
            if v is not None and (col not in best or sign * v > sign * best[col][1]):
                best[col] = (i, v)
    bold = frozenset((i, col) for col, (i, _) in best.items() if col < len(columns))
    return Table(f"Forgetting: {where}", tuple(columns), tuple(rows), bold=bold,
                 caption=f"Average = mean final score over all tasks; forgetting: lower is "
                 f"better (0 = nothing forgotten); BWT: higher is better. Scores ×{scale:g}. "
                 "Best per column in bold." + (" General loss: response loss on the general "
                 "task (nats/token), base model (adapters disabled) vs after the last stage."
                 if general else ""),
                 numeric=(False,) + (True,) * (len(columns) - 1))


def _matrix_table(where: str, group: list[RegimeResult], scale: float) -> Table:
    tasks = group[0].tasks
    columns = ["method", "evaluated on", *(f"after {t}" for t in tasks)]
    rows = []
    for r in group:
        for j, task in enumerate(tasks, start=1):
            rows.append((r.variant, task, *(fmt.metric(r.score(i, task), None, scale)
                                             if i >= j else "" for i in range(1, len(tasks) + 1))))
    return Table(f"Forgetting matrix: {where}", tuple(columns), tuple(rows),
                 caption=f"Score ×{scale:g} on each task (rows) after each training stage "
                 "(columns), mean over seeds.", numeric=(False, False) + (True,) * len(tasks))


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40]
