"""Users' own tasks, declared inline in a suite: a `[tasks.<name>]` table -> `Task`.

    [tasks.reviews]
    train  = "data/reviews_train.csv"   # .csv .tsv .jsonl .json .parquet, relative to the suite
    test   = "data/reviews_test.csv"    # the held-out file final numbers are measured on
    text   = "sentence"                 # or ["premise", "hypothesis"] for sentence pairs
    label  = "label"
    labels = ["neg", "pos"]             # optional: inferred from the train file when omitted
    metric = "f1"                       # or metrics = [...] with primary = "..."

`parse_inline` only checks the table and that the files exist: it reads no data and imports
nothing heavy, so `bench validate` stays instant. It reports every problem at once, each
naming its key path (`tasks.reviews.train`), the value and the fix.
"""
from __future__ import annotations

import os
import re
from typing import Any

from bench.errors import Problem, did_you_mean
from bench.tasks.metrics import METRIC_KIND
from bench.tasks.readers import FORMATS, file_format
from bench.tasks.spec import Task

# Every key an inline task table accepts (the one place to register a new one).
KEYS: dict[str, str] = {
    "train": "path of the training file, relative to the suite",
    "test": "path of the held-out file used for final numbers",
    "validation": "path of a tuning file (default: a stratified carve-out of train)",
    "text": "the text column, or a list of two columns for sentence pairs",
    "label": 'the label column (default "label")',
    "labels": "class names in id order (default: the train file's distinct values)",
    "kind": '"classification" (default) or "regression"',
    "metric": "one metric name (it is also the primary)",
    "metrics": "a list of metric names",
    "primary": "the metric tuned and reported (default: the first of `metrics`)",
    "description": "free text shown by `bench ls tasks`",
}
REQUIRED = ("train", "test")
FILE_KEYS = ("train", "validation", "test")
KINDS = ("classification", "regression")
DEFAULT_METRICS = {"classification": ("accuracy",), "regression": ("pearson", "spearmanr")}
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


class _Collector:
    """Problems for one task table, each under `tasks.<name>.<key>`."""

    def __init__(self, name: str, file: str):
        self.name, self.file = name, file
        self.problems: list[Problem] = []

    def add(self, key: str | None, message: str, value: Any = None, hint: str = "") -> None:
        path = f"tasks.{self.name}" + (f".{key}" if key else "")
        self.problems.append(Problem(self.file, path, message, value, hint))


def parse_inline(name: str, table: dict[str, Any], *, file: str,
                 base_dir: str) -> tuple[Task | None, list[Problem]]:
    """Check one inline task table; the Task, or None and every problem found."""
    out = _Collector(name, file)
    if not NAME.match(str(name)):
        out.add(None, "task names may hold letters, digits, '_', '.' and '-' only", name,
                "rename the table, e.g. [tasks.my_reviews]")
    if not isinstance(table, dict):
        out.add(None, "must be a table of keys", table,
                'write [tasks.NAME] with train = "...", test = "...", text = "..."')
        return None, out.problems
    for key in table:
        if key not in KEYS:
            out.add(key, "unknown key", key, did_you_mean(key, KEYS))
    files = _files(table, base_dir, out)
    kind = _kind(table, out)
    text = _text(table, out)
    label = _string(table, "label", "label", out)
    labels = _labels(table, kind, out)
    metrics, primary = _metrics(table, kind, labels, out)
    description = _string(table, "description", "", out)
    if out.problems:
        return None, out.problems
    return Task(name=name, kind=kind, text=text, label=label, labels=labels,
                metrics=metrics, primary=primary, files=files, splits={},
                hub_splits={}, description=description,
                infer_labels=kind == "classification" and not labels), []


def _string(table: dict[str, Any], key: str, default: str, out: _Collector) -> str:
    value = table.get(key, default)
    if not isinstance(value, str) or (key != "description" and not value):
        out.add(key, "must be a non-empty string", value, f'{key} = "..."')
        return default
    return value


