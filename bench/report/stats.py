"""Uncertainty: mean ± std over seeds, and the paired bootstrap of a metric difference.

The bootstrap compares two methods on the *same* evaluation examples: predictions are
paired by seed, then by example, and every bootstrap replicate resamples examples (the
same indices for every seed when the seeds share one evaluation set, so per-example
difficulty is kept paired). The statistic is the seed-averaged metric difference A − B.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Sequence

_CHUNK = 200  # replicates per vectorised batch: bounds memory on large evaluation sets
LOWER_IS_BETTER = frozenset({"loss", "eval_loss", "mse", "rmse", "mae", "perplexity", "ppl",
                             "wer", "cer"})


def direction(metric: str) -> str:
    """"min" for error-like metrics (loss, mse, …), else "max"."""
    return "min" if metric.lower() in LOWER_IS_BETTER else "max"


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (n−1); std is NaN for fewer than two values."""
    vals = [float(v) for v in values if v is not None and not math.isnan(float(v))]
    if not vals:
        return math.nan, math.nan
    mean = sum(vals) / len(vals)
    if len(vals) < 2:
        return mean, math.nan
    var = sum((v - mean) ** 2 for v in vals) / (len(vals) - 1)
    return mean, math.sqrt(var)


@dataclass(frozen=True)
class Bootstrap:
    """A paired bootstrap result: observed difference, its CI, and a two-sided p-value."""

    diff: float
    low: float
    high: float
    p: float
    n_examples: int
    n_seeds: int
    n_boot: int

    @property
    def within_noise(self) -> bool:
        """True when the confidence interval covers zero."""
        return self.low <= 0.0 <= self.high


def paired_bootstrap(a: Sequence[Sequence[Any]], b: Sequence[Sequence[Any]],
                     labels: Sequence[Sequence[Any]], metric: str = "accuracy",
                     n_boot: int = 1000, level: float = 0.95, seed: int = 0) -> Bootstrap:
    """Bootstrap CI and p-value for metric(A) − metric(B), seed-averaged.

    `a[s]`, `b[s]`, `labels[s]` are seed s's predictions of the two methods and the gold
    labels, example by example. The p-value is two-sided: twice the share of replicates on
    the far side of zero (with the +1 correction, so it is never exactly 0), capped at 1.
    """
    import numpy as np

    if not (len(a) == len(b) == len(labels)) or not a:
        raise ValueError("need the same, non-zero number of seeds for a, b and labels")
    fn = metric_fn(metric)
    arrs = [(np.asarray(x), np.asarray(y), np.asarray(g)) for x, y, g in zip(a, b, labels)]
    for x, y, g in arrs:
        if not (len(x) == len(y) == len(g)) or len(g) == 0:
            raise ValueError("predictions and labels differ in length within a seed")
    observed = float(np.mean([fn(x[None], g[None])[0] - fn(y[None], g[None])[0]
                              for x, y, g in arrs]))
    reps = _replicates(arrs, fn, n_boot, np.random.default_rng(seed))
    alpha = (1.0 - level) / 2
    low, high = (float(v) for v in np.quantile(reps, [alpha, 1 - alpha]))
    below = int(np.sum(reps <= 0.0)) + 1
    above = int(np.sum(reps >= 0.0)) + 1
    p = min(1.0, 2.0 * min(below, above) / (n_boot + 1))
    return Bootstrap(observed, low, high, p, len(arrs[0][2]), len(arrs), n_boot)


def _replicates(arrs: list[tuple[Any, Any, Any]], fn: Callable[[Any, Any], Any],
                n_boot: int, rng: Any) -> Any:
    """The seed-averaged difference on `n_boot` resamples, drawn in chunks to bound memory."""
    import numpy as np

    n = len(arrs[0][2])
    shared = all(len(g) == n and np.array_equal(g, arrs[0][2]) for _, _, g in arrs)
    out = []
    for start in range(0, n_boot, _CHUNK):
        size = min(_CHUNK, n_boot - start)
        reps = np.zeros(size)
        idx = rng.integers(0, n, size=(size, n)) if shared else None
        for x, y, g in arrs:
            i = idx if shared else rng.integers(0, len(g), size=(size, len(g)))
            reps += fn(x[i], g[i]) - fn(y[i], g[i])
        out.append(reps / len(arrs))
    return np.concatenate(out)


