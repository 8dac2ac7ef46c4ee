"""Optuna hyperparameter importances of a cell, rebuilt from its tuning records.

The run's own study storage may be gone or remote; the records hold every trial's params
and objective, so an in-memory study is rebuilt from them with `optuna.trial.create_trial`
and scored with `optuna.importance.get_param_importances` (PED-ANOVA, optuna's default:
fast and needs no scikit-learn, so it is imported without it: see `_optuna_importance`).
"""
from __future__ import annotations

import functools
import math
import sys
import warnings
from datetime import datetime
from typing import Any, Mapping, Sequence

MIN_TRIALS = 2  # importances need at least two completed trials


def distribution(name: str, dim: Mapping[str, Any] | None, values: Sequence[Any]) -> Any:
    """An optuna distribution for `name`: from the cell's search space, else the values seen."""
    from optuna.distributions import (CategoricalDistribution, FloatDistribution,
                                      IntDistribution)

    dim = dim or {}
    if dim.get("choices") is not None or any(isinstance(v, (str, bool)) or v is None
                                             for v in values):
        choices = list(dim.get("choices") or dict.fromkeys(values))
        return CategoricalDistribution([c if isinstance(c, (int, float, str, bool)) or c is None
                                        else str(c) for c in choices])
    low = min([*values, *([dim["low"]] if dim.get("low") is not None else [])])
    high = max([*values, *([dim["high"]] if dim.get("high") is not None else [])])
    log = bool(dim.get("log")) and low > 0
    if dim.get("kind") == "int" or all(isinstance(v, int) for v in values):
        return IntDistribution(int(low), int(high), log=log)  # step 1 holds every value
    return FloatDistribution(float(low), float(high), log=log)


def importances(trials: Sequence[tuple[Mapping[str, Any], float]],
                search: Mapping[str, Any] | None, maximize: bool) -> dict[str, float]:
    """{param: importance} (summing to 1) from (params, objective) of completed trials.

    Empty when fewer than MIN_TRIALS trials have a finite objective or nothing was tuned.
    """
    import optuna

    evaluate = _optuna_importance().get_param_importances
    done = [(p, float(v)) for p, v in trials if p and v is not None and math.isfinite(float(v))]
    names = sorted({k for p, _ in done for k in p})
    if len(done) < MIN_TRIALS or not names:
        return {}
    search = search or {}
    dists = {n: distribution(n, search.get(n) if isinstance(search.get(n), Mapping) else None,
                             [p[n] for p, _ in done if n in p]) for n in names}
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize" if maximize else "minimize")
    kept, now = _kept_trial(), datetime.now()
    study.add_trials([kept(number=-1, trial_id=-1, state=optuna.trial.TrialState.COMPLETE,
                           value=v, datetime_start=now, datetime_complete=now,
                           params=dict(p), distributions={k: dists[k] for k in p},
                           user_attrs={}, system_attrs={}, intermediate_values={})
                      for p, v in done])
    with warnings.catch_warnings():  # few trials: "importances will be equal" is expected
        warnings.simplefilter("ignore", UserWarning)
        return dict(evaluate(study))


@functools.cache
def _kept_trial() -> Any:
    """A FrozenTrial class whose trials a study keeps as given instead of deep-copying.

    `Study.add_trials` deep-copies every trial into its in-memory storage: a third of the
    importance time over a few hundred cells. These trials are made for one throwaway
    study and never used again, so the copy buys nothing. They hold what
    `optuna.trial.create_trial` would put in them, and `add_trials` still validates them.
    """
    from optuna.trial import FrozenTrial

    class KeptTrial(FrozenTrial):
        def __deepcopy__(self, memo: dict[int, Any]) -> "KeptTrial":
            return self

    return KeptTrial


def _optuna_importance() -> Any:
    """`optuna.importance`, imported without scikit-learn when nothing has loaded it yet.

    The package imports its fANOVA and mean-decrease-impurity evaluators eagerly, and they
    import scikit-learn (and with it scipy.stats: about 1 s, a quarter of `bench report`
    over 10,000 records) inside optuna's `try_import`, which notes a failed import instead
    of raising. PED-ANOVA needs neither, so `sklearn` is marked missing in `sys.modules`
    while the package loads and unmarked right after: a later `import sklearn` works as
    usual; only those two optuna evaluators stay unusable in this process.
    """
    if "optuna.importance" in sys.modules or "sklearn" in sys.modules:
        import optuna.importance
        return optuna.importance
    sys.modules["sklearn"] = None  # type: ignore[assignment]  # makes `import sklearn` fail
    try:
        import optuna.importance
    finally:
        if "sklearn" in sys.modules and sys.modules["sklearn"] is None:
            del sys.modules["sklearn"]
    return optuna.importance
