"""Honest splits: a seeded, stratified validation carve-out of train, and seeded subsamples.

Tuning scores on the carve-out; the task's official held-out file (GLUE's dev set) is only
used for final numbers, so the test split never steers hyperparameters. Everything here is
pure Python (`random.Random` seeded with a string is stable across Python versions and
PYTHONHASHSEED), so the same seed picks the same examples on every machine.
"""
from __future__ import annotations

import random
from collections import defaultdict
from typing import Hashable, Sequence

from bench.errors import UsageError


def quantile_bins(values: Sequence[float], k: int = 5) -> list[int]:
    """Stratum ids 0..k-1 by rank, so regression targets can be stratified like classes."""
    order = sorted(range(len(values)), key=lambda i: (values[i], i))
    bins = [0] * len(values)
    for rank, i in enumerate(order):
        bins[i] = rank * k // max(len(values), 1)
    return bins


def _groups(strata: Sequence[Hashable]) -> list[list[int]]:
    """Indices per stratum, strata in a fixed order (by their repr, so mixed types sort)."""
    groups: dict[Hashable, list[int]] = defaultdict(list)
    for i, s in enumerate(strata):
        groups[s].append(i)
    return [groups[key] for key in sorted(groups, key=repr)]


def _quotas(sizes: Sequence[int], k: int) -> list[int]:
    """Split `k` picks across groups in proportion to `sizes` (largest remainder)."""
    total = sum(sizes)
    exact = [size * k / total for size in sizes]
    quotas = [int(x) for x in exact]
    by_remainder = sorted(range(len(sizes)), key=lambda g: (quotas[g] - exact[g], g))
    for g in by_remainder[: k - sum(quotas)]:
        quotas[g] += 1
    return quotas


def _stratified_pick(strata: Sequence[Hashable], k: int, rng: random.Random) -> list[int]:
    """`k` indices, each stratum contributing its proportional share, sorted."""
    groups = _groups(strata)
    picked: list[int] = []
    for members, quota in zip(groups, _quotas([len(g) for g in groups], k)):
        shuffled = list(members)
        rng.shuffle(shuffled)
        picked.extend(shuffled[:quota])
    return sorted(picked)


def carve_validation(n: int, fraction: float, seed: int,
                     labels: Sequence[Hashable] | None = None) -> tuple[list[int], list[int]]:
    """Split indices 0..n-1 into (train, validation), stratified by `labels` when given.

    The validation share is round(n * fraction), at least 1, leaving at least 1 for train.
    """
    if not 0.0 < fraction < 1.0:
        raise UsageError(f"val_fraction must be strictly between 0 and 1 (got {fraction!r}); "
                         "fix: e.g. val_fraction = 0.1 in [train]")
    if n < 2:
        raise UsageError(f"cannot carve a validation set out of {n} training example(s); "
                         "fix: give the task more data or its own validation file")
    if labels is not None and len(labels) != n:
        raise ValueError(f"{len(labels)} labels for {n} examples")
    k = min(max(round(n * fraction), 1), n - 1)
    val = _stratified_pick(labels if labels is not None else [0] * n, k,
                           random.Random(f"carve:{seed}"))
    chosen = set(val)
    return [i for i in range(n) if i not in chosen], val


def subsample(labels: Sequence[Hashable], n: int | None, seed: int) -> list[int]:
    """Up to `n` indices into `labels`, stratified and seeded, in ascending order.

    All indices when `n` is None or not smaller than the data (no silent duplication).
    """
    if n is None or n >= len(labels):
        return list(range(len(labels)))
    if n < 1:
        raise UsageError(f"a sample size must be at least 1 (got {n}); fix: raise "
                         "max_train_samples / max_eval_samples or remove it")
    return _stratified_pick(labels, n, random.Random(f"subsample:{seed}"))