def metric_fn(name: str) -> Callable[[Any, Any], Any]:
    """A vectorised metric: (preds[R, n], labels[R, n]) -> values[R], one per replicate."""
    fns = {"accuracy": _accuracy, "acc": _accuracy, "f1": _f1, "f1_macro": _f1_macro,
           "mcc": _mcc, "matthews_correlation": _mcc, "pearson": _pearson,
           "spearman": _spearman, "spearmanr": _spearman, "mse": _mse, "mae": _mae}
    if name.lower() not in fns:
        raise KeyError(f"no bootstrap for metric {name!r}; known: {', '.join(sorted(fns))}")
    return fns[name.lower()]


def _accuracy(p: Any, g: Any) -> Any:
    return (p == g).mean(axis=1)


def _f1(p: Any, g: Any) -> Any:
    """Binary F1 of class 1 for 0/1 labels, else macro F1 over the classes seen."""
    import numpy as np

    classes = np.unique(g)
    if set(classes.tolist()) <= {0, 1}:
        classes = np.array([1])
    scores = []
    for c in classes:
        tp = ((p == c) & (g == c)).sum(axis=1)
        denom = (p == c).sum(axis=1) + (g == c).sum(axis=1)
        scores.append(np.where(denom > 0, 2 * tp / np.maximum(denom, 1), 0.0))
    return np.mean(scores, axis=0)


def _f1_macro(p: Any, g: Any) -> Any:
    """Macro F1 over the classes in the labels."""
    import numpy as np

    scores = []
    for c in np.unique(g):
        tp = ((p == c) & (g == c)).sum(axis=1)
        denom = (p == c).sum(axis=1) + (g == c).sum(axis=1)
        scores.append(np.where(denom > 0, 2 * tp / np.maximum(denom, 1), 0.0))
    return np.mean(scores, axis=0)


def _mcc(p: Any, g: Any) -> Any:
    """Matthews correlation (multiclass form of Gorodkin 2004; binary MCC for two classes)."""
    import numpy as np

    classes = np.unique(np.concatenate([np.unique(p), np.unique(g)]))
    n = p.shape[1]
    correct = (p == g).sum(axis=1).astype(float)
    pk = np.stack([(p == c).sum(axis=1) for c in classes], axis=1).astype(float)
    tk = np.stack([(g == c).sum(axis=1) for c in classes], axis=1).astype(float)
    cov = correct * n - (pk * tk).sum(axis=1)
    denom = np.sqrt((n * n - (pk * pk).sum(axis=1)) * (n * n - (tk * tk).sum(axis=1)))
    return np.where(denom > 0, cov / np.where(denom > 0, denom, 1.0), 0.0)


def _pearson(p: Any, g: Any) -> Any:
    import numpy as np

    p = p.astype(float) - p.mean(axis=1, keepdims=True)
    g = g.astype(float) - g.mean(axis=1, keepdims=True)
    denom = np.sqrt((p * p).sum(axis=1) * (g * g).sum(axis=1))
    return np.where(denom > 0, (p * g).sum(axis=1) / np.where(denom > 0, denom, 1.0), 0.0)


def _spearman(p: Any, g: Any) -> Any:
    """Pearson on ranks (ranks taken per replicate, ties averaged)."""
    from scipy.stats import rankdata

    return _pearson(rankdata(p, axis=1), rankdata(g, axis=1))


def _mse(p: Any, g: Any) -> Any:
    return ((p.astype(float) - g.astype(float)) ** 2).mean(axis=1)


def _mae(p: Any, g: Any) -> Any:
    return abs(p.astype(float) - g.astype(float)).mean(axis=1)
