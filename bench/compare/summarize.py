"""Per-cell summaries of final results: the numbers a baseline stores and a comparison reads.

For every cell, the final records on the held-out split (one per seed) give one value per
metric and seed; several runs give several such lists. A metric summary holds the mean,
the standard deviation over seeds, the run-to-run spread and, for the quality metric, the
bootstrap half-width from predictions:

    {"family": "quality", "direction": "higher", "mean": 0.84, "std": 0.01, "n": 3,
     "runs": 1, "run_spread": null, "ci_half": 0.024, "values": [[0.83, 0.84, 0.85]]}
"""
from __future__ import annotations

import math
import statistics
from typing import Any, Iterable, Mapping

from bench.compare.bootstrap import half_width

# Quality metrics where smaller is better; every other quality metric is "higher".
LOWER_IS_BETTER = frozenset({"loss", "mse", "rmse", "mae", "perplexity"})
# Cost metrics read from a record's `meter`: name -> (family, direction).
COST_METRICS: Mapping[str, tuple[str, str]] = {
    "nvml_peak_bytes": ("memory", "lower"),   # GPU: what the driver saw (includes context)
    "alloc_peak_bytes": ("memory", "lower"),  # GPU without NVML: torch allocator peak
    "peak_rss_bytes": ("memory", "lower"),    # CPU runs: process resident set
    "wall_train_s": ("time", "lower"),
    "tokens_per_s": ("time", "higher"),
    "energy_j": ("energy", "lower"),
}
CELL_FIELDS = ("model", "task", "method", "label", "options", "dtype", "quantization")


def _finite(value: Any) -> float | None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    return float(value) if ok and math.isfinite(value) else None


def memory_metric(meter: Mapping[str, Any]) -> tuple[str, float] | None:
    """The peak-memory figure of one record, named by its source (not comparable across)."""
    on_gpu = str(meter.get("device") or "cpu").startswith("cuda") or bool(meter.get("gpu_count"))
    names = ("nvml_peak_bytes", "alloc_peak_bytes") if on_gpu else ("peak_rss_bytes",)
    for name in names:
        value = _finite(meter.get(name))
        if value is not None and value > 0:
            return name, value
    return None


def record_values(record: Mapping[str, Any]) -> dict[str, float]:
    """Metric name -> value for one complete final record (absent values left out)."""
    meter = record.get("meter") or {}
    out: dict[str, float] = {}
    primary = record.get("primary")
    quality = _finite((record.get("metrics") or {}).get(primary)) if primary else None
    if quality is not None:
        out[primary] = quality
    memory = memory_metric(meter)
    if memory:
        out[memory[0]] = memory[1]
    for name in ("wall_train_s", "tokens_per_s", "energy_j"):
        value = _finite(meter.get(name))
        if value is not None and value > 0:  # 0 means "not measured" (no tokens, no NVML)
            out[name] = value
    return out


def metric_kind(name: str, primary: str | None) -> tuple[str, str]:
    """(family, direction) of a metric name."""
    if name in COST_METRICS:
        return COST_METRICS[name]
    return "quality", "lower" if name == primary and name in LOWER_IS_BETTER else "higher"


