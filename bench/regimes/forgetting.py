"""Continual-learning scores of a sequential run, from its accuracy matrix.

`R[i][j]` is the score on task j after training stage i (tasks in training order, 0-based;
None where task j was not evaluated, i.e. j > i). With T stages:
- average accuracy  A = mean_j R[T-1][j]  (every task, after the last stage);
- forgetting        F = mean_{j<T-1} (max_{j<=l<T-1} R[l][j] - R[T-1][j])
  (Chaudhry et al. 2018, arXiv:1801.10112): how far each earlier task fell from its best
  score before the end; positive = forgotten, 0 = kept;
- backward transfer BWT = mean_{j<T-1} (R[T-1][j] - R[j][j])
  (Lopez-Paz & Ranzato 2017, arXiv:1706.08840): the change since the task was learnt;
  negative = forgotten.
Scores are in the metric's own units (a fraction for accuracy). Pure Python.
"""
from __future__ import annotations

from typing import Iterable, Mapping, Sequence

Matrix = list[list[float | None]]


def matrix(evals: Iterable[Mapping], tasks: Sequence[str]) -> Matrix:
    """R from eval entries `{"stage": 1-based stage, "eval_task": name, "value": score}`."""
    index = {t: j for j, t in enumerate(tasks)}
    out: Matrix = [[None] * len(tasks) for _ in tasks]
    for e in evals:
        i, j = int(e["stage"]) - 1, index.get(e["eval_task"])
        if j is not None and 0 <= i < len(tasks) and e.get("value") is not None:
            out[i][j] = float(e["value"])
    return out


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def average(r: Matrix) -> float | None:
    """Mean score over every task after the last stage (None if any is missing)."""
    last = r[-1]
    return None if any(v is None for v in last) else _mean([v for v in last if v is not None])


def task_forgetting(r: Matrix) -> list[float | None]:
    """Per earlier task j: its best score before the last stage minus its final score."""
    out: list[float | None] = []
    for j in range(len(r) - 1):
        before = [r[i][j] for i in range(j, len(r) - 1) if r[i][j] is not None]
        final = r[-1][j]
        out.append(max(before) - final if before and final is not None else None)
    return out


def forgetting(r: Matrix) -> float | None:
    """Mean forgetting over the tasks before the last (None when one is missing)."""
    per = task_forgetting(r)
    return None if not per or any(v is None for v in per) else _mean(
        [v for v in per if v is not None])


def backward_transfer(r: Matrix) -> float | None:
    """Mean final-minus-just-learnt score over the tasks before the last."""
    diffs = [r[-1][j] - r[j][j] for j in range(len(r) - 1)
             if r[-1][j] is not None and r[j][j] is not None]
    return _mean(diffs) if len(diffs) == len(r) - 1 else None
