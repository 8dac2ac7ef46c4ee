"""`[methods.<label>]` tables: a list is a grid axis, a table a search dimension, a scalar fixed.

Options are checked against the method's `apply` signature (never called here) and the
train keys a method may override (`bench.defaults.PER_METHOD_TRAIN_KEYS`).
"""
from __future__ import annotations

import dataclasses
import math
from typing import Any

from bench.defaults import PER_METHOD_TRAIN_KEYS, TrainSpec
from bench.suite.checks import Collector, accepts, accepts_list, describe, join
from bench.suite.spec import Dim, MethodSpec

RANGE_KEYS = ("low", "high", "log", "step")
TRAIN_TYPES = {f.name: f.type for f in dataclasses.fields(TrainSpec)}


def _option_types(method: str, col: Collector, key: str) -> dict[str, Any] | None:
    """Option name -> annotation for a registered method, or None (problem recorded)."""
    from bench.methods import METHODS
    from bench.methods._base import options_of

    if method not in METHODS:
        col.add(key, f"unknown method {method!r}", hint=METHODS.suggest(method))
        return None
    try:
        fn = METHODS[method]
    except Exception as exc:  # a broken plug-in is reported, not raised, during validation
        col.add(key, f"method {method!r} cannot be imported: {exc}")
        return None
    types = {name: p.annotation for name, p in options_of(fn).items()}
    return types | {k: TRAIN_TYPES[k] for k in PER_METHOD_TRAIN_KEYS}


def _dim(value: dict, ann: Any, key: str, col: Collector) -> Dim | None:
    """A search dimension from `{low, high, log, step}` or `{choices = [...]}`."""
    if "choices" in value:
        col.unknown_keys(value, ["choices"], key)
        choices = value["choices"]
        if not isinstance(choices, list) or not choices:
            col.add(join(key, "choices"), "must be a non-empty list", choices)
            return None
        bad = [c for c in choices if not accepts(ann, c)]
        if bad:
            col.add(join(key, "choices"), f"choices must be {describe(ann)}", bad)
            return None
        return Dim("categorical", choices=tuple(choices))
    col.unknown_keys(value, [*RANGE_KEYS, "choices"], key)
    low, high, log = value.get("low"), value.get("high"), value.get("log", False)
    if low is None or high is None:
        col.add(key, "a search range needs both low and high", value,
                "write {low = 1e-5, high = 1e-3, log = true} or {choices = [...]}")
        return None
    if not all(accepts(ann, v) and not isinstance(v, bool) for v in (low, high)):
        col.add(key, f"low and high must be {describe(ann)}", value)
        return None
    ok = True
    if not all(math.isfinite(v) for v in (low, high)):
        col.add(key, "low and high must be finite numbers", value)
        return None
    if low >= high:
        col.add(key, "low must be smaller than high", value,
                f"swap them: {{low = {high}, high = {low}}}")
        ok = False
    if not isinstance(log, bool):
        col.add(join(key, "log"), "must be true or false", log)
        ok = False
    elif log and low <= 0:
        col.add(key, "a log-scale range needs low > 0", value)
        ok = False
    if not ok:
        return None
    is_int = all(isinstance(v, int) for v in (low, high)) and "int" in describe(ann)
    return Dim("int" if is_int else "float", low=low, high=high, log=log,
               step=value.get("step"))


def _value(name: str, value: Any, ann: Any, key: str, col: Collector,
           spec: dict[str, dict]) -> None:
    """File one option value as fixed, axis or search dimension."""
    is_axis = isinstance(value, list) and (
        not accepts_list(ann) or (value and all(isinstance(v, list) for v in value)))
    if isinstance(value, dict):
        dim = _dim(value, ann, key, col)
        if dim is not None:
            spec["search"][name] = dim
    elif is_axis:
        if not value:
            col.add(key, "a grid axis needs at least one value", value)
        elif any(not accepts(ann, v) for v in value):
            col.add(key, f"every value must be {describe(ann)}", value)
        elif len(set(map(repr, value))) != len(value):
            col.add(key, "a grid axis has duplicate values", value)
        else:
            spec["axes"][name] = tuple(value)
    elif not accepts(ann, value):
        col.add(key, f"must be {describe(ann)}", value)
    else:
        spec["fixed"][name] = value


def parse_method(label: str, table: Any, col: Collector) -> MethodSpec | None:
    """One `[methods.<label>]` table -> MethodSpec (None when it has problems)."""
    key = join("methods", label)
    table = col.table(table, key)
    before = len(col.problems)
    method = table.get("method", label)
    if not isinstance(method, str):
        col.add(join(key, "method"), "must be a method name", method)
        return None
    types = _option_types(method, col, join(key, "method") if "method" in table else key)
    if types is None:
        return None
    spec: dict[str, dict] = {"fixed": {}, "axes": {}, "search": {}}
    for name, value in table.items():
        if name == "method":
            continue
        if name not in types:
            from bench.errors import did_you_mean

            col.add(join(key, name), f"unknown option for method {method!r}",
                    hint=did_you_mean(name, types))
            continue
        _value(name, value, types[name], join(key, name), col, spec)
    if len(col.problems) > before:
        return None
    return MethodSpec(label=label, method=method, **spec)


def parse_methods(table: Any, col: Collector) -> tuple[MethodSpec, ...]:
    table = col.table(table, "methods")
    if not table:
        col.add("methods", "no methods to compare",
                hint='add at least one table, e.g. [methods.lora] with r = 8')
    specs = [parse_method(label, t, col) for label, t in table.items()]
    return tuple(s for s in specs if s is not None)
