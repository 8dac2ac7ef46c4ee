"""Baselines: a small JSON of per-cell results built from one or more run folders.

A baseline is committed next to the suite (e.g. `results/baselines/nightly.json`), not a
results folder. Both sides of a comparison take this shape; a run folder is summarised on
the fly. Layout:

    {"schema": 1, "kind": "bench-baseline", "bench_version": "0.1.0",
     "created_at": "2026-11-25T10:15:00+00:00", "suite": "nightly",
     "hardware": {"cpu": "...", "gpus": ["NVIDIA H100 80GB HBM3"], "device": "cuda"},
     "runs": [{"run_dir": "...", "run_id": "...", "git_commit": "...", "git_dirty": false,
               "finished_at": "2026-11-25T09:58:00+00:00", "records": 12}],
     "compare": {...the suite's [compare] table, or null...},
     "warnings": [],
     "cells": {"<cell_id>": {"model": ..., "task": ..., "method": ..., "label": ...,
               "options": {...}, "primary": "accuracy", "reason": null,
               "metrics": {"accuracy": {...summary, see bench.compare.summarize...}}}}}
"""
from __future__ import annotations

import datetime as dt
import json
import re
import tomllib
from pathlib import Path
from typing import Any, Mapping, Sequence

from bench.compare.summarize import summarize_cells
from bench.errors import DataError

SCHEMA = 1
KIND = "bench-baseline"
# A JSON list of numbers only (seed values): written on one line to keep the file short.
_NUMBER_LIST = re.compile(r"\[\s*((?:-?[\d.eE+-]+,?\s*)+)\]")


def hardware_of(records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The machine a run was measured on: CPU model, GPU names and the device used."""
    rec = next((r for r in records if (r.get("env") or {}).get("hardware")), records[0])
    hw = (rec.get("env") or {}).get("hardware") or {}
    gpus = [g.get("name") if isinstance(g, Mapping) else str(g) for g in hw.get("gpus") or []]
    return {"cpu": hw.get("cpu"), "gpus": gpus,
            "device": (rec.get("meter") or {}).get("device") or "cpu"}


def same_hardware(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    """True when CPU model and GPU names match (counts and device placement aside)."""
    return a.get("cpu") == b.get("cpu") and sorted(map(str, a.get("gpus") or [])) == \
        sorted(map(str, b.get("gpus") or []))


def describe_hardware(hw: Mapping[str, Any]) -> str:
    gpus = hw.get("gpus") or []
    gpu = f"{len(gpus)} x {gpus[0]}" if gpus and len(set(gpus)) == 1 else ", ".join(gpus)
    return f"{hw.get('cpu') or 'unknown CPU'}" + (f" + {gpu}" if gpu else " (no GPU)")


def compare_table(run_dir: Path) -> dict[str, Any] | None:
    """The `[compare]` table of the suite copy saved in a run folder, if any."""
    path = run_dir / "suite.toml"
    if not path.is_file():
        return None
    try:
        table = tomllib.loads(path.read_text(encoding="utf-8")).get("compare")
    except tomllib.TOMLDecodeError as err:
        raise DataError(f"{path}: not valid TOML ({err}); fix its [compare] "
                        f"table or delete the file") from err
    return dict(table) if isinstance(table, Mapping) else None


def _run_records(run_dir: Path) -> list[dict[str, Any]]:
    from bench.records import load

    if not run_dir.is_dir():
        raise DataError(f"{run_dir}: no such run folder; pass results/<suite>/<run_id> "
                        f"(or a baseline .json)")
    records = load([str(run_dir)])
    if not records:
        inner = sorted((p.parent for p in run_dir.glob("*/records*.jsonl")),
                       key=lambda p: p.stat().st_mtime)
        hint = f"; did you mean its newest run {inner[-1]}?" if inner else \
            "; run `bench run SUITE` first"
        raise DataError(f"{run_dir}: no records (records*.jsonl) in this folder{hint}")
    return records


def _run_info(run_dir: Path, records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    env = records[-1].get("env") or {}
    return {"run_dir": str(run_dir), "run_id": records[-1].get("run_id"),
            "git_commit": env.get("git_commit"), "git_dirty": env.get("git_dirty"),
            "finished_at": max((str(r.get("finished_at")) for r in records
                                if r.get("finished_at")), default=None),
            "records": len(records)}


def snapshot(run_dirs: Sequence[str | Path], *, resamples: int = 1000) -> dict[str, Any]:
    """Summarise one or more runs of the same suite into the baseline layout."""
    from bench import __version__

    if not run_dirs:
        raise DataError("no run folder given: pass at least one results/<suite>/<run_id>")
    dirs = [Path(d) for d in run_dirs]
    runs = [_run_records(d) for d in dirs]
    hardware = [hardware_of(r) for r in runs]
    suites = sorted({str(r.get("suite")) for recs in runs for r in recs if r.get("suite")})
    warnings = []
    if any(not same_hardware(hardware[0], hw) for hw in hardware[1:]):
        warnings.append("runs measured on different hardware: " +
                        "; ".join(sorted({describe_hardware(hw) for hw in hardware})))
    if len(suites) > 1:
        warnings.append(f"runs of different suites: {', '.join(suites)}")
    table = next((t for t in map(compare_table, dirs) if t is not None), None)
    return {"schema": SCHEMA, "kind": KIND, "bench_version": __version__,
            "created_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "suite": suites[0] if len(suites) == 1 else ",".join(suites) or None,
            "hardware": hardware[0],
            "runs": [_run_info(d, r) for d, r in zip(dirs, runs)],
            "compare": table, "warnings": warnings,
            "cells": summarize_cells(runs, resamples=resamples)}


def write(doc: Mapping[str, Any], out: str | Path) -> Path:
    """Write a baseline as stable, diff-friendly JSON (sorted keys, one key per line)."""
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(doc, indent=1, sort_keys=True)
    text = _NUMBER_LIST.sub(
        lambda m: "[" + ", ".join(x.strip(",") for x in m.group(1).split()) + "]", text)
    path.write_text(text + "\n", encoding="utf-8")
    return path


def read(path: str | Path) -> dict[str, Any]:
    """A baseline JSON written by `bench baseline`; DataError when it is something else."""
    path = Path(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(f"{path}: no such baseline file; create it with "
                        f"`bench baseline RUN_DIR --out {path}`") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise DataError(f"{path}: not valid JSON ({err}); recreate it with `bench baseline`") from err
    if not isinstance(doc, dict) or doc.get("kind") != KIND or not isinstance(doc.get("cells"), dict):
        raise DataError(f"{path}: not a bench baseline (expected \"kind\": \"{KIND}\" and "
                        f"\"cells\"); create one with `bench baseline RUN_DIR --out {path}`")
    if doc.get("schema") != SCHEMA:
        raise DataError(f"{path}: baseline schema {doc.get('schema')!r}, this bench reads "
                        f"{SCHEMA}; rebuild it with `bench baseline`")
    return doc


def load_side(path: str | Path, *, resamples: int = 1000) -> dict[str, Any]:
    """Either side of a comparison: a baseline .json file or a run folder."""
    path = Path(path)
    if path.is_dir():
        return snapshot([path], resamples=resamples)
    if path.suffix == ".jsonl":
        raise DataError(f"{path}: pass the run folder that holds it ({path.parent}), "
                        f"or a baseline .json")
    return read(path)
