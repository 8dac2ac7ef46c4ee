"""Records → pandas tables the sections draw from: one row per record, one per cell.

`ReportData` holds the records of every run reported on, flattened into `frame` (one row
per record, duplicates from resumed runs dropped), and derives per-cell summaries lazily:
`finals` (metric mean ± std over seeds, costs) and `tuning` (trial counts and total cost).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Sequence

from bench.report.stats import direction as metric_direction

PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
           "#7f7f7f", "#bcbd22", "#17becf")
METER = ("wall_load_s", "wall_train_s", "wall_eval_s", "samples_per_s", "tokens_per_s",
         "peak_rss_bytes", "nvml_peak_bytes", "alloc_peak_bytes", "energy_j", "mfu",
         "gpu_count", "train_samples", "train_tokens")
SYMBOLS = ("circle", "square", "diamond", "triangle-up")  # after 10 colours, a new marker
COUNTS = ("trainable", "total", "percent", "stored_bytes")
FINISHED = ("complete", "pruned", "failed", "skipped")
MEMORY = (("nvml_peak_bytes", "GPU peak (NVML)"), ("alloc_peak_bytes", "GPU peak (allocator)"),
          ("peak_rss_bytes", "peak RSS"))


def style(i: int) -> tuple[str, str]:
    """The i-th (colour, marker symbol): 10 colours, then the next marker shape."""
    return PALETTE[i % len(PALETTE)], SYMBOLS[(i // len(PALETTE)) % len(SYMBOLS)]


def _direction(rec: dict, cell: dict, primary: str) -> str:
    """"max" or "min" for the primary metric. Records say "maximize"/"minimize" (Optuna's
    words) for the cell's tuning metric, which is the primary one unless [tune] metric
    named another; older records said "max"/"min"."""
    given = rec.get("direction") or cell.get("direction")
    if given and cell.get("metric", primary) == primary:
        return {"maximize": "max", "minimize": "min"}.get(given, given)
    return metric_direction(primary)


def _row(i: int, rec: dict[str, Any]) -> dict[str, Any]:
    cell = rec.get("cell") or {}
    meter = rec.get("meter") or {}
    counts = rec.get("counts") or {}
    metrics = rec.get("metrics") or {}
    primary = str(rec.get("primary") or "objective")
    value = metrics.get(primary, rec.get("objective")) if isinstance(metrics, dict) else None
    row = {"rec": i, "run_id": str(rec.get("run_id", "")), "suite": str(rec.get("suite", "")),
           "cell_id": str(cell.get("cell_id", "")), "model": str(cell.get("model", "")),
           "task": str(cell.get("task", "")), "method": str(cell.get("method", "")),
           "label": str(cell.get("label") or cell.get("method", "")),
           "options": json.dumps(cell.get("options") or {}, sort_keys=True, default=str),
           "budget": cell.get("trials_budget"), "phase": str(rec.get("phase", "")),
           "trial": rec.get("trial"), "seed": rec.get("seed"), "split": str(rec.get("split", "")),
           "primary": primary, "value": value, "objective": rec.get("objective"),
           "direction": _direction(rec, cell, primary),
           "status": str(rec.get("status", "")), "reason": rec.get("reason"),
           "params": rec.get("params") or {}, "device": meter.get("device"),
           "started_at": rec.get("started_at"), "finished_at": rec.get("finished_at")}
    row.update({k: meter.get(k) for k in METER})
    row.update({k: counts.get(k) for k in COUNTS})
    return row


def flatten(records: Sequence[dict[str, Any]]) -> tuple[Any, int]:
    """(DataFrame with one row per record, number of duplicate records dropped).

    A duplicate is the same final (cell, seed) or the same tuning (run, cell, trial)
    recorded twice (a resumed run); the later-finished record wins.
    """
    import pandas as pd

    df = pd.DataFrame([_row(i, r) for i, r in enumerate(records)])
    num = ["budget", "trial", "seed", "value", "objective", *METER, *COUNTS]
    for col in num:
        df[col] = pd.to_numeric(df[col], errors="coerce")
    for col in ("started_at", "finished_at"):
        df[col] = pd.to_datetime(df[col], utc=True, errors="coerce", format="ISO8601")
    meter_wall = df[["wall_load_s", "wall_train_s", "wall_eval_s"]].sum(axis=1, min_count=1)
    df["wall_s"] = (df["finished_at"] - df["started_at"]).dt.total_seconds().fillna(meter_wall)
    # the record kept is the latest *finished* one (an "interrupted" marker loses to a retry)
    df["_done"] = df["status"].isin(FINISHED)
    df = df.sort_values(["_done", "finished_at", "rec"], na_position="first", kind="stable")
    key = df["cell_id"] + "|" + df["phase"] + "|" + df["seed"].astype(str)
    key = key.where(df["phase"] == "final", key + "|" + df["run_id"] + "|" + df["trial"].astype(str))
    before = len(df)
    df = df[~key.duplicated(keep="last")].sort_values("rec", kind="stable").drop(columns="_done")
    df["variant"] = _variants(df)
    return df.reset_index(drop=True), before - len(df)


def _variants(df: Any) -> Any:
    """What a row of the paper table is: the cell label, with its options when one label
    spans several option sets (a grid axis such as r = [4, 8]), prefixed by the model when
    there are several models."""
    from bench.report.fmt import params

    several = df.groupby("label")["options"].transform("nunique") > 1
    shown = df["options"].map(lambda o: params(json.loads(o)))
    variant = df["label"].where(~several, df["label"] + " (" + shown + ")")
    if df["model"].nunique() > 1:
        variant = df["model"] + " / " + variant
    clash = df.assign(v=variant).groupby(["v", "task"])["cell_id"].transform("nunique") > 1
    return variant.where(~clash, variant + " [" + df["cell_id"].str[:7] + "]")


@dataclass(frozen=True, eq=False)
class ReportData:
    """Everything the sections read. Build with `ReportData.build(runs, records)`."""

    runs: tuple[Path, ...]
    records: tuple[dict[str, Any], ...]
    frame: Any  # pandas.DataFrame, one row per kept record
    dropped: int  # duplicate records ignored

    @classmethod
    def build(cls, runs: Sequence[Path], records: Sequence[dict[str, Any]]) -> "ReportData":
        frame, dropped = flatten(records)
        return cls(tuple(runs), tuple(records), frame, dropped)

    @cached_property
    def tasks(self) -> list[str]:
        """Task names in the order they first appear (the suite's order)."""
        return list(dict.fromkeys(self.frame["task"]))

    @cached_property
    def final_rows(self) -> Any:
        """Complete final records with a metric value."""
        f = self.frame
        return f[(f["phase"] == "final") & (f["status"] == "complete") & f["value"].notna()]

    @cached_property
    def finals(self) -> Any:
        """One row per cell with complete finals: metric mean/std/n over seeds and costs."""
        g = self.final_rows.groupby("cell_id", sort=False)
        firsts = ["model", "task", "variant", "method", "label", "options", "primary",
                  "direction", "params", "trial", "split"]
        out = g[firsts].first()
        out["mean"] = g["value"].mean()
        out["std"] = g["value"].std(ddof=1)
        out["n"] = g["value"].count()
        means = ["trainable", "total", "percent", "stored_bytes", "wall_train_s",
                 "samples_per_s", "tokens_per_s", "energy_j", "mfu", "gpu_count"]
        out[means] = g[means].mean()
        peaks = [m for m, _ in MEMORY]
        out[peaks] = g[peaks].max()
        return out.reset_index()

    @cached_property
    def tuning(self) -> Any:
        """One row per cell: budget, trials by status, and total wall time/energy of all runs."""
        f = self.frame
        tune = f[f["phase"] == "tune"]
        counts = tune.groupby(["cell_id", "status"]).size().unstack(fill_value=0)
        g = f.groupby("cell_id", sort=False)
        out = g[["model", "task", "variant", "method"]].first()
        out["budget"] = g["budget"].max()
        out["trials"] = tune.groupby("cell_id")["trial"].nunique()
        for status in (*FINISHED, "interrupted"):
            out[status] = counts[status] if status in counts else 0
        fin = f[f["phase"] == "final"]
        out["finals"] = fin.groupby("cell_id").size()
        out["finals_ok"] = self.final_rows.groupby("cell_id").size()
        out["wall_s"] = g["wall_s"].sum(min_count=1)
        out["energy_j"] = g["energy_j"].sum(min_count=1)
        gpu_s = (f["wall_s"] * f["gpu_count"]).where(f["gpu_count"] > 0)
        out["gpu_h"] = gpu_s.groupby(f["cell_id"]).sum(min_count=1) / 3600
        cols = ["trials", *FINISHED, "interrupted", "finals", "finals_ok"]
        out[cols] = out[cols].fillna(0).astype(int)
        return out.reset_index()

    @cached_property
    def variants(self) -> list[str]:
        """Variants, most trainable parameters first (full fine-tuning leads)."""
        size = self.frame.groupby("variant", sort=False)["trainable"].median()
        return sorted(size.index, key=lambda v: (-(size[v] if size[v] == size[v] else -1), v))

    @cached_property
    def styles(self) -> dict[str, tuple[str, str]]:
        """One (colour, marker) per variant, the same in every figure, in variant order."""
        return {v: style(i) for i, v in enumerate(self.variants)}

    @cached_property
    def scales(self) -> dict[str, float]:
        """Per task: 100 when its metric is a higher-is-better fraction (shown ×100), else 1."""
        f = self.frame
        rows = f[f["value"].notna()]
        fin = self.final_rows
        rows = rows[~rows["task"].isin(set(fin["task"]))]  # finals decide where they exist
        out = {}
        for task, g in ((t, g) for part in (fin, rows) for t, g in part.groupby("task")):
            fraction = (g["direction"] == "max").all() and g["value"].abs().max() <= 1.0
            out[task] = 100.0 if fraction else 1.0
        return out

    def scale(self, task: str) -> float:
        """The display factor of `task`'s metric (see `scales`)."""
        return self.scales.get(task, 1.0)

    @cached_property
    def avg_tasks(self) -> list[str]:
        """The tasks the Avg column averages over: those with a higher-is-better metric."""
        fin = self.finals
        return [t for t in self.tasks if (fin[fin["task"] == t]["direction"] == "max").any()]

    @cached_property
    def average(self) -> Any:
        """Per variant over `avg_tasks`: mean, std over per-seed averages, mean costs.

        Only variants with results on every averaged task; the std needs ≥ 2 seeds present
        on every task.
        """
        import pandas as pd

        tasks = self.avg_tasks
        fin = self.finals[self.finals["task"].isin(tasks)].copy()
        if not tasks or fin.empty:
            return pd.DataFrame(columns=["variant", "mean", "std", "n", "trainable"])
        fin["shown"] = fin["mean"] * fin["task"].map(self.scales)
        full = fin.groupby("variant")["task"].nunique() == len(tasks)
        fin = fin[fin["variant"].isin(full[full].index)]
        g = fin.groupby("variant", sort=False)
        out = g[["trainable", "percent", "wall_train_s", *(m for m, _ in MEMORY)]].mean()
        out["mean"] = g["shown"].mean()
        rows = self.final_rows[self.final_rows["task"].isin(tasks)]
        per_seed = (rows.assign(shown=rows["value"] * rows["task"].map(self.scales))
                    .pivot_table(index=["variant", "seed"], columns="task", values="shown"))
        per_seed = per_seed.dropna().mean(axis=1).groupby(level="variant")
        out["std"] = per_seed.std(ddof=1).reindex(out.index)
        out["n"] = per_seed.count().reindex(out.index).fillna(0).astype(int)
        return out.reset_index()
