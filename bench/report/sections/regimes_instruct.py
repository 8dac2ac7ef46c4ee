"""Instruction tuning in the Regimes section: every metric of the instruction tasks.

The paper table shows one primary metric per task; an instruction task records more
(bench.evaluate_lm): the response loss and perplexity, token accuracy, exact match, and
accuracy by answer ranking for short-answer tasks. One table per instruction task and
model lists them per method (final runs, mean over seeds), with a "base model" row where a
sequential regime of the same runs measured that task as its general text before any
training (the loss of the model as it was loaded, on the same test examples).
"""
from __future__ import annotations

import math
from typing import Any, Sequence

from bench.report import fmt
from bench.report.model import Block, Table

# (metric, column, higher is better)
METRICS = (("loss", "loss", False), ("perplexity", "perplexity", False),
           ("token_accuracy", "token accuracy", True), ("exact_match", "exact match", True),
           ("accuracy", "accuracy", True))
BASE = "base model (no training)"
CAPTION = ("Final runs on the test split, mean over seeds. loss: mean NLL per response token "
           "(nats), perplexity = exp(loss); token accuracy: response tokens that are the "
           "argmax; exact match: greedy decoding reproduces the reference; accuracy: the "
           "highest-likelihood answer is the gold one (short-answer tasks). Accuracies ×100; "
           "best per column in bold.")
BASE_NOTE = (f" {BASE}: the loss that a sequential regime of these runs measured on this "
             "task (its general text) before any training, on the same test examples.")


def instruction_tables(data: Any, regime_records: Sequence[dict]) -> list[Block]:
    """One table per (instruction task, model) with complete final runs."""
    groups = _finals(data)
    base = _base_losses(regime_records)
    return [_table(task, model, variants, base.get((model, task)))
            for (task, model), variants in groups.items()]


def _finals(data: Any) -> dict[tuple[str, str], dict[str, list[dict]]]:
    """(task, model) -> variant -> the metrics of each complete final run."""
    out: dict[tuple[str, str], dict[str, list[dict]]] = {}
    fin = data.final_rows
    for rec_i, task, model, variant in zip(fin["rec"], fin["task"], fin["model"],
                                           fin["variant"]):
        rec = data.records[int(rec_i)]
        if (rec.get("cell") or {}).get("task_kind") == "instruction":
            out.setdefault((task, model), {}).setdefault(variant, []).append(
                rec.get("metrics") or {})
    return out


def _base_losses(records: Sequence[dict]) -> dict[tuple[str, str], list[float]]:
    """(model, task) -> the base model's losses measured by sequential regimes (stage 0)."""
    out: dict[tuple[str, str], list[float]] = {}
    for rec in records:
        if rec.get("phase") != "final" or rec.get("status") != "complete":
            continue
        model = str((rec.get("cell") or {}).get("model"))
        for g in (rec.get("regime") or {}).get("general_loss") or []:
            if g.get("stage") == 0 and g.get("loss") is not None:
                out.setdefault((model, str(g.get("task"))), []).append(float(g["loss"]))
    return out


def _mean(values: list[Any]) -> float | None:
    seen = [float(v) for v in values if v is not None and v == v]
    return sum(seen) / len(seen) if seen else None


def _table(task: str, model: str, variants: dict[str, list[dict]],
           base: list[float] | None) -> Table:
    shown = [m for m in METRICS if any(m[0] in r for runs in variants.values() for r in runs)]
    columns = ("method", *(c for _, c, _ in shown), "seeds")
    values = {v: [_mean([r.get(m) for r in runs]) for m, _, _ in shown]
              for v, runs in variants.items()}
    prefix = f"{model} / "  # the table is per model: the variant without it
    rows = [(v.removeprefix(prefix), *(_cell(x, m) for x, (m, _, _) in zip(vals, shown)),
             str(len(variants[v]))) for v, vals in values.items()]
    if base:
        loss = sum(base) / len(base)
        known = {"loss": _cell(loss, "loss"), "perplexity": _cell(math.exp(loss), "perplexity")}
        rows.append((BASE, *(known.get(m, fmt.MISSING) for m, _, _ in shown), fmt.MISSING))
    return Table(f"Instruction tuning: {task} on {model}", columns, tuple(rows),
                 bold=_best(list(values.values()), shown),
                 caption=CAPTION + (BASE_NOTE if base else ""),
                 numeric=(False,) + (True,) * (len(columns) - 1))


def _cell(value: float | None, metric: str) -> str:
    if value is None:
        return fmt.MISSING
    if metric == "loss":
        return f"{value:.3f}"
    return f"{value:.2f}" if metric == "perplexity" else f"{100 * value:.1f}"


def _best(rows: list[list[float | None]], shown: Sequence[tuple]) -> frozenset:
    """(row, column) of the best value per metric column (ties all bold)."""
    bold = set()
    for j, (_, _, higher) in enumerate(shown):
        col = [r[j] for r in rows if r[j] is not None]
        if col:
            best = max(col) if higher else min(col)
            bold |= {(i, j + 1) for i, r in enumerate(rows) if r[j] == best}
    return frozenset(bold)
