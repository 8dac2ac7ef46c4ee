"""Uncertainty: mean ± std over seeds, and the paired bootstrap of a metric difference.

The bootstrap compares two methods on the *same* evaluation examples: predictions are
paired by seed, then by example, and every bootstrap replicate resamples examples (the
same indices for every seed when the seeds share one evaluation set, so per-example
difficulty is kept paired). The statistic is the seed-averaged metric difference A − B.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Sequence

_CHUNK = 200  # replicates per vectorised batch: bounds memory on large evaluation sets
_CACHED_CELLS = 1 << 22  # resampling weights kept between calls: 32 MiB per cached draw
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
    reps = _replicates(arrs, fn, n_boot, seed)
    alpha = (1.0 - level) / 2
    low, high = (float(v) for v in np.quantile(reps, [alpha, 1 - alpha]))
    below = int(np.sum(reps <= 0.0)) + 1
    above = int(np.sum(reps >= 0.0)) + 1
    p = min(1.0, 2.0 * min(below, above) / (n_boot + 1))
    return Bootstrap(observed, low, high, p, len(arrs[0][2]), len(arrs), n_boot)


def _replicates(arrs: list[tuple[Any, Any, Any]], fn: Callable[[Any, Any], Any],
                n_boot: int, seed: int) -> Any:
    """The seed-averaged difference on the `n_boot` resamples `_draws` makes.

    The draws fix the replicates: a faster way of scoring a resample must give the same
    numbers for the same draws. Accuracy is scored by `_accuracy_diffs`, any other metric
    by `_gathered_diffs`.
    """
    import numpy as np

    n = len(arrs[0][2])
    shared = all(len(g) == n and np.array_equal(g, arrs[0][2]) for _, _, g in arrs)
    sizes = tuple(len(g) for _, _, g in arrs)
    if fn is _accuracy:
        right = [(np.asarray(x == g), np.asarray(y == g)) for x, y, g in arrs]
        chunks = (_accuracy_diffs(right, w) for w in _weight_chunks(seed, n_boot, sizes, shared))
    else:
        chunks = (_gathered_diffs(fn, arrs, idx) for idx in _draws(seed, n_boot, sizes, shared))
    out = []
    for diffs in chunks:  # per chunk, per seed: the difference on each resample
        reps = np.zeros(len(diffs[0]))
        for diff in diffs:
            reps += diff
        out.append(reps / len(arrs))
    return np.concatenate(out)


def _draws(seed: int, n_boot: int, sizes: tuple[int, ...], shared: bool) -> Iterator[list[Any]]:
    """Per chunk of replicates (bounding memory), per seed: the resampled example indices.

    A chunk draws one index matrix for all seeds when they share one evaluation set (the
    same object, repeated), else one per seed in seed order.
    """
    import numpy as np

    rng = np.random.default_rng(seed)
    for start in range(0, n_boot, _CHUNK):
        rows = min(_CHUNK, n_boot - start)
        if shared:
            yield [rng.integers(0, sizes[0], size=(rows, sizes[0]))] * len(sizes)
        else:
            yield [rng.integers(0, n, size=(rows, n)) for n in sizes]


def _weight_chunks(seed: int, n_boot: int, sizes: tuple[int, ...],
                   shared: bool) -> Iterator[Sequence[Any]]:
    """`_draws` as resampling weights: per chunk, per seed, W[r, j] = how often resample r
    drew example j (float: counting a 0/1 vector over every resample is one product,
    exact as the sums are small integers). Shared draws give one W, repeated.

    When they fit in _CACHED_CELLS, all the weights come as one chunk from a cache: the
    uncertainty section compares every method of a task with one reference on the same
    examples, so call after call draws the same resamples.
    """
    if n_boot * (sizes[0] if shared else sum(sizes)) <= _CACHED_CELLS:
        yield _cached_weights(seed, n_boot, sizes, shared)
        return
    for idx in _draws(seed, n_boot, sizes, shared):
        if shared:
            yield [_weights(idx[0], sizes[0])] * len(sizes)
        else:
            yield [_weights(i, n) for i, n in zip(idx, sizes)]


@functools.lru_cache(maxsize=2)
def _cached_weights(seed: int, n_boot: int, sizes: tuple[int, ...],
                    shared: bool) -> tuple[Any, ...]:
    """All the chunks of `_weight_chunks` stacked into one (read-only)."""
    import numpy as np

    chunks = list(_draws(seed, n_boot, sizes, shared))
    seeds = 1 if shared else len(sizes)
    out = [np.concatenate([_weights(c[s], sizes[s]) for c in chunks]) for s in range(seeds)]
    for w in out:
        w.flags.writeable = False
    return tuple(out * len(sizes) if shared else out)


def _weights(idx: Any, n: int) -> Any:
    """idx[R, k] of examples 0..n−1 -> W[R, n]: how often each row drew each example."""
    import numpy as np

    rows = idx.shape[0]
    flat = (idx + (np.arange(rows) * n)[:, None]).ravel()
    return np.bincount(flat, minlength=rows * n).reshape(rows, n).astype(float)


def _accuracy_diffs(right: list[tuple[Any, Any]], weights: Sequence[Any]) -> list[Any]:
    """Per seed, accuracy(A) − accuracy(B) on each resample, from who is right per example.

    Whether each example is right is decided once; a resample only counts its right
    examples (W @ right). count / n is bit for bit the mean of the resampled comparison
    (numpy sums booleans exactly, then divides by n), so the replicates do not change.
    Seeds sharing one W are counted in one product.
    """
    import numpy as np

    if all(w is weights[0] for w in weights):
        cols = weights[0] @ np.stack([r for pair in right for r in pair], axis=1).astype(float)
        counts = [(cols[:, 2 * s], cols[:, 2 * s + 1]) for s in range(len(right))]
    else:
        counts = [tuple((w @ np.stack(pair, axis=1).astype(float)).T)
                  for w, pair in zip(weights, right)]
    return [ca / len(ra) - cb / len(ra) for (ca, cb), (ra, _) in zip(counts, right)]


def _gathered_diffs(fn: Callable[[Any, Any], Any], arrs: list[tuple[Any, Any, Any]],
                    idx: list[Any]) -> list[Any]:
    """Per seed, fn(A) − fn(B) on each resample, scoring the gathered predictions (the
    labels gathered once for both sides)."""
    out = []
    for i, (x, y, g) in zip(idx, arrs):
        gi = g[i]
        out.append(fn(x[i], gi) - fn(y[i], gi))
    return out


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
