"""Replaying tuning studies with a pruner, from the learning curves of exhaustive trials.

A trial's training is deterministic given its parameters and seed, and pruning only stops
it: the validation values a pruned trial reports before it stops are the first values of
its full learning curve. So once every trial of a study has been trained to the end (the
exhaustive study, with its value at every evaluation point recorded), any pruner can be
replayed exactly: feed each trial's curve to an Optuna study with that pruner, in the
study's order, and stop where the pruner says. benchmarks/search.py checks this claim
against a real pruned run.

Compute is counted two ways: optimizer steps (the issue's measure), and steps plus
evaluations, an evaluation costing what it cost in the exhaustive run in units of that
cell's train steps (`eval_costs`). The exhaustive reference evaluates each trial once, at
its end: without a pruner the intermediate evaluations would not be needed.
"""
from __future__ import annotations

import json
import random
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

HALF_POINT = 0.005


@dataclass(frozen=True)
class Curve:
    """One exhaustive trial: its parameters, validation value per step, final value."""

    number: int
    params: dict[str, Any]
    points: tuple[tuple[int, float], ...]  # (optimizer step, validation value)
    final: float | None  # objective; None when the trial failed
    total: int  # optimizer steps of the full trial


def _records(run_dir: str | Path):
    for path in sorted(Path(run_dir).glob("records*.jsonl")):
        for line in path.read_text().splitlines():
            rec = json.loads(line)
            if rec["phase"] == "tune":
                yield rec


def load_curves(run_dir: str | Path) -> dict[str, list[Curve]]:
    """Tuning curves per cell id from a run folder's records*.jsonl, by trial number."""
    cells: dict[str, list[Curve]] = {}
    for rec in _records(run_dir):
        hist = rec.get("history") or []
        total = (rec.get("meter") or {}).get("train_steps") or max(
            (h["step"] for h in hist), default=0)
        cells.setdefault(rec["cell"]["cell_id"], []).append(Curve(
            number=rec["trial"], params=rec["params"],
            points=tuple((h["step"], h["value"]) for h in hist),
            final=rec["objective"] if rec["status"] == "complete" else None,
            total=int(total)))
    return {k: sorted(v, key=lambda c: c.number) for k, v in cells.items()}


