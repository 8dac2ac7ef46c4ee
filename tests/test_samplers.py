"""The pruners behind a suite's [tune] pruner names (bench/samplers.py)."""
from __future__ import annotations

import pytest

optuna = pytest.importorskip("optuna")

from bench.samplers import STARTUP_TRIALS, pruner  # noqa: E402


def _study(name, done: list[list[float]], direction: str = "maximize"):
    """A study with `pruner(name)` (or the pruner `name`) and one complete trial per
    curve (steps 1, 2, ...)."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction=direction,
                                pruner=pruner(name) if isinstance(name, str) else name)
    for curve in done:
        t = study.ask()
        for step, v in enumerate(curve, 1):
            t.report(v, step)
        study.tell(t, curve[-1])
    return study


def _stopped_at(study, curve: list[float]) -> int | None:
    """The step at which the study's pruner stops a new trial with `curve`, or None."""
    t = study.ask()
    for step, v in enumerate(curve, 1):
        t.report(v, step)
        if t.should_prune():
            study.tell(t, state=optuna.trial.TrialState.PRUNED)
            return step
    study.tell(t, curve[-1])
    return None


LEARNED = [[0.56, 0.75, 0.78, 0.80], [0.57, 0.74, 0.79, 0.81]]


def test_median_prunes_a_trial_behind_trials_that_learned():
    study = _study("median", LEARNED)
    assert _stopped_at(study, [0.56, 0.60, 0.61, 0.62]) == 2
    assert _stopped_at(study, [0.57, 0.76, 0.80, 0.82]) is None


def test_median_never_prunes_at_the_first_or_last_evaluation_point():
    assert _stopped_at(_study("median", LEARNED), [0.10, 0.90, 0.90, 0.90]) is None
    # behind at the last point only: the trial is trained, its result is kept
    assert _stopped_at(_study("median", LEARNED), [0.60, 0.76, 0.80, 0.70]) is None


def test_median_waits_for_its_startup_trials():
    study = _study("median", LEARNED[:STARTUP_TRIALS - 1])
    assert _stopped_at(study, [0.56, 0.60, 0.61, 0.62]) is None


def test_median_spares_a_late_learner_while_the_others_have_learned_nothing():
    # every completed trial is still at the majority class (plus a little noise) at step
    # 2 and 3: behind them there is no evidence against the trial that learns at step 4
    flat = [[0.565, 0.56, 0.565, 0.56], [0.57, 0.565, 0.56, 0.565], [0.58, 0.565, 0.56, 0.56]]
    assert _stopped_at(_study("median", flat), [0.56, 0.56, 0.56, 0.73]) is None
    # plain Optuna median pruning cuts it
    study = _study(optuna.pruners.MedianPruner(n_startup_trials=2), flat)
    assert _stopped_at(study, [0.56, 0.56, 0.56, 0.73]) is not None


def test_median_minimize_direction():
    losses = [[0.70, 0.40, 0.30, 0.25], [0.69, 0.42, 0.31, 0.24]]
    study = _study("median", losses, direction="minimize")
    t = study.ask()
    for step, v in enumerate([0.70, 0.65, 0.60], 1):
        t.report(v, step)
        if t.should_prune():
            break
    assert step == 2
    # not learned yet (losses flat): no pruning
    flat = _study("median", [[0.70, 0.70, 0.69], [0.69, 0.70, 0.70]], direction="minimize")
    assert _stopped_at(flat, [0.71, 0.72, 0.72]) is None


def test_median_agrees_with_optuna_once_the_others_learned():
    curves = LEARNED + [[0.58, 0.70, 0.77, 0.79]]
    # probes at or above the median at step 1, where only Optuna's pruner may act ...
    for probe in ([0.58, 0.74, 0.70, 0.70], [0.57, 0.76, 0.78, 0.79], [0.6, 0.7, 0.8, 0.8]):
        ours = _stopped_at(_study("median", curves), probe)
        theirs = _stopped_at(_study(optuna.pruners.MedianPruner(n_startup_trials=2), curves),
                             probe)
        # ... and before the last point, where Optuna's would discard a finished trial
        assert ours == (None if theirs == len(probe) else theirs), (probe, ours, theirs)


def test_none_never_prunes_and_names_are_checked():
    assert _stopped_at(_study("none", LEARNED), [0.0, 0.0, 0.0, 0.0]) is None
    for name in ("successive_halving", "hyperband"):
        assert isinstance(pruner(name), optuna.pruners.BasePruner)
    with pytest.raises(KeyError):
        pruner("medain")
