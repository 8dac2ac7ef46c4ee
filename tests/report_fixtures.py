"""Hand-made records with known values, for the report's tests (no training needed).

`make_records` builds a whole run: for every task × method, `trials` tuning records whose
objective depends on lr in a known way, and one final record per seed whose accuracy is
exactly `base + SEED_DELTA[seed]` with per-example predictions that score exactly that.
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Iterable, Mapping

TOTAL = 22_700_000
# method -> (trainable parameters, base accuracy); adapter is dominated by lora
METHODS: dict[str, tuple[int, float]] = {
    "full": (TOTAL, 0.90), "lora": (147_000, 0.89), "adapter": (500_000, 0.85),
    "bitfit": (100_000, 0.80), "prompt": (15_000, 0.70)}
SEED_DELTA = {0: -0.01, 1: 0.0, 2: 0.01}
N_EVAL = 200


def predictions(accuracy: float, n: int = N_EVAL) -> dict[str, list[int]]:
    """Labels alternate 0/1; the first round(accuracy·n) predictions are right."""
    labels = [i % 2 for i in range(n)]
    k = round(accuracy * n)
    return {"preds": [g if i < k else 1 - g for i, g in enumerate(labels)], "labels": labels}


def record(task: str, method: str, phase: str, *, trial: int = 0, seed: int = 0,
           value: float | None = 0.5, lr: float = 1e-3, status: str = "complete",
           reason: str | None = None, suite: str = "unit", run_id: str = "r1",
           budget: int = 4, preds: Mapping[str, Any] | None = None,
           trainable: int | None = None, model: str = "minilm") -> dict[str, Any]:
    """One record in the shape of docs/CONTRACTS.md."""
    trainable = METHODS.get(method, (1000, 0.5))[0] if trainable is None else trainable
    metrics = {} if value is None else {"accuracy": value, "loss": 1 - value}
    minute = (trial + 10 * seed + (60 if phase == "final" else 0)) % 60
    return {
        "schema": 1, "run_id": run_id, "suite": suite, "suite_path": "suites/unit.toml",
        "cell": {"cell_id": f"{model}-{task}-{method}", "model": model, "model_ref": "x",
                 "dtype": "float32", "quantization": None, "task": task,
                 "task_kind": "classification", "method": method, "label": method,
                 "options": {}, "train": {"epochs": 1, "batch_size": 16},
                 "search": {"lr": {"low": 1e-5, "high": 1e-1, "log": True}},
                 "trials_budget": budget},
        "phase": phase, "trial": trial, "params": {"lr": lr}, "seed": seed,
        "split": "test" if phase == "final" else "validation",
        "metrics": metrics, "primary": "accuracy", "objective": value,
        "history": [], "predictions": dict(preds) if preds else None,
        "counts": {"trainable": trainable, "method": trainable, "head": 0, "total": TOTAL,
                   "percent": 100.0 * trainable / TOTAL, "stored_bytes": 4 * trainable},
        "meter": {"wall_load_s": 1.0, "wall_train_s": 10.0 + trainable / 1e6,
                  "wall_eval_s": 1.0, "train_steps": 10, "train_samples": 160,
                  "train_tokens": 5120, "samples_per_s": 16.0, "tokens_per_s": 512.0,
                  "peak_rss_bytes": 2**30 + 8 * trainable, "cpu_s": 20.0, "device": "cpu",
                  "gpu_name": None, "gpu_count": 0, "nvml_peak_bytes": None,
                  "alloc_peak_bytes": None, "reserved_peak_bytes": None,
                  "gpu_util_mean": None, "power_mean_w": None, "energy_j": None,
                  "mfu": None, "flops": None, "sample_hz": 20},
        "status": status, "reason": reason,
        "started_at": f"2026-11-25T10:{minute:02d}:00+00:00",
        "finished_at": f"2026-11-25T10:{minute:02d}:12+00:00",
        "worker": "host:1",
        "env": {"git_commit": "0123456789abcdef", "git_dirty": False,
                "versions": {"torch": "2.13.0", "transformers": "5.24.0"},
                "hardware": {"cpu": "test-cpu", "cores": 2, "ram_bytes": 8 * 2**30, "gpus": []},
                "python": "3.11.7", "platform": "linux", "hostname": "host"}}


def tune_objective(base: float, lr: float) -> float:
    """Known lr sensitivity: best at lr = 1e-3, falling 0.05 per decade away from it."""
    return base - 0.05 * abs(math.log10(lr) + 3)


def make_records(tasks: Iterable[str] = ("sst2", "rte"),
                 methods: Mapping[str, tuple[int, float]] = METHODS,
                 seeds: Iterable[int] = (0, 1, 2), trials: int = 4, **kw: Any) -> list[dict]:
    """A complete run: tuning trials (lr spread over 1e-5..1e-1) and finals per seed."""
    out = []
    for task in tasks:
        for method, (trainable, base) in methods.items():
            lrs = [10 ** (-5 + 4 * t / max(trials - 1, 1)) for t in range(trials)]
            for t, lr in enumerate(lrs):
                out.append(record(task, method, "tune", trial=t, lr=lr, budget=trials,
                                  value=tune_objective(base, lr), trainable=trainable, **kw))
            best = max(range(trials), key=lambda t: tune_objective(base, lrs[t]))
            for s in seeds:
                acc = base + SEED_DELTA.get(s, 0.0)
                out.append(record(task, method, "final", trial=best, seed=s, value=acc,
                                  budget=trials, preds=predictions(acc), trainable=trainable,
                                  lr=lrs[best], **kw))
    return out


def write_run(folder: Path, records: Iterable[dict], name: str = "records.jsonl") -> Path:
    """Write records as JSON lines into `folder` (created) and return the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / name, "w", encoding="utf-8") as fh:
        for r in records:
            fh.write(json.dumps(r) + "\n")
    return folder
