"""Collecting suite problems: every mistake is recorded with its key path, none raised early."""
from __future__ import annotations

import dataclasses
import re
from typing import Any, Iterable

from bench.errors import Problem, did_you_mean


class Collector:
    """Accumulates `Problem`s for one suite file."""

    def __init__(self, file: str):
        self.file = file
        self.problems: list[Problem] = []

    def add(self, key: str, message: str, value: Any = None, hint: str = "") -> None:
        self.problems.append(Problem(self.file, key, message, value, hint))

    def table(self, value: Any, key: str) -> dict:
        """`value` if it is a TOML table, else a problem and an empty dict."""
        if isinstance(value, dict):
            return value
        self.add(key, "must be a table", value, f"write it as [{key}] with key = value lines")
        return {}

    def unknown_keys(self, table: dict, allowed: Iterable[str], prefix: str) -> None:
        allowed = list(allowed)
        for key in table:
            if key not in allowed:
                self.add(join(prefix, key), "unknown key", hint=did_you_mean(key, allowed))


def join(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


def _alternatives(annotation: str) -> list[str]:
    """Top-level alternatives of an annotation string: 'list[str] | str' -> ['list', 'str']."""
    depth, parts, cur = 0, [], ""
    for ch in annotation:
        depth += ch == "["
        depth -= ch == "]"
        if ch == "|" and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    return [re.split(r"\[", p.strip())[0].split(".")[-1] for p in parts]


def accepts(annotation: Any, value: Any) -> bool:
    """Whether a TOML value fits a (string) type annotation; unknown annotations accept."""
    if not isinstance(annotation, str):
        annotation = getattr(annotation, "__name__", "Any")
    for alt in _alternatives(annotation):
        if alt in ("Any", "object", "Literal"):
            return True
        if alt == "bool" and isinstance(value, bool):
            return True
        if isinstance(value, bool):
            continue
        if (alt == "int" and isinstance(value, int)) or (
                alt == "float" and isinstance(value, (int, float))) or (
                alt == "str" and isinstance(value, str)) or (
                alt in ("list", "tuple", "Sequence") and isinstance(value, list)) or (
                alt in ("dict", "Mapping") and isinstance(value, dict)):
            return True
    return False


def accepts_list(annotation: Any) -> bool:
    """Whether an option takes a list value itself (then a list is not a grid axis)."""
    alts = _alternatives(annotation if isinstance(annotation, str) else "Any")
    return any(a in ("list", "tuple", "Sequence") for a in alts)


def describe(annotation: Any) -> str:
    return annotation if isinstance(annotation, str) else getattr(annotation, "__name__", "?")


def fill_dataclass(cls: type, table: dict, prefix: str, col: Collector,
                   rules: dict[str, tuple] | None = None) -> Any:
    """Build `cls` from a table, type-checking each field; bad fields keep their default."""
    fields = {f.name: f for f in dataclasses.fields(cls)}
    col.unknown_keys(table, fields, prefix)
    values = {}
    for name, value in table.items():
        if name not in fields:
            continue
        ann = fields[name].type
        if not accepts(ann, value):
            col.add(join(prefix, name), f"must be {describe(ann)}", value)
            continue
        rule = (rules or {}).get(name)
        if rule and not rule[0](value):
            col.add(join(prefix, name), rule[1], value)
            continue
        values[name] = float(value) if describe(ann).startswith("float") else value
    return cls(**values)
