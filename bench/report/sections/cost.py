"""What each method costs: the cost table, and metric vs peak memory and vs train time."""
from __future__ import annotations

from typing import Any, Callable

from bench.report import fmt
from bench.report.aggregate import MEMORY, ReportData
from bench.report.model import Block, Figure, Section, Table, Text
from bench.report.sections.common import Dot, cell_hover, metric_label, pareto_figure

# (column title, finals column, aggregate over the variant's cells, formatter)
PER_RUN: tuple[tuple[str, str, str, Callable[[Any], str]], ...] = (
    ("trainable", "trainable", "mean", fmt.count),
    ("% of total", "percent", "mean", fmt.percent),
    ("stored", "stored_bytes", "mean", fmt.nbytes),
    ("GPU peak (NVML)", "nvml_peak_bytes", "max", fmt.nbytes),
    ("GPU peak (allocator)", "alloc_peak_bytes", "max", fmt.nbytes),
    ("peak RSS", "peak_rss_bytes", "max", fmt.nbytes),
    ("train time / run", "wall_train_s", "mean", fmt.seconds),
    ("tokens/s", "tokens_per_s", "mean", fmt.count),
    ("samples/s", "samples_per_s", "mean", fmt.number),
    ("energy / run (J)", "energy_j", "mean", fmt.count),
    ("MFU", "mfu", "mean", fmt.number),
)
# (column title, tuning column, formatter): summed over every trial and final of the cells
TOTALS: tuple[tuple[str, str, Callable[[Any], str]], ...] = (
    ("runs (trials + finals)", "runs", fmt.count),
    ("total wall time", "wall_s", fmt.seconds),
    ("total energy (J)", "energy_j", fmt.count),
    ("total GPU-hours", "gpu_h", fmt.number),
)


def cost_table(data: ReportData) -> Table:
    """One row per variant: per-run costs of its final runs, and the total tuning cost."""
    fin, tun = data.finals, data.tuning.assign(runs=lambda t: t["trials"] + t["finals"])
    keep_run = [c for c in PER_RUN if fin[c[1]].notna().any()]
    keep_tot = [c for c in TOTALS if tun[c[1]].notna().any()]
    rows = []
    for v in data.variants:
        f, t = fin[fin["variant"] == v], tun[tun["variant"] == v]
        run = [fmt.MISSING if f[col].isna().all() else form(getattr(f[col], how)())
               for _, col, how, form in keep_run]
        tot = [fmt.MISSING if t[col].isna().all() else form(t[col].sum())
               for _, col, form in keep_tot]
        rows.append((v, *run, *tot))
    dropped = [c[0] for c in PER_RUN if c not in keep_run] + \
              [c[0] for c in TOTALS if c not in keep_tot]
    caption = ("Per-run columns average the variant's final runs over tasks and seeds "
               "(peaks: the maximum); totals add up every trial and final run of its cells "
               "(the whole tuning cost).")
    if dropped:
        caption += f" Not measured on this hardware, so not shown: {', '.join(dropped)}."
    columns = ("method", *(c[0] for c in keep_run), *(c[0] for c in keep_tot))
    return Table("Cost per method", columns, tuple(rows), frozenset(), caption,
                 (False, *([True] * (len(columns) - 1))))


def memory_kind(fin: Any) -> tuple[str, str] | None:
    """The memory measure present for every cell: NVML, else allocator, else RSS."""
    for col, title in MEMORY:
        if len(fin) and fin[col].notna().all() and (fin[col] > 0).all():
            return col, title
    return None


def _figures(data: ReportData, col: str, title: str, key: str, form: Callable[[Any], str],
             unit: tuple[str, float] = ("s", 1.0)) -> list[Figure]:
    """Per task: metric vs `col` (shown in `unit`), Pareto frontier drawn."""
    figs = []
    for i, task in enumerate(data.tasks):
        rows = data.finals[data.finals["task"] == task]
        if rows.empty:
            continue
        scale = data.scale(task)
        dots = [Dot(r["variant"], r[col] / unit[1], r["mean"] * scale,
                    None if fmt.missing(r["std"]) else r["std"] * scale,
                    (*cell_hover(r, scale), f"{title}: {form(r[col])}"))
                for _, r in rows.iterrows()]
        figs.append(pareto_figure(f"{key}-{i}", f"{task}: metric vs {title}",
                                  f"{title} ({unit[0]}, log)",
                                  metric_label(data, task), dots, data.styles,
                                  rows["direction"].iloc[0] == "max"))
    return figs


def cost_section(data: ReportData) -> Section | None:
    """The cost table, then metric vs peak memory and vs train time per task."""
    if data.frame.empty:
        return None
    blocks: list[Block] = [cost_table(data)]
    mem = memory_kind(data.finals)
    if mem is None:
        blocks.append(Text("No memory measure is present for every cell: no memory plot.",
                           "note"))
    else:
        blocks += _figures(data, mem[0], mem[1], "memory", fmt.nbytes, ("GiB", 2**30))
    if data.finals["wall_train_s"].notna().any():
        blocks += _figures(data, "wall_train_s", "train time per run", "time", fmt.seconds)
    return Section("cost", "Cost", tuple(blocks))
