"""Samplers and pruners of a cell's study, by the names a suite's [tune] table uses."""
from __future__ import annotations

import math
import statistics

from bench.suite.spec import Dim


def sampler(name: str, seed: int, search: dict[str, Dim]):
    import optuna

    s = optuna.samplers
    if name == "grid":
        space = {k: list(d.choices) for k, d in search.items() if d.kind == "categorical"}
        return s.GridSampler(space, seed=seed)
    return {"tpe": lambda: s.TPESampler(seed=seed), "random": lambda: s.RandomSampler(seed),
            "qmc": lambda: s.QMCSampler(seed=seed),
            "cmaes": lambda: s.CmaEsSampler(seed=seed)}[name]()


# Completed trials before `median` may prune (Optuna's n_startup_trials).
STARTUP_TRIALS = 2


def pruner(name: str):
    """The pruner of a study.

    `median` stops a trial whose best value so far is below the median of the completed
    trials' values at the same step (Optuna's MedianPruner, once STARTUP_TRIALS have
    completed), but only where that comparison carries information: never at the trial's
    first evaluation point (nor at its last, where there is nothing left to save), and only
    at a step where the completed trials' median is better than their median at that first
    point. Before the reference trials have learned anything, every trial sits at the
    starting level (e.g. the majority class) give or take noise, and a trial that learns
    late is indistinguishable from a bad one.

    Measured by benchmarks/search.py (docs/performance.md; MiniLM on SST-2, LoRA and full
    fine-tuning, 12 TPE trials per cell, 256 steps, 8 evaluation points, curves replayed
    in the study's order and 100 random orders): the guarded median used 53% of the
    exhaustive steps (56% over random orders) and kept the best trial within 0.5 point in
    every cell and order; the former rule (median from half-way through the trial) used
    80% for the same outcome. At 4 points both lost 1 point (3 validation examples) on
    LoRA's near-tied plateau in a quarter of the orders. Unguarded MedianPruner used ~45%,
    but on 24-step curves where full fine-tuning's best trial sat at the majority class for
    half the trial while others were an example or two above it, it cut that trial (17
    points lost in most orders); the guard keeps it. No pruner reached <= 35% of the steps
    without losing the best trial in some order.
    `successive_halving` and `hyperband` are Optuna's with its defaults (min_resource
    "auto"); both lost the best trial in some cells and orders.
    """
    import optuna

    p = optuna.pruners
    return {"median": lambda: _once_learning(p.MedianPruner(n_startup_trials=STARTUP_TRIALS)),
            "successive_halving": lambda: p.SuccessiveHalvingPruner(),
            "hyperband": lambda: p.HyperbandPruner(),
            "none": lambda: p.NopPruner()}[name]()


def _median(values) -> float | None:
    xs = [v for v in values if v is not None and not math.isnan(v)]
    return statistics.median(xs) if xs else None


def _once_learning(inner):
    """`inner`, consulted only between a trial's first and last evaluation points (at the
    last, pruning would discard a finished trial's result and save nothing) and only where
    the completed trials' median at this step beats their median at that first point (they
    have learned since: the comparison says more than noise around the starting level)."""
    import optuna
    from optuna.study import StudyDirection
    from optuna.trial import TrialState

    class OnceLearning(optuna.pruners.BasePruner):
        def prune(self, study, trial) -> bool:
            step = trial.last_step
            if step is None:
                return False
            first = min(trial.intermediate_values)
            if step == first:
                return False
            done = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
            if step >= max((t.last_step or 0 for t in done), default=step + 1):
                return False  # the trial's last point: trained already, nothing to save
            now = _median(t.intermediate_values.get(step) for t in done)
            then = _median(t.intermediate_values.get(first) for t in done)
            if now is None or then is None:
                return False
            learned = now > then if study.direction == StudyDirection.MAXIMIZE else now < then
            return learned and inner.prune(study, trial)

    return OnceLearning()
