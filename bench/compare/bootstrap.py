"""Bootstrap confidence half-widths of a quality metric from a final run's predictions.

The held-out split is a sample: resampling its examples with replacement shows how much the
metric would move on another sample of the same size. That spread is part of the noise a
regression must exceed. numpy is imported inside the function (`bench validate` imports
this package).
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

RESAMPLES = 1000  # the 2.5/97.5% quantiles settle to ~0.1 point by 1000 resamples
LEVEL = 0.95
_CHUNK = 100  # resamples per vectorised batch: bounds memory on large dev sets


def _accuracy(preds: Any, labels: Any) -> Any:
    return (preds == labels).mean(axis=-1)


def metric_fn(name: str) -> Callable[[Any, Any], float] | None:
    """A function (preds, labels) -> value for metric `name`, or None when unknown."""
    if name == "accuracy":
        return None  # vectorised below
    try:
        from bench.tasks.metrics import METRICS  # owned by the tasks engineer
    except ImportError:
        return None
    entry = METRICS.get(name) if hasattr(METRICS, "get") else None
    return entry if callable(entry) else None


def half_width(preds: Sequence[Any], labels: Sequence[Any], metric: str, *,
               resamples: int = RESAMPLES, seed: int = 0) -> float | None:
    """Half the width of the 95% percentile-bootstrap interval of `metric`, or None.

    None when there is nothing to resample (fewer than 2 examples, ragged or non-scalar
    predictions) or no implementation of the metric is known.
    """
    import numpy as np

    if not preds or len(preds) != len(labels) or len(preds) < 2 or resamples < 2:
        return None
    try:
        p, y = np.asarray(preds), np.asarray(labels)
    except ValueError:  # ragged (e.g. token lists of different lengths)
        return None
    if p.ndim != 1 or y.ndim != 1:
        return None
    fn = metric_fn(metric)
    if metric != "accuracy" and fn is None:
        return None
    rng = np.random.default_rng(seed)
    stats: list[Any] = []
    for start in range(0, resamples, _CHUNK):
        idx = rng.integers(0, len(p), size=(min(_CHUNK, resamples - start), len(p)))
        if fn is None:
            stats.extend(_accuracy(p[idx], y[idx]).tolist())
        else:
            stats.extend(float(fn(p[i].tolist(), y[i].tolist())) for i in idx)
    values = np.asarray(stats, dtype=float)
    values = values[np.isfinite(values)]
    if len(values) < 2:
        return None
    lo, hi = np.quantile(values, [(1 - LEVEL) / 2, 1 - (1 - LEVEL) / 2])
    return float(hi - lo) / 2
