"""Pareto frontier on hand-made points: cheaper-and-better dominance, both directions."""
from __future__ import annotations

import math

import pytest

from bench.report.pareto import frontier


def test_frontier_keeps_only_undominated_points_in_cost_order():
    #        0: cheap/bad  1: dominated by 2  2: mid  3: expensive/best  4: dominated by 3
    xs = [10, 500, 100, 1000, 2000]
    ys = [0.70, 0.80, 0.85, 0.90, 0.88]
    assert frontier(xs, ys) == [0, 2, 3]


def test_equal_cost_keeps_the_better_and_equal_quality_keeps_the_cheaper():
    assert frontier([5, 5, 9], [0.6, 0.7, 0.7]) == [1]
    assert frontier([1, 2], [0.5, 0.5]) == [0]


def test_exact_duplicates_are_both_on_the_frontier():
    assert frontier([3, 3, 1], [0.9, 0.9, 0.1]) == [2, 0, 1]


def test_minimised_metric_flips_quality():
    # a loss: lower is better, so the cheap point with the high loss is still on it
    xs, ys = [10, 100, 1000, 50], [0.9, 0.5, 0.2, 0.95]
    assert frontier(xs, ys, maximize=False) == [0, 1, 2]
    assert frontier(xs, ys, maximize=True) == [0, 3]  # cheapest, then the best


def test_missing_coordinates_are_never_members():
    assert frontier([1, math.nan, 3, None], [0.5, 0.99, 0.6, 0.9]) == [0, 2]
    assert frontier([], []) == []


def test_length_mismatch_is_an_error():
    with pytest.raises(ValueError):
        frontier([1, 2], [0.1])
