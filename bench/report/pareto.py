"""Pareto frontier of (cost, quality) points: the cells no other cell beats on both axes.

A point is on the frontier when no other point costs no more *and* scores no worse, with
at least one of the two strictly better. Cost (x) is always minimised; quality (y) is
maximised unless `maximize=False` (e.g. a loss).
"""
from __future__ import annotations

import math
from typing import Sequence


def frontier(xs: Sequence[float], ys: Sequence[float], maximize: bool = True) -> list[int]:
    """Indices of the non-dominated points, ordered by increasing cost.

    Points with a missing (NaN/None) coordinate are never on the frontier. Exact duplicates
    of a frontier point are all kept (neither dominates the other).
    """
    if len(xs) != len(ys):
        raise ValueError(f"xs and ys differ in length ({len(xs)} vs {len(ys)})")
    sign = 1.0 if maximize else -1.0
    ok = [i for i in range(len(xs)) if _finite(xs[i]) and _finite(ys[i])]
    # Sweep by cost ascending, best quality first among equal costs: a point is kept when
    # it beats the best quality seen at any lower cost (or ties the point just kept).
    ok.sort(key=lambda i: (float(xs[i]), -sign * float(ys[i])))
    kept: list[int] = []
    best = -math.inf
    for i in ok:
        y = sign * float(ys[i])
        if y > best:
            kept.append(i)
            best = y
        elif kept and y == best and float(xs[i]) == float(xs[kept[-1]]):
            kept.append(i)  # an exact duplicate of the last frontier point
    return kept


def _finite(v: object) -> bool:
    try:
        return math.isfinite(float(v))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False
