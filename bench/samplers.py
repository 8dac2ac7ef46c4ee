"""Samplers and pruners of a cell's study, by the names a suite's [tune] table uses."""
from __future__ import annotations

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


# Share of a trial's steps before `median` may prune it (see `pruner`).
PRUNE_AFTER = 0.5


def pruner(name: str):
    """The pruner of a study.

    `median` stops a trial whose best value so far is below the median of the completed
    trials' values at the same step, once 2 trials have completed, and only from half-way
    through the trial (PRUNE_AFTER of the longest completed trial's steps). Measured by
    benchmarks/search.py (MiniLM on SST-2, LoRA/BitFit/full, 10 TPE trials per cell, 6
    evaluation points, docs/performance.md): pruning from the first point as well (Optuna's
    plain MedianPruner) used 59% of the exhaustive steps but cut the best full fine-tuning
    trial, which learns late (17 accuracy points lost; best within 0.5 point in only 74% of
    random trial orders); waiting half-way used 77% and kept the best in every order.
    """
    import optuna

    p = optuna.pruners
    return {"median": lambda: _after_share(p.MedianPruner(n_startup_trials=2), PRUNE_AFTER),
            "successive_halving": lambda: p.SuccessiveHalvingPruner(),
            "hyperband": lambda: p.HyperbandPruner(),
            "none": lambda: p.NopPruner()}[name]()


def _after_share(inner, share: float):
    """`inner`, consulted only once a trial reached `share` of the longest completed
    trial's last step (a share, not a step count: cells differ in steps per trial)."""
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
