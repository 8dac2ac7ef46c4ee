"""Label values -> training targets, with the data checks that guard them.

A class label in a file may be a name from `Task.labels` or an integer id in range; a name
match wins, and when the names are themselves integers (star ratings "1".."5") ids are not
tried, so a stray 0 is reported instead of silently becoming class "1". Regression
targets must be finite numbers. Every failure is a DataError naming the file, the column,
a few bad values with their line numbers, and the fix.
"""
from __future__ import annotations

import math
from typing import Any, Sequence

from bench.errors import DataError
from bench.tasks.readers import Table
from bench.tasks.spec import Task

SHOWN = 5  # bad values quoted in an error message


def canon(value: Any) -> str | None:
    """The string a label value is matched by: None for missing, "1" for 1, 1.0 and "1.0"."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    text = str(value).strip()
    try:
        number = float(text)
    except ValueError:
        return text
    return str(int(number)) if number.is_integer() else text


def _is_int(text: str) -> bool:
    try:
        int(text)
    except ValueError:
        return False
    return True


def check_label_names(task: Task) -> None:
    """Raise a DataError when two declared label names are the same (after `canon`)."""
    seen: dict[str | None, str] = {}
    for name in task.labels:
        key = canon(name)
        if key in seen:
            raise DataError(
                f"task {task.name!r}, label column {task.label!r}: label names "
                f"{seen[key]!r} and {name!r} are the same class listed twice in `labels` "
                f"{list(task.labels)}; fix: list every class name exactly once")
        seen[key] = name


def infer_label_names(task: Task, table: Table) -> tuple[str, ...]:
    """The distinct label values of a train table, sorted (numerically when all integers)."""
    values = {canon(v) for v in table.data[task.label]} - {None}
    if len(values) < 2:
        raise DataError(
            f"{table.source}: column {task.label!r} holds {len(values)} distinct label "
            f"value(s) {sorted(v for v in values if v)}; a classifier needs at least two; "
            "fix: check the label column, or declare `labels = [...]` in the suite")
    if all(_is_int(v) for v in values if v is not None):
        return tuple(sorted((v for v in values if v is not None), key=int))
    return tuple(sorted(v for v in values if v is not None))


def class_ids(task: Task, table: Table) -> list[int]:
    """Map the label column of `table` to class ids in 0..len(task.labels)-1."""
    index = {canon(name): i for i, name in enumerate(task.labels)}
    ids_allowed = not all(_is_int(str(k)) for k in index)
    out: list[int] = []
    bad: list[tuple[int, Any]] = []
    for where, value in zip(table.where, table.data[task.label]):
        key = canon(value)
        if key in index:
            out.append(index[key])
        elif ids_allowed and key is not None and _is_int(key) and 0 <= int(key) < len(index):
            out.append(int(key))
        else:
            bad.append((where, value))
    if bad:
        how = ("" if not ids_allowed
               else f" or integer ids 0..{len(task.labels) - 1}")
        origin = "labels inferred from the train file" if task.infer_labels else "declared labels"
        raise DataError(
            f"{table.source}: column {task.label!r} has {len(bad)} value(s) outside the "
            f"{origin} {list(task.labels)}: {_show(bad, table.unit)}; fix: "
            f"use label names{how}, or list every class in `labels = [...]`")
    return out


def targets(task: Task, table: Table) -> list[float]:
    """Map the label column of a regression `table` to finite floats."""
    out: list[float] = []
    bad: list[tuple[int, Any]] = []
    for where, value in zip(table.where, table.data[task.label]):
        try:
            number = float(str(value).strip()) if value is not None else math.nan
        except ValueError:
            number = math.nan
        if math.isfinite(number):
            out.append(number)
        else:
            bad.append((where, value))
    if bad:
        raise DataError(
            f"{table.source}: column {task.label!r} of regression task {task.name!r} has "
            f"{len(bad)} non-numeric value(s): {_show(bad, table.unit)}; fix: write a number "
            "in every row, or declare kind = \"classification\" with `labels`")
    return out


def _show(bad: Sequence[tuple[int, Any]], unit: str) -> str:
    """'"x" (line 3), "y" (line 9) and 12 more'."""
    shown = ", ".join(f"{value!r} ({unit} {where})" for where, value in bad[:SHOWN])
    more = len(bad) - SHOWN
    return shown + (f" and {more} more" if more > 0 else "")
