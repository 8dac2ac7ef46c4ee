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


def _f1_macro(p: Any, y: Any) -> Any:
    """Mean F1 over the classes present in preds or labels of each resample (as sklearn)."""
    import numpy as np

    total, present = 0.0, 0.0
    for c in np.union1d(np.unique(p), np.unique(y)):
        tp = ((p == c) & (y == c)).sum(axis=-1).astype(float)
        den = ((p == c).sum(axis=-1) + (y == c).sum(axis=-1)).astype(float)  # 2tp + fp + fn
        total = total + np.divide(2 * tp, den, out=np.zeros_like(tp), where=den > 0)
        present = present + (den > 0)
    return np.divide(total, present, out=np.zeros_like(total), where=present > 0)


def _spearman(p: Any, y: Any) -> Any:
    from scipy.stats import rankdata

    return _pearson(rankdata(p, axis=-1), rankdata(y, axis=-1))  # ties get average ranks


# Vectorised over a batch of resamples (rows); the same conventions as bench.tasks.metrics.
# Binary-only ones apply when every pred and label is 0 or 1.
VECTORISED: dict[str, tuple[Callable[[Any, Any], Any], bool]] = {
    "accuracy": (_accuracy, False), "f1": (_f1, True),
    "matthews_correlation": (_matthews, True), "pearson": (_pearson, False),
    "f1_macro": (_f1_macro, False), "spearmanr": (_spearman, False)}


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
    if name in ("pearson", "spearmanr") and not (np.issubdtype(p.dtype, np.number) and np.issubdtype(y.dtype, np.number)):
        return None
    return fn


def _arrays(rows: Sequence[Sequence[Any]], labels: Sequence[Any]) -> tuple[Any, Any] | None:
    """(preds as seeds x examples, labels) or None when they cannot be resampled together."""
    import numpy as np

    try:
        p, y = np.asarray(rows), np.asarray(labels)
    except ValueError:  # ragged (e.g. token lists of different lengths)
        return None
    if p.ndim != 2 or y.ndim != 1 or p.shape[1] != len(y) or len(y) < 2:
        return None
    return p, y


def _resampled(p: Any, y: Any, metric: str, resamples: int, seed: int) -> Any | None:
    """The metric averaged over the rows of `p` (seeds) on each of `resamples` resamples.

    The same seed draws the same resamples for the same number of examples, which is what
    makes `paired_half_width` paired.
    """
    import numpy as np

    batch = _batch_fn(metric, p, y)
    fn = None if batch is not None else metric_fn(metric)
    if batch is None and fn is None:
        return None
    rng = np.random.default_rng(seed)
    out = []
    for start in range(0, resamples, _CHUNK):
        idx = rng.integers(0, len(y), size=(min(_CHUNK, resamples - start), len(y)))
        if batch is not None:
            out.append(np.mean([batch(row[idx], y[idx]) for row in p], axis=0))
        else:  # e.g. macro F1, Spearman: one call per resample and seed (~1 ms each)
            out.append([np.mean([fn(row[i].tolist(), y[i].tolist()) for row in p]) for i in idx])
    return np.concatenate([np.asarray(o, dtype=float) for o in out])


def _half(values: Any) -> float | None:
    import numpy as np

    values = values[np.isfinite(values)]
    if len(values) < 2:
        return None
    lo, hi = np.quantile(values, [(1 - LEVEL) / 2, 1 - (1 - LEVEL) / 2])
    return float(hi - lo) / 2


def half_width(preds: Sequence[Any], labels: Sequence[Any], metric: str, *,
               resamples: int = RESAMPLES, seed: int = 0) -> float | None:
    """Half the width of the 95% percentile-bootstrap interval of `metric`, or None.

    None when there is nothing to resample (fewer than 2 examples, ragged or non-scalar
    predictions) or no implementation of the metric is known.
    """
    arrays = _arrays([list(preds)], labels) if preds and resamples >= 2 else None
    stats = _resampled(*arrays, metric, resamples, seed) if arrays else None
    return None if stats is None else _half(stats)


def paired_half_width(base: Sequence[Sequence[Any]], current: Sequence[Sequence[Any]],
                      labels: Sequence[Any], metric: str, *, resamples: int = RESAMPLES,
                      ) -> float | None:
    """Half-width of the 95% paired-bootstrap interval of current - baseline, or None.

    Both sides' predictions (one row per seed) are on the same examples with the same
    `labels`; every resample draws the same examples for both, so only what changed between
    the two models counts, not which examples the test set happens to hold.
    """
    b, c = _arrays(base, labels), _arrays(current, labels)
    if not b or not c or resamples < 2:
        return None
    sb = _resampled(*b, metric, resamples, seed=0)
    sc = _resampled(*c, metric, resamples, seed=0)
    return None if sb is None or sc is None else _half(sc - sb)
