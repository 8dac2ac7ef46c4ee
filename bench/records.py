"""Trial records: the schema-1 dict, crash-safe JSONL append, loading, flattening, Parquet.

One JSON line per trial or final run (docs/CONTRACTS.md). Each worker process appends to
its own file (`records.jsonl`, or `records-<worker>.jsonl`) with one O_APPEND write and an
fsync, so a record is either wholly on disk or absent, and concurrent workers never mix
lines. Readers glob `records*.jsonl` and skip a line torn by a crash, with a warning.
"""
from __future__ import annotations

import dataclasses
import enum
import json
import math
import os
import re
import socket
import warnings
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Mapping

from bench.errors import DataError

SCHEMA = 1
PHASES = ("tune", "final")
# "interrupted" marks a trial stopped by Ctrl-C or a kill: written so nothing is silent,
# and not finished, so a resumed run retries it.
STATUSES = ("complete", "pruned", "failed", "skipped", "interrupted")
FINISHED = frozenset({"complete", "pruned", "failed", "skipped"})
METER_KEYS = ("wall_load_s", "wall_train_s", "wall_eval_s", "train_steps", "train_samples",
              "train_tokens", "samples_per_s", "tokens_per_s", "peak_rss_bytes", "cpu_s",
              "device", "gpu_name", "gpu_count", "nvml_peak_bytes", "alloc_peak_bytes",
              "reserved_peak_bytes", "gpu_util_mean", "power_mean_w", "energy_j", "mfu",
              "flops", "sample_hz", "samples_taken")
COUNT_KEYS = ("trainable", "method", "head", "total", "percent", "stored_bytes")


def json_safe(obj: Any) -> Any:
    """`obj` as plain JSON values: numpy/torch scalars and arrays unwrapped, NaN/inf → None.

    Anything unrecognised becomes its `str()`: a record is never lost to an odd value.
    """
    if obj is None or isinstance(obj, (str, bool, int)):
        return obj
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, Mapping):
        return {str(k): json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set, frozenset)):
        return [json_safe(v) for v in obj]
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return json_safe(dataclasses.asdict(obj))
    if isinstance(obj, (datetime, date)):
        return obj.isoformat()
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    if isinstance(obj, enum.Enum):
        return json_safe(obj.value)
    if callable(getattr(obj, "detach", None)):  # a torch tensor, maybe on a GPU
        obj = obj.detach().cpu()
    if callable(getattr(obj, "tolist", None)):  # numpy and torch scalars and arrays
        return json_safe(obj.tolist())
    return str(obj)


def validate(record: Mapping[str, Any]) -> None:
    """Raise ValueError when `record` breaks the schema in ways readers rely on (a bench bug)."""
    problems = []
    if record.get("schema") != SCHEMA:
        problems.append(f"schema={record.get('schema')!r} (expected {SCHEMA})")
    if record.get("phase") not in PHASES:
        problems.append(f"phase={record.get('phase')!r} (expected one of {PHASES})")
    if record.get("status") not in STATUSES:
        problems.append(f"status={record.get('status')!r} (expected one of {STATUSES})")
    if not isinstance(record.get("cell"), Mapping) or not record["cell"].get("cell_id"):
        problems.append("cell.cell_id is missing")
    if problems:
        raise ValueError("invalid record: " + "; ".join(problems))


def records_file(run_dir: str | os.PathLike[str], worker: str | None = None) -> Path:
    """`records.jsonl` for the default worker, else `records-<worker>.jsonl` (name sanitised)."""
    if worker is None:
        return Path(run_dir) / "records.jsonl"
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", str(worker))
    if not safe.strip("._"):
        raise ValueError(f"worker name {worker!r} has no usable characters")
    return Path(run_dir) / f"records-{safe}.jsonl"


class Recorder:
    """Appends records of one worker to its own file in `run_dir` (created if missing)."""

    def __init__(self, run_dir: str | os.PathLike[str], worker: str | None = None):
        self.run_dir = Path(run_dir)
        self.path = records_file(run_dir, worker)
        self._checked = False

    def append(self, record: Mapping[str, Any]) -> None:
        """Write `record` as one line in one write, then fsync: wholly on disk or absent."""
        validate(record)
        line = json.dumps(json_safe(record), ensure_ascii=False, allow_nan=False,
                          separators=(",", ":")) + "\n"
        data = line.encode("utf-8")
        self.run_dir.mkdir(parents=True, exist_ok=True)
        created = not self.path.exists()
        fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            if not self._checked:
                data = self._repair_tail(fd) + data
                self._checked = True
            view = memoryview(data)
            while view:  # regular files take the whole write; loop only for safety
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        if created:
            _fsync_dir(self.run_dir)  # make the new file's directory entry durable too

    def _repair_tail(self, fd: int) -> bytes:
        """A newline if a crash left a torn last line, so our record starts on a fresh line."""
        size = os.fstat(fd).st_size
        return b"\n" if size and os.pread(fd, 1, size - 1) != b"\n" else b""


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some filesystems refuse fsync on directories
    finally:
        os.close(fd)


def record_files(paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]]) -> list[Path]:
    """Record files named by `paths`: files as given, folders globbed for `records*.jsonl`."""
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    files: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            files.extend(sorted(p.glob("records*.jsonl")))
        elif p.is_file():
            files.append(p)
        else:
            raise DataError(f"{p}: no such run folder or records file; pass a run folder "
                            f"(results/<suite>/<run_id>) or a records*.jsonl file")
    return files


