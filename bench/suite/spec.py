"""The suite as frozen dataclasses: what `bench.suite.load` returns after validation."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from bench.defaults import TrainSpec, TuneSpec
from bench.tasks.spec import Task


@dataclass(frozen=True)
class ModelSpec:
    """A base model: hub id, local folder or `package:pkg/dir`, with dtype and quantisation."""

    name: str
    ref: str
    dtype: str = "float32"  # float32 | bfloat16 | float16
    quantization: str | None = None  # None | nf4 | int8 (QLoRA-style methods set it per cell)
    kind: str = "seq_cls"  # seq_cls (encoder/decoder + task head) | causal_lm
    revision: str | None = None


@dataclass(frozen=True)
class Dim:
    """One Optuna search dimension: a float/int range or a categorical choice."""

    kind: str  # float | int | categorical
    low: float | int | None = None
    high: float | int | None = None
    log: bool = False
    step: float | int | None = None
    choices: tuple[Any, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        if self.kind == "categorical":
            return {"choices": list(self.choices)}
        out = {"low": self.low, "high": self.high, "log": self.log}
        return out | ({"step": self.step} if self.step is not None else {})


@dataclass(frozen=True)
class MethodSpec:
    """One `[methods.<label>]` table: fixed values, grid axes and search dimensions."""

    label: str  # the table name (shown in reports)
    method: str  # the registry name (the table's `method` key, default: the label)
    fixed: Mapping[str, Any] = field(default_factory=dict)
    axes: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)
    search: Mapping[str, Dim] = field(default_factory=dict)


@dataclass(frozen=True)
class Suite:
    """A validated suite: everything needed to expand the grid and run it."""

    path: str
    name: str
    description: str
    seeds: tuple[int, ...]
    output: str
    data_dir: str | None
    models: tuple[ModelSpec, ...]
    tasks: tuple[Task, ...]
    methods: tuple[MethodSpec, ...]
    train: TrainSpec
    tune: TuneSpec
    train_keys: frozenset[str] = frozenset()  # keys the suite's [train] set explicitly
    compare: Mapping[str, Any] = field(default_factory=dict)
    regimes: Mapping[str, Any] = field(default_factory=dict)

    @property
    def base_dir(self) -> str:
        """Folder that relative paths in the suite are resolved against."""
        import os

        return os.path.dirname(os.path.abspath(self.path))
