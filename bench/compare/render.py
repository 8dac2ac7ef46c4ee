"""Render a Comparison as a markdown summary (a CI comment, a cron log) or a JSON document.

Markdown order: headline (PASS/FAIL), loud warnings (hardware mismatch), what was compared
and the gate settings, then tables: regressions first, improvements, missing, new, and the
unchanged rows folded away.
"""
from __future__ import annotations

import json
from typing import Any, Mapping

from bench.compare.baseline import describe_hardware
from bench.compare.classify import STATUSES, Change, Comparison

JSON_SCHEMA = 1
_TITLES = {"regressed": "Regressions", "improved": "Improvements", "missing": "Missing",
           "new": "New", "unchanged": "Unchanged"}


def fmt_value(metric: str | None, value: float | None) -> str:
    """A metric value in its natural unit (GiB, s, tokens/s, kJ, or 4 decimals)."""
    if value is None or metric is None:
        return "-"
    if metric.endswith("_bytes"):
        return f"{value / 2**30:.2f} GiB" if value >= 2**30 else f"{value / 2**20:.1f} MiB"
    if metric == "tokens_per_s":
        return f"{value:,.0f} tok/s"
    if metric.endswith("_s"):
        return f"{value:.1f} s"
    if metric == "energy_j":
        return f"{value / 1000:.2f} kJ" if value >= 1000 else f"{value:.0f} J"
    return f"{value:.4f}"


def fmt_summary(metric: str | None, summary: Mapping[str, Any] | None) -> str:
    if not summary:
        return "-"
    text = fmt_value(metric, summary.get("mean"))
    if summary.get("std") is not None:
        text += f" ± {fmt_value(metric, summary['std'])}"
    return text + (f" (n={summary['n']})" if summary.get("n", 1) > 1 else "")


def fmt_change(ch: Change) -> str:
    if ch.delta is None:
        return "-"
    if ch.family == "quality" or ch.relative is None:
        return f"{ch.delta:+.4f}"
    return f"{ch.relative:+.1%}"


def fmt_bar(ch: Change) -> str:
    """The tolerance and the noise the change was held against, in the change's units."""
    if ch.tolerance is None:
        return "-"
    src = f" ({ch.noise_from})" if ch.noise_from and ch.noise else ""
    if ch.family == "quality":
        return f"{ch.tolerance:.4f} / {ch.noise or 0:.4f}{src}"
    base = abs((ch.baseline or {}).get("mean") or 0)
    if not base:
        return "-"
    return f"{ch.tolerance / base:.1%} / {(ch.noise or 0) / base:.1%}{src}"


def fmt_method(cell: Mapping[str, Any]) -> str:
    name = cell.get("label") or cell.get("method") or "?"
    opts = cell.get("options") or {}
    shown = " ".join(f"{k}={v}" for k, v in opts.items() if f"{k}={v}" not in str(name))
    return f"{name} {shown}".strip()


def _table(changes: list[Change]) -> list[str]:
    rows = ["| | cell | model | task | method | metric | baseline | current | change "
            "| tolerance / noise | note |", "|---" * 11 + "|"]
    for ch in changes:
        mark = "**FAIL**" if ch.fails else "not gated" if ch.status == "regressed" else ""
        rows.append("| " + " | ".join([
            mark, f"`{ch.cell_id}`", str(ch.cell.get("model")), str(ch.cell.get("task")),
            fmt_method(ch.cell), ch.metric or "(whole cell)",
            fmt_summary(ch.metric, ch.baseline), fmt_summary(ch.metric, ch.current),
            fmt_change(ch), fmt_bar(ch), ch.note.replace("|", "/")]) + " |")
    return rows


def _side(meta: Mapping[str, Any]) -> str:
    runs = meta.get("runs") or []
    commits = sorted({(r.get("git_commit") or "?")[:8] + ("+dirty" if r.get("git_dirty") else "")
                      for r in runs})
    last = max((str(r["finished_at"])[:16].replace("T", " ") for r in runs
                if r.get("finished_at")), default="?")
    return ", ".join([f"`{meta.get('source')}`", f"suite {meta.get('suite')}",
                      f"{len(runs)} run{'s' if len(runs) != 1 else ''} (last {last})",
                      f"commit {', '.join(commits) or '?'}",
                      describe_hardware(meta.get("hardware") or {})])


def _gate(cmp: Comparison) -> str:
    s = cmp.settings
    tol = ", ".join(f"{f} {v:g}" + (" abs" if f == "quality" else f" ({v:.0%})")
                    for f, v in s.tolerance.items())
    extra = ", ".join(f"{m} {v:g}" for m, v in s.metrics.items())
    return (f"Gate: fails on {', '.join(s.fail_on) or 'nothing'}"
            f"{' and missing cells' if s.fail_on_missing else ''} · tolerance {tol}"
            f"{' · per metric ' + extra if extra else ''} · noise {s.noise_k:g} sigma")


def to_markdown(cmp: Comparison) -> str:
    """The CI comment: headline, warnings, settings, then regressions, improvements, ..."""
    counts, n_fail = cmp.counts, len(cmp.failures)
    head = (f"## bench compare: FAIL, {n_fail} failing change{'s' if n_fail != 1 else ''}"
            if n_fail else "## bench compare: PASS, no regression in gated families")
    lines = [head, ""]
    for w in cmp.warnings:  # loud, first: a hardware mismatch changes how to read it all
        lines += [f"> **WARNING: {w}**" if w.startswith("HARDWARE") else f"> warning: {w}", ""]
    lines += [f"Baseline: {_side(cmp.baseline)}  ", f"Current: {_side(cmp.current)}  ",
              _gate(cmp), "", " · ".join(f"{counts[s]} {s}" for s in STATUSES)]
    for status in STATUSES:
        rows = cmp.with_status(status)
        if not rows:
            continue
        if status == "unchanged":
            lines += ["", f"<details><summary>Unchanged ({len(rows)})</summary>", "",
                      *_table(rows), "", "</details>"]
        else:
            lines += ["", f"### {_TITLES[status]} ({len(rows)})", "", *_table(rows)]
    return "\n".join(lines) + "\n"


def change_dict(ch: Change) -> dict[str, Any]:
    return {"cell_id": ch.cell_id, **{k: ch.cell.get(k) for k in
                                      ("model", "task", "method", "label", "options")},
            "status": ch.status, "fails": ch.fails, "gated": ch.gated, "family": ch.family,
            "metric": ch.metric, "direction": ch.direction, "baseline": ch.baseline,
            "current": ch.current, "delta": ch.delta, "relative": ch.relative,
            "tolerance": ch.tolerance, "noise": ch.noise, "noise_from": ch.noise_from or None,
            "note": ch.note}


def to_json(cmp: Comparison) -> dict[str, Any]:
    """The machine-readable summary (schema documented in docs/nightly.md)."""
    return {"schema": JSON_SCHEMA, "kind": "bench-comparison",
            "status": "fail" if cmp.exit_code else "pass", "exit_code": cmp.exit_code,
            "hardware_mismatch": cmp.hardware_mismatch, "warnings": list(cmp.warnings),
            "baseline": dict(cmp.baseline), "current": dict(cmp.current),
            "settings": cmp.settings.as_dict(), "counts": cmp.counts,
            "changes": [change_dict(ch) for ch in cmp.changes]}


def to_json_text(cmp: Comparison) -> str:
    return json.dumps(to_json(cmp), indent=1, sort_keys=True) + "\n"