def load(paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]]) -> list[dict[str, Any]]:
    """Every record in `paths` (run folders or files), in file then line order.

    A line that does not parse (torn by a crash mid-write) is skipped with a warning naming
    the file and line.
    """
    records: list[dict[str, Any]] = []
    for file in record_files(paths):
        with open(file, encoding="utf-8", errors="replace") as f:
            for n, line in enumerate(f, start=1):
                if not line.strip():
                    continue
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError:
                    rec = None
                if not isinstance(rec, dict):
                    warnings.warn(f"{file}:{n}: skipping a torn or invalid record line "
                                  f"(a crash mid-write leaves one): {line[:80]!r}",
                                  stacklevel=2)
                    continue
                records.append(rec)
    return records


def finished_keys(records: Iterable[Mapping[str, Any]]) -> set[tuple[Any, Any, Any, Any]]:
    """(cell_id, phase, trial, seed) of every finished record: resume skips these."""
    return {(r.get("cell", {}).get("cell_id"), r.get("phase"), r.get("trial"), r.get("seed"))
            for r in records if r.get("status") in FINISHED}


def flatten(record: Mapping[str, Any], predictions: bool = False) -> dict[str, Any]:
    """One flat row: nested dicts become dotted columns, lists become JSON strings."""
    row: dict[str, Any] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, Mapping) and prefix not in ("history", "predictions"):
            for k, v in value.items():
                walk(f"{prefix}.{k}" if prefix else str(k), v)
        elif isinstance(value, (list, tuple, Mapping)):
            row[prefix] = json.dumps(json_safe(value), separators=(",", ":"))
        else:
            row[prefix] = value

    for key, value in record.items():
        if key == "predictions" and not predictions:
            continue
        walk(key, value)
    return row


def to_frame(records: Iterable[Mapping[str, Any]], predictions: bool = False) -> Any:
    """A pandas DataFrame, one row per record: cell.*, meter.*, metrics.*, counts.*, env.*...

    history (and predictions, when asked for) stay as JSON strings.
    """
    import pandas as pd

    return pd.DataFrame([flatten(r, predictions) for r in records])


def export_parquet(run_dir: str | os.PathLike[str]) -> Path:
    """Write `<run_dir>/records.parquet` from the run's records (atomically); return its path."""
    df = _arrow_safe(to_frame(load(run_dir)))
    out = Path(run_dir) / "records.parquet"
    tmp = out.with_name(f".records.parquet.{os.getpid()}.tmp")
    df.to_parquet(tmp, index=False)
    os.replace(tmp, out)
    return out


def _arrow_safe(df: Any) -> Any:
    """Turn object columns mixing value types (an option int in one cell, str in another)
    into strings: Arrow columns hold one type."""
    for col in df.columns:
        if df[col].dtype != object:
            continue
        kinds = {type(v) for v in df[col] if v is not None and v == v}
        if len(kinds) > 1:
            df[col] = df[col].map(lambda v: v if v is None or v != v else str(v))
    return df


def now() -> str:
    """The current UTC time as the records write it (ISO 8601, seconds)."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _stamp(when: Any) -> str | None:
    if when is None or isinstance(when, str):
        return when
    if isinstance(when, (int, float)):
        when = datetime.fromtimestamp(when, timezone.utc)
    return when.astimezone(timezone.utc).isoformat(timespec="seconds")


def new_record(*, run_id: str, suite: str, cell: Any, phase: str, trial: int | None,
               seed: int | None, status: str, split: str | None = None,
               params: Mapping[str, Any] | None = None,
               metrics: Mapping[str, Any] | None = None, primary: str | None = None,
               objective: float | None = None, history: list[Mapping[str, Any]] | None = None,
               predictions: Mapping[str, Any] | None = None,
               counts: Mapping[str, Any] | None = None, meter: Mapping[str, Any] | None = None,
               reason: str | None = None, started_at: Any = None, finished_at: Any = None,
               suite_path: str | None = None, trials_budget: int | None = None,
               worker: str | None = None, env: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A complete schema-1 record; counts/meter keys absent from the arguments are null.

    cell: the `cell` dict or a grid `Cell` (see `cell_dict`). started_at and
    finished_at take datetimes, epoch seconds or ISO strings; finished_at defaults to now,
    worker to "host:pid", env to `bench.envinfo.environment()`.
    """
    from bench.envinfo import environment

    record = {
        "schema": SCHEMA, "run_id": run_id, "suite": suite, "suite_path": suite_path,
        "cell": cell_dict(cell, trials_budget),
        "phase": phase, "trial": trial, "params": dict(params or {}), "seed": seed,
        "split": split, "metrics": dict(metrics or {}), "primary": primary,
        "objective": objective, "history": list(history or []),
        "predictions": None if predictions is None else dict(predictions),
        "counts": {**dict.fromkeys(COUNT_KEYS), **(counts or {})},
        "meter": {**dict.fromkeys(METER_KEYS), **(meter or {})},
        "status": status, "reason": reason,
        "started_at": _stamp(started_at), "finished_at": _stamp(finished_at) or now(),
        "worker": worker or f"{socket.gethostname()}:{os.getpid()}",
        "env": dict(env) if env is not None else environment(),
    }
    validate(record)
    return record


def cell_dict(cell: Any, trials_budget: int | None = None) -> dict[str, Any]:
    """The record's `cell`: a grid Cell's `describe()` (or a dict) plus the trials budget."""
    d = dict(cell.describe()) if callable(getattr(cell, "describe", None)) else dict(cell)
    if trials_budget is not None or "trials_budget" not in d:
        d["trials_budget"] = trials_budget
    return json_safe(d)