def final_by_cell(records: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """cell id -> {"cell", "primary", "seeds": {seed: record}, "reasons"} for one run.

    Only final records on the test split count. A seed re-run after a crash appears twice:
    the last complete record wins; failures are kept as reasons for cells with no result.
    """
    cells: dict[str, dict[str, Any]] = {}
    for rec in records:
        cell = rec.get("cell") or {}
        cid = cell.get("cell_id")
        if not cid:
            continue
        entry = cells.setdefault(cid, {"cell": cell, "primary": rec.get("primary"),
                                       "seeds": {}, "reasons": []})
        if rec.get("phase") != "final" or rec.get("split") != "test":
            continue
        if rec.get("status") == "complete":
            entry["seeds"][rec.get("seed")] = rec
            entry["primary"] = rec.get("primary") or entry["primary"]
        else:
            entry["reasons"].append(f"{rec.get('status')}: {rec.get('reason') or 'no reason'}")
    return cells


def _sig(value: float | None) -> float | None:
    """8 significant digits: a committed baseline should not diff on float noise."""
    return None if value is None else float(f"{value:.8g}")


def _std(values: list[float]) -> float | None:
    return statistics.stdev(values) if len(values) >= 2 else None


def summarize_metric(name: str, primary: str | None, per_run: list[list[float]],
                     ci: list[float]) -> dict[str, Any]:
    """One metric's summary from its values (a list per run) and bootstrap half-widths."""
    family, direction = metric_kind(name, primary)
    flat = [v for run in per_run for v in run]
    run_means = [statistics.fmean(run) for run in per_run if run]
    return {"family": family, "direction": direction, "mean": _sig(statistics.fmean(flat)),
            "std": _sig(_std(flat)), "n": len(flat), "runs": len(run_means),
            "run_spread": _sig(_std(run_means)),
            "ci_half": _sig(statistics.fmean(ci)) if ci else None,
            "values": [[_sig(v) for v in run] for run in per_run]}


def _bootstrap(record: Mapping[str, Any], primary: str, resamples: int) -> float | None:
    pred = record.get("predictions") or {}
    if not resamples or not pred.get("preds"):
        return None
    return half_width(pred["preds"], pred.get("labels") or [], primary,
                      resamples=resamples, seed=int(record.get("seed") or 0))


def _predictions(entry: Mapping[str, Any]) -> dict[str, Any] | None:
    """{"labels": [...], "seeds": {seed: preds}} of one run's cell, for the paired bootstrap.

    None when no final record kept predictions or the seeds were scored on different
    examples (then only unpaired half-widths are possible).
    """
    labels, rows = None, {}
    for seed, rec in sorted(entry["seeds"].items(), key=lambda kv: str(kv[0])):
        pred = rec.get("predictions") or {}
        if not pred.get("preds") or pred.get("labels") is None:
            continue
        if labels is not None and pred["labels"] != labels:
            return None
        labels, rows[str(seed)] = pred["labels"], pred["preds"]
    return {"labels": labels, "seeds": rows} if rows else None


def summarize_cells(runs: list[list[Mapping[str, Any]]], *, resamples: int = 1000,
                    ) -> dict[str, dict[str, Any]]:
    """cell id -> {cell description…, "primary", "predictions", "metrics": {name: summary},
    "reason"}; "predictions" are the last run's (see `_predictions`)."""
    per_run = [final_by_cell(records) for records in runs]
    out: dict[str, dict[str, Any]] = {}
    for cid in dict.fromkeys(c for run in per_run for c in run):
        entries = [run[cid] for run in per_run if cid in run]
        cell, primary = entries[0]["cell"], next(
            (e["primary"] for e in entries if e["primary"]), None)
        values: dict[str, list[list[float]]] = {}
        ci: list[float] = []
        for entry in entries:
            run_values: dict[str, list[float]] = {}
            for _, rec in sorted(entry["seeds"].items(), key=lambda kv: str(kv[0])):
                for name, value in record_values(rec).items():
                    run_values.setdefault(name, []).append(value)
                hw = _bootstrap(rec, primary, resamples) if primary else None
                ci += [hw] if hw is not None else []
            for name, vals in run_values.items():
                values.setdefault(name, []).append(vals)
        reasons = [r for e in entries for r in e["reasons"]]
        preds = [p for p in map(_predictions, entries) if p]
        out[cid] = {**{k: cell.get(k) for k in CELL_FIELDS}, "primary": primary,
                    "predictions": preds[-1] if preds else None,
                    "metrics": {name: summarize_metric(name, primary, vals, ci if name == primary else [])
                                for name, vals in values.items()},
                    "reason": None if values else (reasons[-1] if reasons else "no final result")}
    return out