def _files(table: dict[str, Any], base_dir: str, out: _Collector) -> dict[str, str]:
    files: dict[str, str] = {}
    for key in FILE_KEYS:
        if key not in table:
            if key in REQUIRED:
                out.add(key, "is required", None, f'{key} = "data/{out.name}_{key}.csv" '
                        "(a path relative to the suite)")
            continue
        value = table[key]
        if not isinstance(value, str) or not value:
            out.add(key, "must be a file path (a string)", value, f'{key} = "data/x.csv"')
        elif file_format(value) is None:
            out.add(key, "unsupported file type", value,
                    f"use one of {', '.join(FORMATS)} (convert the file, e.g. with pandas)")
        elif not os.path.isfile(os.path.join(base_dir, os.path.expanduser(value))):
            where = os.path.join(base_dir, os.path.expanduser(value))
            out.add(key, f"file not found (looked at {where})", value,
                    "paths are relative to the suite file's folder")
        else:
            files[key] = value
    return files


def _kind(table: dict[str, Any], out: _Collector) -> str:
    kind = table.get("kind", "classification")
    if kind not in KINDS:
        out.add("kind", "unknown task kind", kind, did_you_mean(str(kind), KINDS))
        return "classification"
    return kind


def _text(table: dict[str, Any], out: _Collector) -> tuple[str, ...]:
    value = table.get("text", "sentence")
    columns = [value] if isinstance(value, str) else value
    if (not isinstance(columns, list) or not 1 <= len(columns) <= 2
            or not all(isinstance(c, str) and c for c in columns)):
        out.add("text", "must be a column name or a list of one or two column names", value,
                'text = "sentence" or text = ["premise", "hypothesis"]')
        return ("sentence",)
    return tuple(columns)


def _labels(table: dict[str, Any], kind: str, out: _Collector) -> tuple[str, ...]:
    if "labels" not in table:
        return ()
    value = table["labels"]
    if kind == "regression":
        out.add("labels", "a regression task has no class labels", value,
                "remove `labels`, or set kind = \"classification\"")
        return ()
    if (not isinstance(value, list) or len(value) < 2
            or not all(isinstance(v, (str, int)) and not isinstance(v, bool) for v in value)):
        out.add("labels", "must be a list of at least two class names (strings or integers)",
                value, 'labels = ["negative", "positive"] in class-id order')
        return ()
    names = [str(v) for v in value]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        out.add("labels", f"class name(s) {', '.join(map(repr, dupes))} listed twice", value,
                "list every class exactly once")
    return tuple(names)


def _metrics(table: dict[str, Any], kind: str, labels: tuple[str, ...],
             out: _Collector) -> tuple[tuple[str, ...], str]:
    if "metric" in table and "metrics" in table:
        out.add("metric", "give either `metric` or `metrics`, not both", table["metric"],
                "keep metrics = [...] and set primary = \"...\"")
    raw = table.get("metrics", [table["metric"]] if "metric" in table else None)
    key = "metrics" if "metrics" in table else "metric"
    if raw is None:
        metrics = DEFAULT_METRICS[kind]
    elif not isinstance(raw, list) or not raw or not all(isinstance(m, str) for m in raw):
        out.add(key, "must be a metric name (metric) or a non-empty list of names (metrics)",
                raw, 'metric = "accuracy" or metrics = ["accuracy", "f1"]')
        metrics = DEFAULT_METRICS[kind]
    else:
        metrics = tuple(raw)
    for m in metrics:
        if m not in METRIC_KIND:
            out.add(key, "unknown metric", m, did_you_mean(m, METRIC_KIND))
        elif METRIC_KIND[m] != kind:
            fits = [n for n, k in METRIC_KIND.items() if k == kind]
            out.add(key, f"{m!r} scores {METRIC_KIND[m]} tasks, this task is {kind}", m,
                    f"use one of {', '.join(fits)}")
    if "f1" in metrics and labels and len(labels) != 2:
        out.add(key, f"'f1' is binary F1 of class 1, but `labels` has {len(labels)} classes",
                "f1", 'use "f1_macro" for more than two classes')
    primary = table.get("primary", metrics[0])
    if primary not in metrics:
        out.add("primary", "is not one of the task's metrics", primary,
                f"use one of {', '.join(metrics)}, or add it to `metrics`")
    return metrics, primary
