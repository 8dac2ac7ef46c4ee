"""Hugging Face hub source: one split of `task.hub` via `datasets.load_dataset`, as a Table.

Used only when no local file is found. Offline (or for an unknown dataset or split) the
failure becomes a DataError saying where bench looked locally and how to point it at files.
"""
from __future__ import annotations

from typing import Sequence

from bench.errors import DataError
from bench.tasks.readers import Table
from bench.tasks.spec import Task


def read_hub(task: Task, split: str, *, looked: Sequence[str] = ()) -> Table:
    """Load `split` (our name: train/validation/test) of `task` from the hub."""
    if task.hub is None or split not in task.hub_splits:
        raise DataError(_missing(task, split, looked, "the task names no hub dataset"
                                 if task.hub is None else f"no hub split for {split!r}"))
    path, config = task.hub
    hub_split = task.hub_splits[split]
    source = f"hub:{path}" + (f"/{config}" if config else "") + f"[{hub_split}]"
    try:
        import datasets

        ds = datasets.load_dataset(path, config, split=hub_split)
    except Exception as err:  # offline, unknown repo, unknown split: all fixable by the user
        raise DataError(_missing(task, split, looked,
                                 f"{source} failed: {type(err).__name__}: {err}")) from err
    ours = {hub: mine for mine, hub in task.hub_columns.items()}
    data = {ours.get(c, c): list(ds[c]) for c in ds.column_names}
    return Table(source, tuple(data), data, list(range(1, ds.num_rows + 1)), "row")


def _missing(task: Task, split: str, looked: Sequence[str], why: str) -> str:
    where = ", ".join(looked) if looked else "no data dir set"
    stem = task.splits.get(split, split)
    folder = task.folder or task.name
    return (f"cannot load the {split!r} split of task {task.name!r}: no local file "
            f"(looked for {where}) and {why}; fix: put the data at "
            f"<dir>/{folder}/{stem}.tsv (or .jsonl) and set BENCH_DATA_DIR=<dir> or "
            "`data_dir` in the suite")
