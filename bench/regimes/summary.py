"""A regime run's headline numbers (the record's `metrics`) from its per-task evaluations.

- `average`: mean primary score over the regime's tasks at the end (the tuned objective);
- sequential only: `forgetting` and `bwt` (`bench.regimes.forgetting`), and with a general
  task `general_loss_base`, `general_loss_after` and `general_loss_change` (after − base:
  positive = the model got worse on general text);
- `<task>`: each task's final primary score.
Pure Python.
"""
from __future__ import annotations

from typing import Any, Sequence

from bench.regimes import forgetting as fg
from bench.regimes.spec import Regime


def final_scores(regime: Regime, evals: Sequence[dict]) -> dict[str, float | None]:
    """Each task's primary score after the last stage."""
    last = max((int(e["stage"]) for e in evals), default=0)
    got = {e["eval_task"]: e.get("value") for e in evals if int(e["stage"]) == last}
    return {t.name: got.get(t.name) for t in regime.tasks}


def summarize(regime: Regime, evals: Sequence[dict], general: Sequence[dict] = ()) -> dict:
    """The record's metrics for a regime run (None where a score is missing)."""
    scores = final_scores(regime, evals)
    values = [v for v in scores.values() if v is not None]
    out: dict[str, Any] = {"average": sum(values) / len(values)
                           if values and len(values) == len(scores) else None}
    if regime.kind == "sequential":
        r = fg.matrix(evals, [t.name for t in regime.tasks])
        out |= {"forgetting": fg.forgetting(r), "bwt": fg.backward_transfer(r)}
    if general:
        base = next((g["loss"] for g in general if g["stage"] == 0), None)
        after = max(general, key=lambda g: g["stage"])["loss"]
        out |= {"general_loss_base": base, "general_loss_after": after,
                "general_loss_change": None if base is None else after - base}
    return out | scores
