"""Fairness: did every method get the same tuning budget, and what went wrong where."""
from __future__ import annotations

from bench.report import fmt
from bench.report.aggregate import ReportData
from bench.report.model import Block, Section, Table, Text

COLUMNS = ("task", "method", "budget", "trials run", "complete", "pruned", "failed",
           "skipped", "finals ok / run", "tuning wall time")
REASON_CHARS = 300  # a traceback tail is enough to tell OOM from divergence


def budget_note(data: ReportData) -> Text:
    """Whether every cell received the same trial budget and spent it."""
    tun = data.tuning
    budgets = sorted({int(b) for b in tun["budget"].dropna()})
    if not budgets:
        return Text("The records carry no trial budget (cell.trials_budget).", "warn")
    if len(budgets) > 1:
        per = "; ".join(f"{r.variant} on {r.task}: {fmt.count(r.budget)}"
                        for r in tun.itertuples())
        return Text(f"Budgets differ between cells, so the comparison is not equal-budget: "
                    f"{per}.", "warn")
    short = tun[tun["trials"] < tun["budget"]]
    text = f"Every cell was given the same budget of {budgets[0]} trials."
    if len(short):
        names = "; ".join(f"{r.variant} on {r.task} ({r.trials} run)" for r in short.itertuples())
        return Text(f"{text} Cells that ran fewer (interrupted, or skipped): {names}.", "warn")
    return Text(f"{text} Every cell ran all of them.")


def budget_table(data: ReportData) -> Table:
    """Per cell: budget, trials run and their outcomes, final runs, tuning wall time."""
    extra = bool(data.tuning["interrupted"].sum())  # a column only when it happened
    rows = []
    order = {v: i for i, v in enumerate(data.variants)}
    tasks = {t: i for i, t in enumerate(data.tasks)}
    tun = data.tuning.assign(_o=lambda t: t["task"].map(tasks) * 1000 + t["variant"].map(order))
    for r in tun.sort_values("_o").itertuples():
        rows.append((r.task, r.variant, fmt.count(r.budget), str(r.trials), str(r.complete),
                     str(r.pruned), str(r.failed), str(r.skipped),
                     *((str(r.interrupted),) if extra else ()), f"{r.finals_ok} / {r.finals}",
                     fmt.seconds(r.wall_s)))
    cols = (*COLUMNS[:8], *(("interrupted",) if extra else ()), *COLUMNS[8:])
    return Table("Trial budget and outcomes per cell", cols, tuple(rows), frozenset(),
                 "Pruned trials were stopped early by the pruner (normal); failed, skipped "
                 "and interrupted ones are explained below.",
                 (False, False, *([True] * (len(cols) - 2))))


def reasons_table(data: ReportData) -> Table | None:
    """Every distinct (cell, phase, status, reason) that is not a plain completion."""
    f = data.frame
    bad = f[f["status"] != "complete"].copy()
    if bad.empty:
        return None
    bad["why"] = bad["reason"].fillna("").astype(str).str.slice(0, REASON_CHARS)
    groups = bad.groupby(["task", "variant", "phase", "status", "why"], sort=False).size()
    rows = tuple((t, v, ph, st, why or fmt.MISSING, str(n)) for (t, v, ph, st, why), n
                 in groups.items())
    return Table("Runs that did not complete", ("task", "method", "phase", "status", "reason",
                                                "count"), rows, frozenset(),
                 f"Reasons are cut to {REASON_CHARS} characters; the records hold them whole.",
                 (False, False, False, False, False, True))


def fairness_section(data: ReportData) -> Section | None:
    """The budget note, the per-cell budget table and the reasons for non-complete runs."""
    if data.tuning.empty:
        return None
    blocks: list[Block] = [budget_note(data), budget_table(data)]
    reasons = reasons_table(data)
    blocks.append(reasons or Text("Every trial and final run completed.", "note"))
    return Section("fairness", "Fairness: budget and outcomes", tuple(blocks))
