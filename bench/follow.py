"""The followers of a data-parallel launch: ranks > 0 train what the leader orders.

A follower never opens the storage or the run folder: it loads each ordered cell (model
and tokenised data, cached like the leader's), takes part in the trial through
`bench.trial.execute(team=…)`, and hands its meter to the leader. The leader's `None`
order ends the loop. See bench/team.py for the coordination points.
"""
from __future__ import annotations

import sys
from typing import Any

from bench.grid import Cell
from bench.team import Broken, Team


class _Silent:
    """The progress display of a follower: the leader reports for the launch."""

    def note(self, text: str) -> None:
        pass

    def step(self, cell: Cell, step: int) -> None:
        pass


def follow(suite: Any, cells: list[Cell], team: Team) -> int:
    """Train every trial the leader orders, until it orders none; the exit code."""
    from bench.runner import quiet_libraries
    from bench.trial import data_dir_for
    from bench.work import RunContext, _cache

    quiet_libraries()
    by_id = {c.cell_id: c for c in cells}
    ctx = RunContext(suite=suite, run_id="", run_dir="", storage=None, recorder=None,
                     progress=_Silent(), data_dir=data_dir_for(suite.data_dir), team=team)
    while (order := team.broadcast()) is not None:
        cell = by_id.get(order["cell"])
        try:
            if cell is None:  # rank 0 runs another suite file or another bench version
                raise Broken(f"rank {team.rank}: the leader ordered cell {order['cell']}, "
                             "which this rank's suite does not have; fix: launch every "
                             "rank with the same suite file and bench version")
            cache = _cache(ctx, cell)
        except Exception as exc:
            _say(team, f"could not load the ordered cell: {type(exc).__name__}: {exc}")
            team.agree(False)  # the leader's readiness vote: the trial stops on every rank
            continue
        _train(team, cache, order)
    return 0


def _train(team: Team, cache: Any, order: dict) -> None:
    """One ordered trial on this rank; coordinated stops return, the rest breaks the launch."""
    from bench.trial import execute

    try:
        execute(cache, order["params"], seed=order["seed"], split=order["split"],
                team=team)
    except Exception as exc:
        if team.broken or not getattr(exc, "coordinated", False):
            raise Broken(f"rank {team.rank} failed inside a trial of {cache.cell.label}: "
                         f"{type(exc).__name__}: {exc}") from exc
        # Pruned, diverged, unavailable or failed to build on some rank: every rank
        # stopped at the same point; the leader records the trial.


def _say(team: Team, text: str) -> None:
    print(f"bench rank {team.rank}: {text}", file=sys.stderr)
