"""Honest splits: the validation carve-out and subsamples are seeded, stratified, disjoint."""
from __future__ import annotations

from collections import Counter

import pytest

from bench.errors import UsageError
from bench.tasks.splits import carve_validation, quantile_bins, subsample

LABELS = [0] * 700 + [1] * 250 + [2] * 50  # imbalanced, 1000 examples


def test_carve_is_disjoint_complete_and_reproducible() -> None:
    train, val = carve_validation(1000, 0.1, seed=3, labels=LABELS)
    assert len(val) == 100 and len(train) == 900
    assert set(train).isdisjoint(val) and sorted(train + val) == list(range(1000))
    assert (train, val) == carve_validation(1000, 0.1, seed=3, labels=LABELS)
    assert val != carve_validation(1000, 0.1, seed=4, labels=LABELS)[1]


def test_carve_is_stratified() -> None:
    _, val = carve_validation(1000, 0.1, seed=0, labels=LABELS)
    assert Counter(LABELS[i] for i in val) == {0: 70, 1: 25, 2: 5}
    # largest remainder: 0.15 * (7, 2.5, 0.5) -> 105, 37.5, 7.5 -> 150 in all
    _, val = carve_validation(1000, 0.15, seed=0, labels=LABELS)
    counts = Counter(LABELS[i] for i in val)
    assert sum(counts.values()) == 150 and counts[0] == 105 and {counts[1], counts[2]} in (
        {38, 7}, {37, 8})


def test_carve_without_labels_and_at_the_edges() -> None:
    train, val = carve_validation(10, 0.25, seed=1)
    assert len(val) == 2 and len(train) == 8  # round(2.5) = 2
    assert carve_validation(2, 0.01, seed=0)[1] != []  # at least one validation example
    assert len(carve_validation(3, 0.99, seed=0)[0]) == 1  # at least one train example
    with pytest.raises(UsageError, match="val_fraction must be strictly between 0 and 1"):
        carve_validation(10, 1.0, seed=0)
    with pytest.raises(UsageError, match="out of 1 training example"):
        carve_validation(1, 0.1, seed=0)


def test_subsample() -> None:
    picked = subsample(LABELS, 200, seed=0)
    assert picked == sorted(picked) and len(set(picked)) == 200
    assert Counter(LABELS[i] for i in picked) == {0: 140, 1: 50, 2: 10}
    assert picked == subsample(LABELS, 200, seed=0) != subsample(LABELS, 200, seed=1)
    assert subsample(LABELS, None, seed=0) == list(range(1000))
    assert subsample(LABELS, 5000, seed=0) == list(range(1000))  # never duplicates
    with pytest.raises(UsageError, match="at least 1"):
        subsample(LABELS, 0, seed=0)


def test_quantile_bins_stratify_regression_targets() -> None:
    values = [0.5, 4.0, 2.0, 3.5, 1.0, 5.0, 0.0, 2.5, 3.0, 4.5]
    # ranks 0..9 of the values, bin = rank * 5 // 10: two values per bin
    assert quantile_bins(values, k=5) == [0, 3, 1, 3, 1, 4, 0, 2, 2, 4]
    assert quantile_bins([], k=5) == []
