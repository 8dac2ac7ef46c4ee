"""Reading run folders for the report: check the paths, then read every record in them.

Records are read with `bench.records.load` (every `records*.jsonl` of each folder; a line
torn by a crash is skipped with a warning). A records file may be named instead of its
folder.
"""
from __future__ import annotations

import gc
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Sequence

from bench.errors import DataError, UsageError


def run_dirs(paths: Sequence[str | Path]) -> list[Path]:
    """The run folders (or records files) named on the command line, checked to hold records."""
    if not paths:
        raise UsageError("bench report: name at least one run folder (results/<suite>/<run_id>)")
    out = []
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            raise UsageError(f"run folder {str(path)!r} does not exist; fix: pass a folder "
                             "written by `bench run` (results/<suite>/<run_id>)")
        if path.is_dir() and not sorted(path.glob("records*.jsonl")):
            raise DataError(f"run folder {str(path)!r} holds no records*.jsonl; fix: pass a "
                            "folder written by `bench run`, or wait until a trial finished")
        out.append(path)
    return out


def load_runs(paths: Sequence[str | Path]) -> tuple[list[Path], list[dict[str, Any]]]:
    """(run folders, their records). Raises DataError when the folders hold no record."""
    from bench.records import load

    given = run_dirs(paths)
    with _collector_paused():
        records = load(given)
    folders = list(dict.fromkeys(p if p.is_dir() else p.parent for p in given))
    if not records:
        shown = ", ".join(repr(str(p)) for p in given)
        raise DataError(f"no records in {shown}: the records files are empty; fix: report a "
                        "run that finished at least one trial")
    return folders, records


@contextmanager
def _collector_paused() -> Iterator[None]:
    """The cyclic garbage collector off for the block, as it was after.

    Parsing records makes a great many containers and no reference cycles, yet the
    collector keeps running as they pile up and rescans them to find nothing: about a
    sixth of the load time of 10,000 records. Plain reference counting still frees
    everything as usual meanwhile.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
