"""Load one split of a task as checked `Examples` (texts + numeric labels).

Where the data comes from, first match wins:
1. `task.files` (an inline suite task): paths relative to `base_dir` (the suite's folder);
2. a local data dir in the GLUE/SuperGLUE layout: `<data_dir>/<folder>/<stem>.tsv|.jsonl`,
   also under `<data_dir>/glue/` and `<data_dir>/superglue/`; `data_dir` defaults to the
   BENCH_DATA_DIR environment variable;
3. the Hugging Face hub (`task.hub`), which fails offline with a DataError saying so.

Nothing trains on bad data: missing files or columns, empty splits, unknown labels,
non-numeric regression targets and duplicate label names are DataErrors naming the file
and column. Torch-free; pandas loads only for Parquet, `datasets` only for the hub.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, replace
from typing import Sequence

from bench.errors import DataError
from bench.tasks.hub import read_hub
from bench.tasks.labels import check_label_names, class_ids, infer_label_names, targets
from bench.tasks.readers import Table, read_table
from bench.tasks.spec import Task

SPLITS = ("train", "validation", "test")
LOADABLE_KINDS = ("classification", "regression")


@dataclass(frozen=True)
class Examples:
    """One split: `texts[i]` holds 1 or 2 strings (a sentence pair), `labels[i]` the target."""

    texts: list[tuple[str, ...]]
    labels: list[int | float]
    source: str  # the file path or hub split the examples came from

    def __len__(self) -> int:
        return len(self.labels)


def data_root(data_dir: str | None) -> str | None:
    """The local data folder: `data_dir`, else $BENCH_DATA_DIR.

    Taken as given (absolute, or relative to the working directory like the environment
    variable): bench.suite already resolves a suite's `data_dir` against the suite's folder.
    """
    return os.path.expanduser(data_dir or os.environ.get("BENCH_DATA_DIR") or "") or None


def has_split(task: Task, split: str) -> bool:
    """Whether `task` has its own `split` (else `validation` is carved out of train)."""
    return split in task.files if task.files else split in task.splits


def locate(task: Task, split: str, *, data_dir: str | None = None,
           base_dir: str = ".") -> tuple[str | None, list[str]]:
    """The local file holding `split` (or None) and the places looked, for messages."""
    if task.files:
        if split not in task.files:
            return None, []
        path = os.path.join(base_dir, os.path.expanduser(task.files[split]))
        return path, [path]
    root = data_root(data_dir)
    if not root or not task.folder or split not in task.splits:
        return None, []
    stem = task.splits[split]
    for sub in ("", "glue", "superglue"):
        for ext in (".tsv", ".jsonl", ".json"):  # .json: the Alpaca subset (one array)
            path = os.path.join(root, sub, task.folder, stem + ext)
            if os.path.isfile(path):
                return path, [path]
    return None, [os.path.join(root, "{,glue/,superglue/}" + task.folder,
                               stem + ".{tsv,jsonl,json}")]


def read_split(task: Task, split: str, *, data_dir: str | None = None,
               base_dir: str = ".") -> Table:
    """The raw table of `split`, from the first source that has it."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, not {split!r}")
    if not has_split(task, split):
        raise DataError(f"task {task.name!r} has no {split!r} split of its own; fix: "
                        + ("add `validation = \"file\"` to the task in the suite, or let "
                           "bench carve validation out of train" if task.files
                           else "use train/test"))
    path, looked = locate(task, split, data_dir=data_dir, base_dir=base_dir)
    if path is not None:
        # `columns` names the fields of GLUE's headerless TSVs (CoLA); inline files have headers.
        return read_table(path, columns=None if task.files else task.columns)
    return read_hub(task, split, looked=looked)


def resolve_labels(task: Task, *, data_dir: str | None = None, base_dir: str = ".") -> Task:
    """`task` with its class names known: declared ones checked, or inferred from train."""
    if task.kind == "instruction":  # declared answers, checked by bench.tasks.instruct
        return task
    if task.kind not in LOADABLE_KINDS:
        raise DataError(f"task {task.name!r} is of kind {task.kind!r}; bench.tasks loads "
                        f"{' and '.join(LOADABLE_KINDS)} tasks only")
    if task.kind == "regression":
        return task
    if not task.labels:
        if not task.infer_labels:
            raise DataError(f"task {task.name!r} declares no labels; fix: add "
                            "`labels = [\"name0\", \"name1\", ...]` in id order")
        table = read_split(task, "train", data_dir=data_dir, base_dir=base_dir)
        _require_columns(task, table, (task.label,))
        task = replace(task, labels=infer_label_names(task, table))
    check_label_names(task)
    if "f1" in task.metrics and len(task.labels) != 2:
        raise DataError(f"task {task.name!r}: metric 'f1' is the binary F1 of class 1, but "
                        f"the task has {len(task.labels)} classes {list(task.labels)}; fix: "
                        "use metric \"f1_macro\"")
    return task


def load_split(task: Task, split: str, *, data_dir: str | None = None,
               base_dir: str = ".") -> Examples:
    """Read and check `split` ("train", "validation" or "test") of `task`."""
    task = resolve_labels(task, data_dir=data_dir, base_dir=base_dir)
    return to_examples(task, read_split(task, split, data_dir=data_dir, base_dir=base_dir),
                       split)


def to_examples(task: Task, table: Table, split: str) -> Examples:
    """Check a raw table against `task` (columns, emptiness, texts, labels) and convert it."""
    if len(table) == 0:
        raise DataError(f"{table.source}: the {split!r} split of task {task.name!r} is empty "
                        "(0 examples); fix: point the task at a file with examples")
    _require_columns(task, table, (*task.text, task.label))
    columns = [table.data[c] for c in task.text]
    for name, values in zip(task.text, columns):
        _require_texts(table, name, values)
    texts = [tuple(str(v) for v in row) for row in zip(*columns)]
    labels: Sequence[int | float] = (targets(task, table) if task.kind == "regression"
                                     else class_ids(task, table))
    return Examples(texts, list(labels), table.source)


def _require_columns(task: Task, table: Table, needed: Sequence[str]) -> None:
    missing = [c for c in needed if c not in table.data]
    if missing:
        raise DataError(
            f"{table.source}: no column {', '.join(map(repr, missing))} (task {task.name!r} "
            f"reads text from {list(task.text)} and labels from {task.label!r}); available "
            f"columns: {', '.join(table.columns) or 'none'}; fix: rename the column in the "
            "file, or set `text`/`label` for the task in the suite")


def _require_texts(table: Table, column: str, values: list[object]) -> None:
    bad = [w for w, v in zip(table.where, values)
           if v is None or (isinstance(v, float) and v != v)]  # v != v: NaN from Parquet
    if bad:
        shown = ", ".join(map(str, bad[:5])) + (f" and {len(bad) - 5} more" if len(bad) > 5
                                               else "")
        raise DataError(f"{table.source}: column {column!r} has no text at {table.unit}(s) "
                        f"{shown}; fix: fill in or drop those rows")
