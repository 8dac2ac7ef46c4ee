"""The grid: suite -> cells (models × tasks × methods × each method's grid axes).

A cell is one (model, task, method, options) combination and gets one Optuna study. Its id
is a hash of its canonical config, so re-running a suite finds the same cells (and their
studies and records) again; the seeds and the trial count are not part of it, so adding
seeds or trials continues the same cells.
"""
from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
from dataclasses import dataclass, field
from typing import Any, Mapping

from bench.defaults import TrainSpec
from bench.suite.checks import Collector
from bench.suite.spec import Dim, ModelSpec, Suite
from bench.tasks.spec import Task


@dataclass(frozen=True)
class Cell:
    """One study: a model, a task, a method with its fixed options, and a search space."""

    cell_id: str
    model: ModelSpec
    task: Task
    method: str
    label: str
    options: Mapping[str, Any]  # method options (fixed + this cell's axis values)
    train: TrainSpec  # suite [train] with the method table's train keys applied
    search: Mapping[str, Dim] = field(default_factory=dict)

    def describe(self) -> dict[str, Any]:
        """The cell as recorded in every record (`record["cell"]`)."""
        return {
            "cell_id": self.cell_id, "model": self.model.name, "model_ref": self.model.ref,
            "dtype": self.model.dtype, "quantization": self.quantization,
            "task": self.task.name, "task_kind": self.task.kind, "method": self.method,
            "label": self.label, "options": dict(self.options),
            "train": dataclasses.asdict(self.train),
            "search": {k: d.as_dict() for k, d in self.search.items()},
        }

    @property
    def quantization(self) -> str | None:
        """The base model's quantisation: the method's (QLoRA) or the model's own."""
        from bench.methods import METHODS
        from bench.methods._base import info

        return info(self.method, METHODS[self.method]).quantization or self.model.quantization


def cell_id(model: ModelSpec, task: Task, method: str, options: Mapping[str, Any],
            train: TrainSpec, search: Mapping[str, Dim]) -> str:
    """A stable id from the canonical config: same config -> same id, on any machine."""
    canon = {
        "model": [model.ref, model.dtype, model.quantization, model.kind, model.revision],
        "task": task.fingerprint(), "method": method, "options": dict(options),
        "train": dataclasses.asdict(train),
        "search": {k: d.as_dict() for k, d in search.items()},
    }
    blob = json.dumps(canon, sort_keys=True, separators=(",", ":"), default=str)
    return "c" + hashlib.sha256(blob.encode()).hexdigest()[:10]


def _method_cells(suite: Suite, spec) -> list[tuple[dict, TrainSpec, dict]]:
    """(method options, train spec, search space) for each point of a method's axes."""
    from bench.defaults import PER_METHOD_TRAIN_KEYS
    from bench.methods import METHODS
    from bench.methods._base import info

    search = dict(spec.search)
    if "lr" not in spec.fixed and "lr" not in spec.axes and "lr" not in search \
            and "lr" not in suite.train_keys:
        low, high = info(spec.method, METHODS[spec.method]).lr
        search["lr"] = Dim("float", low=low, high=high, log=True)
    names = list(spec.axes)
    out = []
    for values in itertools.product(*(spec.axes[n] for n in names)) if names else [()]:
        merged = {**spec.fixed, **dict(zip(names, values))}
        train_over = {k: v for k, v in merged.items() if k in PER_METHOD_TRAIN_KEYS}
        options = {k: v for k, v in merged.items() if k not in PER_METHOD_TRAIN_KEYS}
        out.append((options, dataclasses.replace(suite.train, **train_over), search))
    return out


def expand(suite: Suite) -> list[Cell]:
    """Every cell of the suite, in a stable order (models, tasks, methods, axes)."""
    cells = []
    for model, task, spec in itertools.product(suite.models, suite.tasks, suite.methods):
        if not fits(model, task):  # e.g. an encoder with a head beside an instruction LM
            continue
        for options, train, search in _method_cells(suite, spec):
            cid = cell_id(model, task, spec.method, options, train, search)
            cells.append(Cell(cid, model, task, spec.method, spec.label, options, train,
                              search))
    return cells


def fits(model: ModelSpec, task: Task) -> bool:
    """Whether `model` can be trained on `task`: instruction tasks need causal LMs, the
    others a model with a task head (seq_cls)."""
    return model.kind == ("causal_lm" if task.kind == "instruction" else "seq_cls")


def check(suite: Suite, col: Collector) -> None:
    """Cross-section rules: task/model/method kinds agree and no two cells coincide."""
    from bench.methods import METHODS
    from bench.methods._base import info

    for model, spec in itertools.product(suite.models, suite.methods):
        kinds = info(spec.method, METHODS[spec.method]).kinds
        if model.kind not in kinds:
            col.add(f"methods.{spec.label}", f"method {spec.method!r} does not support "
                    f"{model.kind} models like {model.name!r}", hint=f"it supports {kinds}")
    for task in suite.tasks:  # each task needs a model of its kind (other pairs are skipped)
        wants = "causal_lm" if task.kind == "instruction" else "seq_cls"
        if not any(fits(m, task) for m in suite.models):
            col.add("tasks", f"task {task.name!r} ({task.kind}) needs a {wants} model, and "
                    f"no model of the suite is one", hint=f"set kind = \"{wants}\" on a model")
    for model in suite.models:
        if not any(fits(model, t) for t in suite.tasks):
            col.add("models", f"model {model.name!r} ({model.kind}) fits none of the tasks",
                    hint="instruction tasks need kind = \"causal_lm\", the others seq_cls")
    if col.problems:
        return
    seen: dict[str, str] = {}
    for c in expand(suite):
        where = f"{c.model.name}/{c.task.name}/{c.label}"
        if c.cell_id in seen:
            col.add(f"methods.{c.label}", f"cell {where} duplicates {seen[c.cell_id]}",
                    hint="two method tables describe the same configuration; drop one")
        seen[c.cell_id] = where


def budget(suite: Suite, cells: list[Cell]) -> dict[str, int]:
    """Trainings the suite will run: trials per cell for tuning + one final run per seed."""
    trials = suite.tune.trials * len(cells)
    finals = len(suite.seeds) * len(cells)
    return {"cells": len(cells), "trials_per_cell": suite.tune.trials,
            "seeds": len(suite.seeds), "tuning_trials": trials, "final_runs": finals,
            "trainings": trials + finals}
