"""Replaying tuning studies with a pruner, from the learning curves of exhaustive trials.

A trial's training is deterministic given its parameters and seed, and pruning only stops
it: the validation values a pruned trial reports before it stops are the first values of
its full learning curve. So once every trial of a study has been trained to the end (the
exhaustive study, with its value at every evaluation point recorded), any pruner can be
replayed exactly: feed each trial's curve to an Optuna study with that pruner, in the
study's order, and stop where the pruner says. benchmarks/search.py checks this claim
against a real pruned run.
"""
from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable


@dataclass(frozen=True)
class Curve:
    """One exhaustive trial: its parameters, validation value per step, final value."""

    number: int
    params: dict[str, Any]
    points: tuple[tuple[int, float], ...]  # (optimizer step, validation value)
    final: float | None  # objective; None when the trial failed
    total: int  # optimizer steps of the full trial


def load_curves(run_dir: str | Path) -> dict[str, list[Curve]]:
    """Tuning curves per cell id from a run folder's records*.jsonl, by trial number."""
    cells: dict[str, list[Curve]] = {}
    for path in sorted(Path(run_dir).glob("records*.jsonl")):
        for line in path.read_text().splitlines():
            rec = json.loads(line)
            if rec["phase"] != "tune":
                continue
            hist = rec.get("history") or []
            total = (rec.get("meter") or {}).get("train_steps") or max(
                (h["step"] for h in hist), default=0)
            cells.setdefault(rec["cell"]["cell_id"], []).append(Curve(
                number=rec["trial"], params=rec["params"],
                points=tuple((h["step"], h["value"]) for h in hist),
                final=rec["objective"] if rec["status"] == "complete" else None,
                total=int(total)))
    return {k: sorted(v, key=lambda c: c.number) for k, v in cells.items()}


def subset(curve: Curve, points: int | None) -> tuple[tuple[int, float], ...]:
    """The curve at `points` evenly spaced evaluation points (bench's rule), if recorded."""
    if points is None:
        return curve.points
    from bench.train import eval_steps

    have = dict(curve.points)
    want = eval_steps(curve.total, points)
    if not set(want) <= set(have):
        raise ValueError(f"{points} evaluation points need steps {want}; recorded {sorted(have)}")
    return tuple((s, have[s]) for s in want)


def replay(curves: list[Curve], pruner: Any, *, points: int | None = None,
           sampler: Any = None, search: dict | None = None) -> dict[str, Any]:
    """Run one study over `curves` in their order with `pruner`.

    With `sampler` and `search`, each trial's parameters are proposed by the sampler (as in
    a real study) and looked up among the curves; `matched` says whether every proposal was
    one of the exhaustive trials (same sampler and seed give the same proposals as long as
    the sampler does not learn from results, e.g. TPE's random start-up trials).
    """
    import optuna

    from bench.tune import suggest

    study = optuna.create_study(direction="maximize", pruner=pruner,
                                sampler=sampler or optuna.samplers.RandomSampler(0))
    by_params = {json.dumps(c.params, sort_keys=True): c for c in curves}
    used = evals = pruned = 0
    matched, outcomes = True, []
    for curve in curves:
        trial = study.ask()
        if sampler is not None:
            proposal = json.dumps(suggest(trial, search), sort_keys=True)
            matched &= proposal in by_params
            curve = by_params.get(proposal, curve)
        stopped = None
        for step, value in subset(curve, points):
            trial.report(value, step)
            evals += 1
            if trial.should_prune():
                stopped = step
                break
        if stopped is not None:
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
            used += stopped
            pruned += 1
        elif curve.final is None:
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
            used += curve.total
        else:
            study.tell(trial, curve.final)
            used += curve.total
        outcomes.append({"trial": curve.number, "pruned_at": stopped})
    done = [c.final for c in curves if c.final is not None]
    best = study.best_value if any(
        t.state == optuna.trial.TrialState.COMPLETE for t in study.trials) else None
    full = max(done) if done else None
    return {"steps": used, "steps_exhaustive": sum(c.total for c in curves), "evals": evals,
            "pruned": pruned, "trials": len(curves), "best": best, "best_exhaustive": full,
            "regret": None if best is None or full is None else full - best,
            "matched": matched, "outcomes": outcomes}


def replay_orders(curves: list[Curve], make_pruner: Callable[[], Any], *, orders: int,
                  points: int | None, seed: int = 0) -> dict[str, float]:
    """Mean step share and regret of a pruner over `orders` random trial orders."""
    rng = random.Random(seed)
    shares, regrets = [], []
    for _ in range(orders):
        order = curves[:]
        rng.shuffle(order)
        r = replay(order, make_pruner(), points=points)
        shares.append(r["steps"] / r["steps_exhaustive"])
        regrets.append(r["regret"] if r["regret"] is not None else 1.0)
    return {"step_share": sum(shares) / len(shares),
            "regret_mean": sum(regrets) / len(regrets),
            "within_half_point": sum(x <= 0.005 + 1e-12 for x in regrets) / len(regrets),
            "regret_max": max(regrets)}