def eval_costs(run_dir: str | Path) -> dict[str, dict[str, float]]:
    """Per cell id: median seconds per train step and per evaluation, and their ratio
    (`eval_in_steps`: what one evaluation costs in train steps of that cell)."""
    rows: dict[str, list[tuple[float, float]]] = {}
    for rec in _records(run_dir):
        m, n = rec.get("meter") or {}, len(rec.get("history") or [])
        if rec["status"] == "complete" and m.get("train_steps") and n:
            rows.setdefault(rec["cell"]["cell_id"], []).append(
                (m["wall_train_s"] / m["train_steps"], m["wall_eval_s"] / n))
    out = {}
    for cid, xs in rows.items():
        step, ev = statistics.median(x[0] for x in xs), statistics.median(x[1] for x in xs)
        out[cid] = {"step_s": step, "eval_s": ev, "eval_in_steps": ev / step}
    return out


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
           sampler: Any = None, search: dict | None = None,
           eval_cost: float = 0.0) -> dict[str, Any]:
    """Run one study over `curves` in their order with `pruner`.

    With `sampler` and `search`, each trial's parameters are proposed by the sampler (as in
    a real study) and looked up among the curves; `matched` says whether every proposal was
    one of the exhaustive trials (same sampler and seed give the same proposals as long as
    the sampler does not learn from results, e.g. TPE's random start-up trials).
    `eval_cost`: one evaluation in train steps, for `compute_share`.
    """
    import optuna

    from bench.tune import suggest

    # a fixed name: HyperbandPruner assigns trials to brackets by a hash of the study's
    # name, and an unnamed study gets a random one (replays would not repeat)
    study = optuna.create_study(study_name="replay", direction="maximize", pruner=pruner,
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
    total = sum(c.total for c in curves)
    return {"steps": used, "steps_exhaustive": total, "evals": evals,
            "compute_share": (used + evals * eval_cost) / (total + len(curves) * eval_cost),
            "pruned": pruned, "trials": len(curves), "best": best, "best_exhaustive": full,
            # a study that completed no trial found nothing: counted as a whole-point miss
            "regret": None if full is None else 1.0 if best is None else full - best,
            "matched": matched, "outcomes": outcomes}


def replay_orders(curves: list[Curve], make_pruner: Callable[[], Any], *, orders: int,
                  points: int | None, seed: int = 0, eval_cost: float = 0.0
                  ) -> dict[str, float]:
    """Mean step share and regret of a pruner over `orders` random trial orders."""
    rng = random.Random(seed)
    shares, computes, regrets = [], [], []
    for _ in range(orders):
        order = curves[:]
        rng.shuffle(order)
        r = replay(order, make_pruner(), points=points, eval_cost=eval_cost)
        shares.append(r["steps"] / r["steps_exhaustive"])
        computes.append(r["compute_share"])
        regrets.append(r["regret"] if r["regret"] is not None else 0.0)
    return {"step_share": statistics.fmean(shares), "step_share_max": max(shares),
            "compute_share": statistics.fmean(computes),
            "regret_mean": statistics.fmean(regrets),
            "within_half_point": sum(x <= HALF_POINT + 1e-9 for x in regrets) / len(regrets),
            "within_one_point": sum(x <= 2 * HALF_POINT + 1e-9 for x in regrets) / len(regrets),
            "regret_max": max(regrets)}


def evaluate(cells: dict[str, list[Curve]], costs: dict[str, float], make: dict[str, Callable],
             points: tuple[int, ...], orders: int) -> dict[str, Any]:
    """Every candidate (`make[name](first_step, total)` -> pruner) on every cell (label ->
    curves; `costs`: label -> one evaluation in train steps) at each number of evaluation
    points: in the study's own trial order, and over `orders` random orders of the same
    trials (seeded per cell: every candidate sees the same orders)."""
    from bench.train import eval_steps

    study: dict[str, dict] = {}
    rand: dict[str, dict] = {}
    for name, factory in make.items():
        study[name], rand[name] = {}, {}
        for n in points:
            runs, rs = {}, {}
            for i, (label, cs) in enumerate(cells.items()):
                first, total = eval_steps(cs[0].total, n)[0], cs[0].total
                cost = costs.get(label, 0.0)
                runs[label] = replay(cs, factory(first, total), points=n, eval_cost=cost)
                rs[label] = replay_orders(cs, lambda: factory(first, total), orders=orders,
                                          points=n, seed=i, eval_cost=cost)
            study[name][n] = {
                "step_share": sum(r["steps"] for r in runs.values())
                / sum(r["steps_exhaustive"] for r in runs.values()),
                "compute_share": statistics.fmean(r["compute_share"] for r in runs.values()),
                "regret_max": max(r["regret"] for r in runs.values()),
                "cells": {k: {x: r[x] for x in ("steps", "steps_exhaustive", "compute_share",
                                                "best", "best_exhaustive", "regret", "pruned")}
                          for k, r in runs.items()}}
            rand[name][n] = {
                "step_share": statistics.fmean(r["step_share"] for r in rs.values()),
                "step_share_max": max(r["step_share_max"] for r in rs.values()),
                "compute_share": statistics.fmean(r["compute_share"] for r in rs.values()),
                "within_half_point": min(r["within_half_point"] for r in rs.values()),
                "within_one_point": min(r["within_one_point"] for r in rs.values()),
                "regret_mean": statistics.fmean(r["regret_mean"] for r in rs.values()),
                "regret_max": max(r["regret_max"] for r in rs.values()),
                "cells": rs}
    return {"study_order": study, "random_orders": rand}


def curves_from_summary(path: str | Path) -> tuple[dict[str, list[Curve]], int]:
    """(label -> curves, evaluation points) from an earlier search.json's `trials`."""
    data = json.loads(Path(path).read_text())
    cells = {label: [Curve(number=t["trial"], params=t["params"],
                           points=tuple((int(s), v) for s, v in t["curve"]), final=t["final"],
                           total=int(t["curve"][-1][0]) if t["curve"] else 0) for t in ts]
             for label, ts in data["trials"].items()}
    return cells, int(data["grid"]["eval_points_recorded"])


def meets(study: dict, rand: dict, share: float = 0.35) -> bool:
    """The target: within 0.5 pt of the exhaustive best in every cell, in the study's
    order and in every random order, at no more than `share` of the train steps."""
    return (study["step_share"] <= share and study["regret_max"] <= HALF_POINT + 1e-9
            and rand["step_share"] <= share and rand["within_half_point"] == 1.0)
