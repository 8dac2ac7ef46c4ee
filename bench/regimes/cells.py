"""Regime cells: regimes × fitting models × method tables × their grid axes.

A regime cell is to a regime what a `bench.grid.Cell` is to a task: one Optuna study (the
same budget rules), a stable id from its canonical config, and the `cell` block of its
records. The method expansion (fixed options, grid axes, search space, default lr range)
is `bench.grid`'s own, so a method is configured identically in the single-task cells and
in the regimes beside them.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, Mapping

from bench.defaults import TrainSpec
from bench.regimes.spec import Regime
from bench.suite.spec import Dim, ModelSpec


@dataclass(frozen=True)
class RegimeCell:
    """One study: a regime, a model, a method with its options, and a search space."""

    cell_id: str
    regime: Regime
    model: ModelSpec
    method: str
    label: str
    options: Mapping[str, Any]
    train: TrainSpec
    search: Mapping[str, Dim] = field(default_factory=dict)

    @property
    def task(self) -> Any:
        """What progress displays and records call the task: the regime's title."""
        return SimpleNamespace(name=self.regime.title, kind=self.regime.kind,
                               primary="average")

    @property
    def quantization(self) -> str | None:
        from bench.methods import METHODS
        from bench.methods._base import info

        return info(self.method, METHODS[self.method]).quantization or self.model.quantization

    def describe(self) -> dict[str, Any]:
        """The record's `cell` block (task = the regime's title, task_kind = its kind)."""
        return {
            "cell_id": self.cell_id, "model": self.model.name, "model_ref": self.model.ref,
            "dtype": self.model.dtype, "quantization": self.quantization,
            "task": self.regime.title, "task_kind": self.regime.kind, "method": self.method,
            "label": self.label, "options": dict(self.options),
            "train": dataclasses.asdict(self.train),
            "search": {k: d.as_dict() for k, d in self.search.items()},
        }


def regime_cell_id(regime: Regime, model: ModelSpec, method: str, options: Mapping[str, Any],
                   train: TrainSpec, search: Mapping[str, Dim]) -> str:
    """A stable id from the canonical config ("r" + 10 hex digits)."""
    canon = {"regime": regime.fingerprint(),
             "model": [model.ref, model.dtype, model.quantization, model.kind, model.revision],
             "method": method, "options": dict(options), "train": dataclasses.asdict(train),
             "search": {k: d.as_dict() for k, d in search.items()}}
    blob = json.dumps(canon, sort_keys=True, separators=(",", ":"), default=str)
    return "r" + hashlib.sha256(blob.encode()).hexdigest()[:10]


def expand(suite: Any, regimes: list[Regime]) -> list[RegimeCell]:
    """Every regime cell, in a stable order (regimes, models, methods, axes)."""
    from bench.grid import _method_cells, fits  # the grid's own method expansion

    cells = []
    for regime in regimes:
        for model in (m for m in suite.models if fits(m, regime.tasks[0])):
            for spec in suite.methods:
                if regime.methods and spec.label not in regime.methods:
                    continue
                for options, train, search in _method_cells(suite, spec):
                    cid = regime_cell_id(regime, model, spec.method, options, train, search)
                    cells.append(RegimeCell(cid, regime, model, spec.method, spec.label,
                                            options, train, search))
    return cells
