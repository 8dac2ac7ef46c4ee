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


def _accuracy(p: Any, y: Any) -> Any:
    return (p == y).mean(axis=-1)


def _binary_counts(p: Any, y: Any) -> tuple[Any, Any, Any, Any]:
    pos_p, pos_y = p == 1, y == 1
    tp = (pos_p & pos_y).sum(axis=-1).astype(float)
    fp = (pos_p & ~pos_y).sum(axis=-1).astype(float)
    fn = (~pos_p & pos_y).sum(axis=-1).astype(float)
    return tp, fp, fn, p.shape[-1] - tp - fp - fn


def _f1(p: Any, y: Any) -> Any:
    import numpy as np

    tp, fp, fn, _ = _binary_counts(p, y)
    den = 2 * tp + fp + fn
    return np.divide(2 * tp, den, out=np.zeros_like(den), where=den > 0)  # sklearn: 0 if undefined


def _matthews(p: Any, y: Any) -> Any:
    import numpy as np

    tp, fp, fn, tn = _binary_counts(p, y)
    den = np.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
    return np.divide(tp * tn - fp * fn, den, out=np.zeros_like(den), where=den > 0)


def _pearson(p: Any, y: Any) -> Any:
    import numpy as np

    pc = p - p.mean(axis=-1, keepdims=True)
    yc = y - y.mean(axis=-1, keepdims=True)
    den = np.sqrt((pc * pc).sum(axis=-1) * (yc * yc).sum(axis=-1))
    num = (pc * yc).sum(axis=-1)
    return np.divide(num, den, out=np.zeros_like(den), where=den > 0)  # constant -> 0, as bench


# Vectorised over a batch of resamples (rows); the same conventions as bench.tasks.metrics.
# Binary-only ones apply when every pred and label is 0 or 1.
VECTORISED: dict[str, tuple[Callable[[Any, Any], Any], bool]] = {
    "accuracy": (_accuracy, False), "f1": (_f1, True),
    "matthews_correlation": (_matthews, True), "pearson": (_pearson, False)}


def metric_fn(name: str) -> Callable[[Any, Any], float] | None:
    """bench's own (preds, labels) -> value for metric `name`, or None when unknown."""
    try:
        from bench.tasks.metrics import METRICS
    except ImportError:
        return None
    return METRICS.get(name)


def _batch_fn(name: str, p: Any, y: Any) -> Callable[[Any, Any], Any] | None:
    import numpy as np

    fn, binary = VECTORISED.get(name, (None, False))
    if fn is None or (binary and not (np.isin(p, (0, 1)).all() and np.isin(y, (0, 1)).all())):
        return None
    if name == "pearson" and not (np.issubdtype(p.dtype, np.number) and np.issubdtype(y.dtype, np.number)):
        return None
    return fn


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
    batch, fn = _batch_fn(metric, p, y), metric_fn(metric)
    if batch is None and fn is None:
        return None
    rng = np.random.default_rng(seed)
    stats: list[Any] = []
    for start in range(0, resamples, _CHUNK):
        idx = rng.integers(0, len(p), size=(min(_CHUNK, resamples - start), len(p)))
        if batch is not None:
            stats.extend(batch(p[idx], y[idx]).tolist())
        else:  # e.g. macro F1, Spearman: one call per resample (~1 ms each)
            stats.extend(float(fn(p[i].tolist(), y[i].tolist())) for i in idx)
    values = np.asarray(stats, dtype=float)
    values = values[np.isfinite(values)]
    if len(values) < 2:
        return None
    lo, hi = np.quantile(values, [(1 - LEVEL) / 2, 1 - (1 - LEVEL) / 2])
    return float(hi - lo) / 2
