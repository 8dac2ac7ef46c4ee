"""Rows for `bench ls tasks`: every task with its kind, metrics, sizes and data source.

Torch-free and reads no data: sizes are the official ones recorded in the task rows
(unknown, None, for inline tasks), and `source` says where `bench.tasks.load` would read
from right now (a local file when one is found, else the hub).
"""
from __future__ import annotations

import os
from typing import Any, Iterable, Mapping

from bench.tasks import TASKS
from bench.tasks.load import has_split, locate
from bench.tasks.spec import Task


def rows(tasks: Mapping[str, Task] | Iterable[Task] | None = None, *,
         data_dir: str | None = None, base_dir: str = ".") -> list[dict[str, Any]]:
    """One dict per task: name, kind, metrics, primary, train, test, source, description.

    `tasks` defaults to the registry (pass a suite's tasks to include inline ones); values
    are str, or int/None for the sizes, ready to print.
    """
    chosen = TASKS.values() if tasks is None else (
        tasks.values() if isinstance(tasks, Mapping) else tasks)
    return [{
        "name": t.name,
        "kind": t.kind,
        "metrics": ", ".join(t.metrics),
        "primary": t.primary,
        "train": t.sizes.get("train"),
        "test": t.sizes.get("test"),
        "source": source(t, data_dir=data_dir, base_dir=base_dir),
        "description": t.description,
    } for t in chosen]


def source(task: Task, *, data_dir: str | None = None, base_dir: str = ".") -> str:
    """Where the task's train/test data would be read from, in a few words."""
    if task.files:
        return "files: " + ", ".join(f"{s}={p}" for s, p in task.files.items())
    found = {split: locate(task, split, data_dir=data_dir, base_dir=base_dir)[0]
             for split in ("train", "test") if has_split(task, split)}
    hub = f"hub {task.hub[0]}" + (f"/{task.hub[1]}" if task.hub[1] else "") if task.hub else ""
    paths = [p for p in found.values() if p]
    if not paths:
        return hub or "no source"
    folders = {os.path.dirname(p) for p in paths}
    local = (f"{folders.pop()} ({', '.join(os.path.basename(p) for p in paths)})"
             if len(folders) == 1 else ", ".join(paths))
    if len(paths) == len(found):
        return f"local: {local}"
    return f"local: {local}; " + (f"{hub} for the rest" if hub else "the rest missing")
