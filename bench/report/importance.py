"""Optuna hyperparameter importances of a cell, rebuilt from its tuning records.

The run's own study storage may be gone or remote; the records hold every trial's params
and objective, so an in-memory study is rebuilt from them with `optuna.trial.create_trial`
and scored with `optuna.importance.get_param_importances` (PED-ANOVA, optuna's default:
fast and needs no scikit-learn).
"""
from __future__ import annotations

import math
import warnings
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

    done = [(p, float(v)) for p, v in trials if p and v is not None and math.isfinite(float(v))]
    names = sorted({k for p, _ in done for k in p})
    if len(done) < MIN_TRIALS or not names:
        return {}
    search = search or {}
    dists = {n: distribution(n, search.get(n) if isinstance(search.get(n), Mapping) else None,
                             [p[n] for p, _ in done if n in p]) for n in names}
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize" if maximize else "minimize")
    study.add_trials([optuna.trial.create_trial(
        params=p, distributions={k: dists[k] for k in p}, value=v) for p, v in done])
    with warnings.catch_warnings():  # few trials: "importances will be equal" is expected
        warnings.simplefilter("ignore", UserWarning)
        return dict(optuna.importance.get_param_importances(study))
