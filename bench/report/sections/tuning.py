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


class _Trials:
    """The completed tuning trials as plain column lists, with their rows grouped.

    The sections look at a few hundred small groups; slicing a DataFrame per group (and
    filtering it again per pair) cost more than the work itself, so the columns are
    read out once and groups are lists of row positions.
    """

    COLUMNS = ("rec", "cell_id", "task", "variant", "trial", "params", "objective",
               "primary", "split", "direction")
    rec: list[int]
    cell_id: list[str]
    task: list[str]
    variant: list[str]
    trial: list[Any]
    params: list[dict[str, Any]]
    objective: list[float]
    primary: list[str]
    split: list[str]
    direction: list[str]

    def __init__(self, data: ReportData) -> None:
        tune = _complete_tune(data)
        for name in self.COLUMNS:
            setattr(self, name, tune[name].tolist())

    def group(self, *keys: str) -> dict[Any, list[int]]:
        """Row positions per value of `keys` (a tuple for several), in first-seen order;
        rows keep the frame's order."""
        cols = [getattr(self, k) for k in keys]
        out: dict[Any, list[int]] = {}
        for i, key in enumerate(zip(*cols) if len(cols) > 1 else cols[0]):
            out.setdefault(key, []).append(i)
        return out

    def cells(self, data: ReportData) -> list[list[int]]:
        """Row positions per cell, cells in report order (task, then variant)."""
        tasks = {t: i for i, t in enumerate(data.tasks)}
        order = {v: i for i, v in enumerate(data.variants)}
        return sorted(self.group("cell_id").values(),
                      key=lambda rows: (tasks[self.task[rows[0]]], order[self.variant[rows[0]]]))


def best_table(data: ReportData) -> Table:
    """Per cell: the configuration the finals re-ran (else the best tuning trial)."""
    t = _Trials(data)
    fin = data.finals
    chosen = dict(zip(fin["cell_id"], zip(fin["params"], fin["trial"])))
    rows = []
    for g in t.cells(data):
        pick = max if t.direction[g[0]] == "max" else min  # the first best, like idxmax
        best = pick(g, key=lambda i: t.objective[i])
        params, trial = chosen.get(t.cell_id[g[0]], (None, None))
        if params:
            best = next((i for i in g if t.trial[i] == trial), best)
        else:
            params, trial = t.params[best], t.trial[best]
        rows.append((t.task[best], t.variant[best], fmt.count(trial), fmt.params(params),
                     f"{fmt.number(t.objective[best], 4)} ({t.primary[best]}, "
                     f"{t.split[best] or '?'})", str(len(g))))
    return Table("Best configuration per cell", ("task", "method", "trial", "hyperparameters",
                                                 "tuning objective", "complete trials"),
                 tuple(rows), frozenset(), "The finals re-train this configuration per seed.",
                 (False, False, True, False, True, True))


def importance_table(data: ReportData) -> Table | None:
    """Per cell: optuna's parameter importances over its completed tuning trials."""
    t = _Trials(data)
    found = []
    for g in t.cells(data):
        search = (data.records[int(t.rec[g[0]])].get("cell") or {}).get("search")
        pairs = [(t.params[i], t.objective[i]) for i in g]
        imp = importances(pairs, search, t.direction[g[0]] == "max")
        if imp:
            found.append((t.task[g[0]], t.variant[g[0]], len(g), imp))
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


def _lr_points(data: ReportData, t: _Trials, rows: list[int], variant: str,
               task: str) -> tuple[Point, ...]:
    scale = data.scale(task)
    points = []
    for i in rows:
        lr, o, p = _lr(t.params[i]), t.objective[i], t.params[i]
        if lr is not None and lr > 0:
            points.append(Point(lr, o * scale, None, (
                f"{variant} on {task}", f"trial {fmt.count(t.trial[i])}",
                f"objective: {fmt.number(o, 4)}", fmt.params(p))))
    return tuple(points)


def lr_figures(data: ReportData) -> list[Figure]:
    """Tuning objective vs learning rate: per method with one colour per task, or, for a
    single task, one figure with one colour per method."""
    t = _Trials(data)
    caption = "Completed tuning trials, measured on the tuning split."
    y_label = "tuning objective (×100 for fractions)"
    if len(data.tasks) == 1:
        task, by_variant = data.tasks[0], t.group("variant")
        series = [Series(v, pts, data.styles[v][0], "markers", data.styles[v][1])
                  for v in data.variants
                  if (pts := _lr_points(data, t, by_variant.get(v, []), v, task))]
        return [Figure("lr-0", f"{task}: tuning objective vs learning rate",
                       "learning rate (log)", y_label, tuple(series), True, caption)]
    figs, by_pair = [], t.group("variant", "task")
    for i, variant in enumerate(data.variants):
        series = [Series(task, pts, style(j)[0], "markers", style(j)[1])
                  for j, task in enumerate(data.tasks)
                  if (pts := _lr_points(data, t, by_pair.get((variant, task), []), variant,
                                        task))]
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
