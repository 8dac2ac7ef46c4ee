"""A task is data: where its examples come from, which columns hold text and label, and
how it is scored. Registering a task is one `Task(...)` row (see `bench/tasks/glue.py`).
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Literal, Mapping

TaskKind = Literal["classification", "regression", "instruction"]


@dataclass(frozen=True)
class Task:
    """One benchmark task.

    Sources, first match wins: `files` (paths named in a suite, relative to it), a local
    folder in the GLUE/SuperGLUE layout `<data_dir>/<folder>/{train,dev}.tsv|jsonl` when a
    data dir is configured, else the Hugging Face hub (`hub` = (path, config)).
    Labels in the data may be given by name (as in `labels`) or by integer id; a name match
    wins. An inline task that declares no `labels` has `infer_labels` set: its classes are
    the distinct values of the train file's label column, read at load time
    (`bench.tasks.load.resolve_labels`), so `num_labels` is 0 until then.
    """

    name: str
    kind: TaskKind = "classification"
    text: tuple[str, ...] = ("sentence",)  # one column, or two for sentence pairs
    label: str = "label"
    labels: tuple[str, ...] = ()  # class names in id order; empty for regression
    metrics: tuple[str, ...] = ("accuracy",)  # names in bench.tasks.metrics.METRICS
    primary: str = "accuracy"  # the metric tuned and reported
    folder: str | None = None  # GLUE-layout folder name, e.g. "SST-2"
    columns: tuple[str, ...] | None = None  # column names for headerless files (CoLA)
    hub: tuple[str, str | None] | None = None  # datasets.load_dataset(path, config)
    hub_columns: Mapping[str, str] = field(default_factory=dict)  # our column -> hub column
    files: Mapping[str, str] = field(default_factory=dict)  # split -> file (inline tasks)
    splits: Mapping[str, str] = field(  # our split -> source split (file stem / hub split)
        default_factory=lambda: {"train": "train", "test": "dev"})
    hub_splits: Mapping[str, str] = field(
        default_factory=lambda: {"train": "train", "test": "validation"})
    sizes: Mapping[str, int] = field(default_factory=dict)  # known sizes, for `bench ls`
    description: str = ""
    infer_labels: bool = False  # classes come from the train file (inline tasks only)

    @property
    def num_labels(self) -> int:
        """Output width of the task head (1 for regression)."""
        return 1 if self.kind == "regression" else len(self.labels)

    def fingerprint(self) -> str:
        """A short hash of the task definition (part of every cell id)."""
        blob = json.dumps(asdict(self), sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:12]
