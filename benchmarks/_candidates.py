"""Candidate pruners that benchmarks/search.py replays beside bench's own (benchmarks/
_replay.py replays them): Optuna pruners behind a share-of-trial guard, and small rules over
the completed trials' curves (`rule_pruner`), each a one-line idea.
"""
from __future__ import annotations

import statistics


def after_share(inner, share: float):
    """`inner`, consulted only once a trial reached `share` of the longest completed
    trial's last step (bench's former default waited half of the trial this way)."""
    import optuna
    from optuna.trial import TrialState

    class AfterShare(optuna.pruners.BasePruner):
        def prune(self, study, trial) -> bool:
            done = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
            total = max((t.last_step or 0 for t in done), default=0)
            if trial.last_step is None or trial.last_step < share * total:
                return False
            return inner.prune(study, trial)

    return AfterShare()


# Candidate rules (replay only; a validation accuracy, maximised). Each is a small function
# `rule(step, done, values, last)`: `done` the completed trials, `values` this trial's
# reports so far ({step: value}), `last` the completed trials' last step.

def rule_pruner(at_first, later, startup: int = 1):
    """Prune by `at_first` at a trial's first evaluation point and by `later` after it;
    never before `startup` trials completed, never at the last point (nothing to save)."""
    import optuna
    from optuna.trial import TrialState

    class Rule(optuna.pruners.BasePruner):
        def prune(self, study, trial) -> bool:
            step, values = trial.last_step, trial.intermediate_values
            done = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
            if step is None or len(done) < startup:
                return False
            last = max(t.last_step or 0 for t in done)
            if step >= last:
                return False
            rule = at_first if step == min(values) else later
            return bool(rule(step, done, values, last))

    return Rule()


def _at(done, step) -> list[float]:
    return [t.intermediate_values[step] for t in done if step in t.intermediate_values]


def jitter(done) -> float:
    """The metric's noise as the completed trials show it: the median absolute change
    between consecutive evaluations over the second half of their curves (plateaued)."""
    ds = []
    for t in done:
        v = [t.intermediate_values[s] for s in sorted(t.intermediate_values)]
        h = v[len(v) // 2:]
        ds += [abs(b - a) for a, b in zip(h, h[1:])]
    return statistics.median(ds) if ds else 0.0


def behind_best(margin: float = 0.0, ties: bool = False):
    """Best value so far below the best completed trial's value at this step by more
    than `margin` (`ties`: or not strictly above it)."""
    def rule(step, done, values, last):
        xs, mine = _at(done, step), max(values.values())
        return bool(xs) and (mine <= max(xs) if ties else mine < max(xs) - margin)
    return rule


def behind_best_gain(share: float):
    """Behind the best completed trial by more than `share` of the completed trials'
    median gain from this step to their last (no gain: never)."""
    def rule(step, done, values, last):
        xs = _at(done, step)
        gains = [t.intermediate_values[last] - t.intermediate_values[step] for t in done
                 if step in t.intermediate_values and last in t.intermediate_values]
        if not xs or not gains or statistics.median(gains) <= 0:
            return False
        return max(values.values()) < max(xs) - share * statistics.median(gains)
    return rule


def behind_best_shrinking(margin: float):
    """Behind the best completed trial by more than `margin` x (1 - progress)."""
    def rule(step, done, values, last):
        xs = _at(done, step)
        return bool(xs) and max(values.values()) < max(xs) - margin * (1 - step / last)
    return rule


def median_once_learning(margin: float | str = 0.0):
    """bench's default rule after the first point: best so far below the completed
    trials' median at this step (by more than `margin`, or by their `jitter` for
    "noise"), only where that median beats their median at the first point."""
    def rule(step, done, values, last):
        xs, f0 = _at(done, step), _at(done, min(values))
        if not xs or not f0 or not statistics.median(xs) > statistics.median(f0):
            return False
        m = jitter(done) if margin == "noise" else margin
        return max(values.values()) < statistics.median(xs) - m
    return rule


def median_patience(points: int = 2):
    """Best so far below the completed trials' median at each of the last `points`."""
    def rule(step, done, values, last):
        steps = sorted(values)
        if len(steps) < points:
            return False
        for s in steps[-points:]:
            xs = _at(done, s)
            if not xs or max(values[x] for x in steps if x <= s) >= statistics.median(xs):
                return False
        return True
    return rule


def median_slope_guard():
    """Below the completed trials' median, unless the trial's last-interval improvement
    beats theirs (median over the same interval)."""
    def rule(step, done, values, last):
        xs = _at(done, step)
        if not xs or max(values.values()) >= statistics.median(xs):
            return False
        steps = sorted(values)
        if len(steps) < 2:
            return True
        prev = steps[-2]
        theirs = [t.intermediate_values[step] - t.intermediate_values[prev] for t in done
                  if step in t.intermediate_values and prev in t.intermediate_values]
        return not (theirs and values[step] - values[prev] > statistics.median(theirs))
    return rule
