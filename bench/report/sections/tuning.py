"""Tuning insight: the best configuration per cell, parameter importances, lr sensitivity."""
from __future__ import annotations

from typing import Any

from bench.report import fmt
from bench.report.aggregate import ReportData, style
from bench.report.importance import MIN_TRIALS, importances
from bench.report.model import Block, Figure, Point, Section, Series, Table, Text

LR_NAMES = ("lr", "learning_rate")


def _complete_tune(data: ReportData) -> Any:
    f = data.frame
    return f[(f["phase"] == "tune") & (f["status"] == "complete") & f["objective"].notna()]


def _cells(data: ReportData, frame: Any) -> Any:
    """`frame` grouped by cell, in report order (task, then variant)."""
    tasks = {t: i for i, t in enumerate(data.tasks)}
    order = {v: i for i, v in enumerate(data.variants)}
    rank = frame["task"].map(tasks) * 10_000 + frame["variant"].map(order)
    return frame.assign(_rank=rank).sort_values("_rank", kind="stable").groupby(
        "cell_id", sort=False)


def best_table(data: ReportData) -> Table:
    """Per cell: the configuration the finals re-ran (else the best tuning trial)."""
    tune = _complete_tune(data)
    fin = data.finals.set_index("cell_id")
    rows = []
    for cell_id, g in _cells(data, tune):
        maximize = g["direction"].iloc[0] == "max"
        best = g.loc[g["objective"].idxmax() if maximize else g["objective"].idxmin()]
        if cell_id in fin.index and fin.loc[cell_id, "params"]:
            params, trial = fin.loc[cell_id, "params"], fin.loc[cell_id, "trial"]
            chosen = g[g["trial"] == trial]
            best = chosen.iloc[0] if len(chosen) else best
        else:
            params, trial = best["params"], best["trial"]
        rows.append((best["task"], best["variant"], fmt.count(trial), fmt.params(params),
                     f"{fmt.number(best['objective'], 4)} ({best['primary']}, "
                     f"{best['split'] or '?'})", str(len(g))))
    return Table("Best configuration per cell", ("task", "method", "trial", "hyperparameters",
                                                 "tuning objective", "complete trials"),
                 tuple(rows), frozenset(), "The finals re-train this configuration per seed.",
                 (False, False, True, False, True, True))


def importance_table(data: ReportData) -> Table | None:
    """Per cell: optuna's parameter importances over its completed tuning trials."""
    tune = _complete_tune(data)
    found = []
    for _, g in _cells(data, tune):
        search = (data.records[int(g["rec"].iloc[0])].get("cell") or {}).get("search")
        pairs = list(zip(g["params"], g["objective"]))
        imp = importances(pairs, search, g["direction"].iloc[0] == "max")
        if imp:
            found.append((g["task"].iloc[0], g["variant"].iloc[0], len(g), imp))
    if not found:
        return None
    names = sorted({k for *_, imp in found for k in imp})
    rows = tuple((t, v, str(n), *(fmt.number(imp.get(k), 2) for k in names))
                 for t, v, n, imp in found)
    return Table("Hyperparameter importance per cell", ("task", "method", "trials", *names),
                 rows, frozenset(), "optuna.importance.get_param_importances (PED-ANOVA) on "
                 "the completed tuning trials; importances sum to 1 per cell. A cell tuning "
                 "one parameter gives it 1 trivially; few trials make these rough.",
                 (False, False, True, *([True] * len(names))))


def _lr_points(data: ReportData, rows: Any, variant: str, task: str) -> tuple[Point, ...]:
    scale = data.scale(task)
    return tuple(Point(lr, o * scale, None, (f"{variant} on {task}", f"trial {fmt.count(t)}",
                                             f"objective: {fmt.number(o, 4)}", fmt.params(p)))
                 for lr, o, t, p in zip(rows["params"].map(_lr), rows["objective"],
                                        rows["trial"], rows["params"])
                 if lr is not None and lr > 0)


def lr_figures(data: ReportData) -> list[Figure]:
    """Tuning objective vs learning rate: per method with one colour per task, or, for a
    single task, one figure with one colour per method."""
    tune = _complete_tune(data)
    caption = "Completed tuning trials, measured on the tuning split."
    y_label = "tuning objective (×100 for fractions)"
    if len(data.tasks) == 1:
        task = data.tasks[0]
        series = [Series(v, pts, data.styles[v][0], "markers", data.styles[v][1])
                  for v in data.variants
                  if (pts := _lr_points(data, tune[tune["variant"] == v], v, task))]
        return [Figure("lr-0", f"{task}: tuning objective vs learning rate",
                       "learning rate (log)", y_label, tuple(series), True, caption)]
    figs = []
    for i, variant in enumerate(data.variants):
        g = tune[tune["variant"] == variant]
        series = [Series(t, pts, style(j)[0], "markers", style(j)[1])
                  for j, t in enumerate(data.tasks)
                  if (pts := _lr_points(data, g[g["task"] == t], variant, t))]
        figs.append(Figure(f"lr-{i}", f"{variant}: tuning objective vs learning rate",
                           "learning rate (log)", y_label, tuple(series), True,
                           caption + " One colour per task."))
    return figs


def _lr(params: Any) -> float | None:
    for name in LR_NAMES:
        v = params.get(name) if isinstance(params, dict) else None
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            return float(v)
    return None


def tuning_section(data: ReportData) -> Section | None:
    """Best configs, importances and lr sensitivity, from the tuning records."""
    if _complete_tune(data).empty:
        return Section("tuning", "Tuning insight",
                       (Text("No completed tuning trial: nothing to show.", "note"),))
    blocks: list[Block] = [best_table(data)]
    imp = importance_table(data)
    blocks.append(imp or Text(f"Importances need ≥ {MIN_TRIALS} completed trials per cell "
                              "with tuned parameters.", "note"))
    figs = lr_figures(data)
    blocks += figs or [Text("No trial tuned a learning rate: no sensitivity plot.", "note")]
    return Section("tuning", "Tuning insight", tuple(blocks))
