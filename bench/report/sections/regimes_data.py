"""Regime records (`<run>/regimes*.jsonl`, written by bench.regimes) gathered for the
report: one `RegimeResult` per regime cell, its final runs averaged over seeds.

Duplicates from resumed runs are dropped (the same cell, phase, trial and seed: the
last finished record wins). Only complete final records are summarised; the others are
counted so the section can say what is missing.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

FINISHED = ("complete", "pruned", "failed", "skipped")


@dataclass
class RegimeResult:
    """One regime cell's finals: metrics averaged over seeds, the mean matrix of scores."""

    cell_id: str
    title: str  # multitask(a+b) / sequential(a>b)
    kind: str
    name: str
    tasks: list[str]
    model: str
    label: str
    method: str
    options: dict
    trainable: float | None
    percent: float | None
    seeds: int = 0
    metrics: dict[str, list[float]] = field(default_factory=dict)  # name -> per-seed values
    scores: dict[tuple[int, str], list[float]] = field(default_factory=dict)  # (stage, task)
    general: dict[int, list[float]] = field(default_factory=dict)  # stage -> losses
    variant: str = ""
    failed: list[str] = field(default_factory=list)  # reasons of failed/skipped finals

    def mean(self, metric: str) -> float | None:
        values = [v for v in self.metrics.get(metric, []) if v is not None]
        return sum(values) / len(values) if values else None

    def std(self, metric: str) -> float | None:
        values = [v for v in self.metrics.get(metric, []) if v is not None]
        if len(values) < 2:
            return None
        m = sum(values) / len(values)
        return (sum((v - m) ** 2 for v in values) / (len(values) - 1)) ** 0.5

    def score(self, stage: int, task: str) -> float | None:
        values = self.scores.get((stage, task), [])
        return sum(values) / len(values) if values else None

    def general_loss(self, stage: int) -> float | None:
        values = self.general.get(stage, [])
        return sum(values) / len(values) if values else None


def load_regime_records(runs: Sequence[Path]) -> list[dict[str, Any]]:
    """Every regime record of the runs, duplicates dropped (the last finished one kept)."""
    from bench.records import load

    files = [f for run in runs for f in sorted(Path(run).glob("regimes*.jsonl"))]
    kept: dict[tuple, dict] = {}
    for rec in load(files) if files else []:
        key = ((rec.get("cell") or {}).get("cell_id"), rec.get("phase"), rec.get("trial"),
               rec.get("seed"), rec.get("run_id") if rec.get("phase") == "tune" else None)
        old = kept.get(key)
        if old is None or rec.get("status") in FINISHED or old.get("status") not in FINISHED:
            kept[key] = rec
    return list(kept.values())


def results(records: Sequence[dict[str, Any]]) -> list[RegimeResult]:
    """One result per regime cell that has final records, in first-seen order."""
    out: dict[str, RegimeResult] = {}
    for rec in records:
        if rec.get("phase") != "final":
            continue
        cell, regime = rec.get("cell") or {}, rec.get("regime") or {}
        res = out.get(cell.get("cell_id"))
        if res is None:
            counts = rec.get("counts") or {}
            res = out[cell["cell_id"]] = RegimeResult(
                cell["cell_id"], str(cell.get("task")), str(regime.get("kind")),
                str(regime.get("name")), list(regime.get("tasks") or []),
                str(cell.get("model")), str(cell.get("label") or cell.get("method")),
                str(cell.get("method")), dict(cell.get("options") or {}),
                counts.get("trainable"), counts.get("percent"))
        if rec.get("status") != "complete":
            res.failed.append(str(rec.get("reason") or rec.get("status")))
            continue
        _add(res, rec, regime)
    found = list(out.values())
    _name_variants(found)
    return found


def _add(res: RegimeResult, rec: dict, regime: dict) -> None:
    res.seeds += 1
    if res.trainable is None:
        res.trainable = (rec.get("counts") or {}).get("trainable")
    for name, value in (rec.get("metrics") or {}).items():
        res.metrics.setdefault(name, []).append(value)
    for e in regime.get("evals") or []:
        if e.get("value") is not None:
            res.scores.setdefault((int(e["stage"]), str(e["eval_task"])), []).append(
                float(e["value"]))
    for g in regime.get("general_loss") or []:
        if g.get("loss") is not None:
            res.general.setdefault(int(g["stage"]), []).append(float(g["loss"]))


def _name_variants(found: list[RegimeResult]) -> None:
    """The method as the other sections name it: label, its options when one label has
    several option sets, the model when there are several models."""
    from bench.report.fmt import params

    options: dict[str, set[str]] = {}
    for r in found:
        options.setdefault(r.label, set()).add(json.dumps(r.options, sort_keys=True))
    several_models = len({r.model for r in found}) > 1
    for r in found:
        name = r.label + (f" ({params(r.options)})" if len(options[r.label]) > 1 else "")
        r.variant = f"{r.model} / {name}" if several_models else name


def options_key(options: dict) -> str:
    """The options as `ReportData.frame["options"]` holds them (to find single-task cells)."""
    return json.dumps(options or {}, sort_keys=True, default=str)


def display_scale(values: Sequence[float | None]) -> float:
    """100 when every score is a fraction (shown ×100 like the other sections), else 1."""
    seen = [abs(v) for v in values if v is not None]
    return 100.0 if seen and max(seen) <= 1.0 else 1.0
