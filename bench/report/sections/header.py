"""The header: what was run, where, with which code and packages, when, and how much."""
from __future__ import annotations

import json
from collections import Counter
from typing import Any, Iterable

from bench.report import fmt
from bench.report.aggregate import ReportData
from bench.report.model import Block, Details, Pre, Section, Table, Text

SUITE_FILE_CHARS = 20_000  # the suite copy is shown whole unless absurdly long


def _distinct(values: Iterable[Any]) -> str:
    seen = [str(v) for v in dict.fromkeys(v for v in values if v not in (None, "", {}))]
    return ", ".join(seen) if seen else fmt.MISSING


def _envs(data: ReportData) -> list[dict[str, Any]]:
    return [r.get("env") or {} for r in data.records]


def _hardware(envs: list[dict[str, Any]]) -> str:
    shown = []
    for env in envs:
        hw = env.get("hardware") or {}
        gpus = ", ".join(f"{g.get('name')} ({fmt.nbytes(g.get('memory_bytes'))})"
                         for g in hw.get("gpus") or [] if isinstance(g, dict)) or "no GPU"
        shown.append(f"{hw.get('cpu') or '?'} · {hw.get('cores') or '?'} cores · "
                     f"{fmt.nbytes(hw.get('ram_bytes'))} RAM · {gpus}")
    return " | ".join(dict.fromkeys(shown)) or fmt.MISSING


def _versions(envs: list[dict[str, Any]]) -> str:
    pkgs: dict[str, set[str]] = {}
    for env in envs:
        for k, v in (env.get("versions") or {}).items():
            pkgs.setdefault(str(k), set()).add(str(v))
        if env.get("python"):
            pkgs.setdefault("python", set()).add(str(env["python"]))
    return ", ".join(f"{k} {'/'.join(sorted(v))}" for k, v in sorted(pkgs.items())) or fmt.MISSING


def _git(envs: list[dict[str, Any]]) -> str:
    states = Counter((e.get("git_commit") or "?", bool(e.get("git_dirty"))) for e in envs)
    return "; ".join(f"{c[:12]}{' (dirty: uncommitted changes)' if d else ''}"
                     for c, d in states) or fmt.MISSING


def _fixed(data: ReportData) -> str:
    """Train settings shared by every cell (those that differ are listed as varying)."""
    trains = [(r.get("cell") or {}).get("train") or {} for r in data.records]
    keys = sorted({k for t in trains for k in t})
    same, varying = [], []
    for k in keys:
        vals = {json.dumps(t.get(k), sort_keys=True, default=str) for t in trains}
        (same if len(vals) == 1 else varying).append(k)
    text = ", ".join(f"{k}={trains[0].get(k)}" for k in same) or fmt.MISSING
    return text + (f"; varying between cells: {', '.join(varying)}" if varying else "")


def _counts(data: ReportData) -> str:
    f = data.frame
    by = Counter(zip(f["phase"], f["status"]))
    text = f"{len(data.records)} records: " + ", ".join(
        f"{ph} {st} {n}" for (ph, st), n in sorted(by.items()))
    return text + (f"; {data.dropped} duplicates ignored (resumed runs)" if data.dropped else "")


def _dates(data: ReportData) -> str:
    import pandas as pd

    start, end = data.frame["started_at"].min(), data.frame["finished_at"].max()
    if pd.isna(start) or pd.isna(end):
        return fmt.MISSING
    return f"{start:%Y-%m-%d %H:%M} → {end:%Y-%m-%d %H:%M} UTC"


def header_section(data: ReportData) -> Section | None:
    """Suite, runs, fixed settings, hardware, versions, git, dates and record counts."""
    f, envs = data.frame, _envs(data)
    items = (("suite", _distinct(f["suite"])),
             ("runs", _distinct(f["run_id"])),
             ("run folders", ", ".join(str(p) for p in data.runs)),
             ("models", _distinct(f["model"])), ("tasks", ", ".join(data.tasks)),
             ("methods", ", ".join(data.variants)),
             ("fixed training settings", _fixed(data)),
             ("hardware", _hardware(envs)), ("devices", _distinct(f["device"])),
             ("packages", _versions(envs)), ("git commit", _git(envs)),
             ("dates", _dates(data)), ("records", _counts(data)))
    blocks: list[Block] = [Table("", ("", ""), items, frozenset(), "", (False, False))]
    if any(bool(e.get("git_dirty")) for e in envs):
        blocks.append(Text("Some runs were made from a working tree with uncommitted changes: "
                           "the commit alone does not reproduce them.", "warn"))
    for run in data.runs:
        suite = run / "suite.toml"
        if suite.is_file():
            blocks.append(Details(f"suite file of {run}",
                                  (Pre(suite.read_text(errors="replace")[:SUITE_FILE_CHARS]),)))
    return Section("header", "Run", tuple(blocks))
