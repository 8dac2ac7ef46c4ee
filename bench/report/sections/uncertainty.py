"""Uncertainty: paired bootstrap of each method's difference to full fine-tuning.

Pairs are made on the same evaluation examples: by seed, then by example index, from the
`predictions` the final runs recorded. Without a `full` cell on a task the reference is
the best method on that task.
"""
from __future__ import annotations

from typing import Any

from bench.report import fmt
from bench.report.aggregate import ReportData
from bench.report.model import Section, Table, Text
from bench.report.stats import Bootstrap, paired_bootstrap

N_BOOT = 1000
COLUMNS = ("task", "method", "vs", "seeds", "examples", "Δ (method − ref)", "95% CI", "p",
           "verdict")


Predictions = dict[str, dict[int, tuple[list[Any], list[Any]]]]


def all_predictions(data: ReportData) -> Predictions:
    """cell_id -> seed -> (preds, labels), from the complete final runs that kept predictions.

    One pass over the final rows (a later row of the same cell and seed wins), so that
    pairing each method with its reference does not filter the frame again per pair.
    """
    out: Predictions = {}
    rows = data.final_rows
    for cell_id, rec_i, seed in zip(rows["cell_id"], rows["rec"], rows["seed"]):
        pred = data.records[int(rec_i)].get("predictions")
        if isinstance(pred, dict) and pred.get("preds") is not None and pred.get("labels"):
            out.setdefault(cell_id, {})[int(seed)] = (pred["preds"], pred["labels"])
    return out


def reference(cells: Any, model: str) -> Any:
    """A task's `full` cell (of `model` if it has one, else the first), else its best cell."""
    full = cells[cells["method"] == "full"]
    if len(full):
        same = full[full["model"] == model]
        return (same if len(same) else full).iloc[0]
    sign = 1 if cells["direction"].iloc[0] == "max" else -1
    return cells.loc[(cells["mean"] * sign).idxmax()]


def compare(preds: Predictions, a: Any, ref: Any) -> Bootstrap | str:
    """The paired bootstrap of cell `a` vs cell `ref`, or why it cannot be computed."""
    pa, pr = preds.get(a["cell_id"], {}), preds.get(ref["cell_id"], {})
    seeds = sorted(set(pa) & set(pr))
    if not seeds:
        return "no seed with predictions in both"
    if any(pa[s][1] != pr[s][1] for s in seeds):
        return "evaluation labels differ (not the same examples)"
    try:
        return paired_bootstrap([pa[s][0] for s in seeds], [pr[s][0] for s in seeds],
                                [pa[s][1] for s in seeds], str(a["primary"]), N_BOOT)
    except KeyError as err:
        return str(err.args[0])
    except ValueError as err:
        return f"predictions not comparable: {err}"


def _row(data: ReportData, preds: Predictions, a: Any, ref: Any) -> tuple[str, ...]:
    res = compare(preds, a, ref)
    head = (a["task"], a["variant"], ref["variant"])
    if isinstance(res, str):
        return (*head, fmt.MISSING, fmt.MISSING, fmt.MISSING, fmt.MISSING, fmt.MISSING,
                f"not computed: {res}")
    scale = data.scale(a["task"])
    better = (res.diff > 0) == (a["direction"] == "max")
    verdict = "within noise" if res.within_noise else ("better" if better else "worse")
    return (*head, str(res.n_seeds), str(res.n_examples), fmt.signed(res.diff, scale),
            f"[{fmt.signed(res.low, scale)}, {fmt.signed(res.high, scale)}]",
            f"{res.p:.2g}", verdict)


def _task_rows(data: ReportData, preds: Predictions, cells: Any) -> tuple[list[Any], list[str]]:
    """One task's rows (each method against its reference) and the references used."""
    order = {v: i for i, v in enumerate(data.variants)}
    rows, used, ref_of = [], [], {}  # the reference depends only on (task, model)
    for _, a in cells.sort_values("variant", key=lambda s: s.map(order)).iterrows():
        if a["model"] not in ref_of:
            ref_of[a["model"]] = reference(cells, a["model"])
        ref = ref_of[a["model"]]
        used.append(ref["variant"])
        if a["cell_id"] != ref["cell_id"]:
            rows.append(_row(data, preds, a, ref))
    return rows, used


def uncertainty_section(data: ReportData) -> Section | None:
    """One row per (task, method ≠ reference): Δ, its bootstrap CI, p, and a verdict."""
    fin = data.finals
    if fin.empty:
        return None
    rows, refs = [], []
    preds = all_predictions(data)
    by_task = dict(tuple(fin.groupby("task", sort=False)))
    for task in data.tasks:
        cells = by_task.get(task)
        if cells is not None and len(cells) >= 2:
            task_rows, used = _task_rows(data, preds, cells)
            rows += task_rows
            refs.append(f"{task}: {', '.join(dict.fromkeys(used))}")
    title = ("Uncertainty: differences to full fine-tuning" if (fin["method"] == "full").any()
             else "Uncertainty: differences to the best method")
    if not rows:
        return Section("uncertainty", title,
                       (Text("Fewer than two methods per task: nothing to compare.", "note"),))
    caption = (f"Paired bootstrap ({N_BOOT} resamples of the evaluation examples, paired by "
               "seed then example) of the seed-averaged difference in the primary metric; "
               "percentile 95% CI; two-sided p. \"within noise\": the CI covers 0. "
               "Reference per task — " + "; ".join(refs) + ".")
    table = Table("Difference to the reference", COLUMNS, tuple(rows), frozenset(), caption,
                  (False, False, False, True, True, True, True, True, False))
    return Section("uncertainty", title, (table,))
