"""Settings of the regression gate: the default tolerances, the `[compare]` table and flags.

This module is the one place where the defaults live. Precedence, last wins:
the defaults below < the suite's `[compare]` table < `bench compare` flags
(`--tolerance`, `--fail-on`).

    [compare]
    tolerance = { quality = 0.01, memory = 0.10, time = 0.25, energy = 0.20 }
    noise_k = 2.0
    fail_on = ["quality", "memory"]
    fail_on_missing = true
    metrics = { accuracy = 0.005, tokens_per_s = 0.40 }   # per-metric overrides

Stdlib only: `bench validate` imports it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any, Iterable, Mapping

from bench.errors import Problem, SuiteError, UsageError, did_you_mean

FAMILIES = ("quality", "memory", "time", "energy")

# The defaults. Quality tolerances are absolute (0.01 = one point of accuracy on the 0-1
# scale records use); memory/time/energy tolerances are relative to the baseline (0.10 = 10%).
DEFAULT_TOLERANCE: Mapping[str, float] = {
    "quality": 0.01,  # one point: below this, seed-to-seed swings on GLUE dev sets dominate
    "memory": 0.10,   # peak memory is nearly deterministic; 10% is a real change
    "time": 0.25,     # wall time and tokens/s swing with clocks and neighbours
    "energy": 0.20,   # NVML energy tracks time and power, both noisy
}
# A change must also exceed NOISE_K standard deviations of the measured noise.
DEFAULT_NOISE_K = 2.0
# Time and energy are reported but do not fail the gate by default: shared CI machines
# make them too noisy to block a merge on.
DEFAULT_FAIL_ON: tuple[str, ...] = ("quality", "memory")
# A cell that produced a result in the baseline and none now (crash, OOM, removed) fails.
DEFAULT_FAIL_ON_MISSING = True

COMPARE_KEYS: Mapping[str, str] = {
    "tolerance": "table family -> tolerance (quality: absolute; memory/time/energy: relative)",
    "noise_k": "a change must exceed noise_k x the measured standard deviation (default 2.0)",
    "fail_on": "metric families whose regressions fail the run (default quality, memory)",
    "fail_on_missing": "fail when a baseline cell has no result now (default true)",
    "metrics": "table metric -> tolerance, overriding its family's (e.g. accuracy = 0.005)",
}


@dataclass(frozen=True)
class Settings:
    """Resolved tolerances and gating; `tolerance_for` picks the per-metric override."""

    tolerance: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_TOLERANCE))
    metrics: Mapping[str, float] = field(default_factory=dict)
    noise_k: float = DEFAULT_NOISE_K
    fail_on: tuple[str, ...] = DEFAULT_FAIL_ON
    fail_on_missing: bool = DEFAULT_FAIL_ON_MISSING

    def tolerance_for(self, family: str, metric: str) -> float:
        """The tolerance of one metric: its own override, else its family's."""
        return float(self.metrics.get(metric, self.tolerance[family]))

    def as_dict(self) -> dict[str, Any]:
        return {"tolerance": dict(self.tolerance), "metrics": dict(self.metrics),
                "noise_k": self.noise_k, "fail_on": list(self.fail_on),
                "fail_on_missing": self.fail_on_missing}


def _number(value: Any) -> bool:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    return ok and math.isfinite(value) and value >= 0


def _check_tolerances(table: Any, key: str, file: str, names: Iterable[str] | None,
                      ) -> list[Problem]:
    if not isinstance(table, Mapping):
        return [Problem(file, key, "must be a table of name = number", table,
                        f"e.g. {key} = {{ quality = 0.01 }}")]
    problems = []
    for name, value in table.items():
        if names is not None and name not in names:
            problems.append(Problem(file, f"{key}.{name}", "unknown metric family", name,
                                    did_you_mean(name, names)))
        elif not _number(value):
            problems.append(Problem(file, f"{key}.{name}", "must be a number >= 0", value,
                                    "quality: absolute points (0.01), others: relative (0.10)"))
    return problems


def _check_fail_on(value: Any, key: str, file: str) -> list[Problem]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)):
        return [Problem(file, key, "must be a list of metric families", value,
                        f'e.g. fail_on = ["quality", "memory"]; families: {", ".join(FAMILIES)}')]
    return [Problem(file, f"{key}", "unknown metric family", item, did_you_mean(str(item), FAMILIES))
            for item in items if item not in FAMILIES]


def validate_compare(table: Mapping[str, Any], file: str) -> list[Problem]:
    """Every problem in a suite's `[compare]` table (empty when it is fine)."""
    if not isinstance(table, Mapping):
        return [Problem(file, "compare", "must be a table", table, "write [compare] keys")]
    problems: list[Problem] = []
    for key, value in table.items():
        where = f"compare.{key}"
        if key not in COMPARE_KEYS:
            problems.append(Problem(file, where, "unknown key", key, did_you_mean(key, COMPARE_KEYS)))
        elif key == "tolerance":
            problems += _check_tolerances(value, where, file, FAMILIES)
        elif key == "metrics":
            problems += _check_tolerances(value, where, file, None)
        elif key == "noise_k" and not _number(value):
            problems.append(Problem(file, where, "must be a number >= 0", value,
                                    "2.0 means two standard deviations; 0 ignores noise"))
        elif key == "fail_on":
            problems += _check_fail_on(value, where, file)
        elif key == "fail_on_missing" and not isinstance(value, bool):
            problems.append(Problem(file, where, "must be true or false", value))
    return problems


def from_table(table: Mapping[str, Any] | None, file: str) -> Settings:
    """Settings from a `[compare]` table over the defaults; raises SuiteError if it is bad."""
    table = dict(table or {})
    problems = validate_compare(table, file)
    if problems:
        raise SuiteError(problems)
    fail_on = table.get("fail_on", DEFAULT_FAIL_ON)
    return Settings(
        tolerance={**DEFAULT_TOLERANCE, **table.get("tolerance", {})},
        metrics=dict(table.get("metrics", {})),
        noise_k=float(table.get("noise_k", DEFAULT_NOISE_K)),
        fail_on=(fail_on,) if isinstance(fail_on, str) else tuple(fail_on),
        fail_on_missing=table.get("fail_on_missing", DEFAULT_FAIL_ON_MISSING))


def parse_tolerance(items: Iterable[str] | Mapping[str, float] | None) -> dict[str, float]:
    """`["quality=0.02,time=0.5", "accuracy=0.005"]` (or a dict) -> {name: value}."""
    if items is None:
        return {}
    if isinstance(items, Mapping):
        pairs = [(str(k), v, v) for k, v in items.items()]
    else:
        parts = [p.strip() for item in items for p in str(item).split(",") if p.strip()]
        pairs = []
        for part in parts:
            name, _, raw = part.partition("=")
            try:
                pairs.append((name.strip(), float(raw), raw))
            except ValueError:
                pairs.append((name.strip(), None, raw))
    out = {}
    for name, value, raw in pairs:
        if not name or not _number(value):
            raise UsageError(f"--tolerance: bad item {name}={raw}: write FAMILY=NUMBER or "
                             f"METRIC=NUMBER with a number >= 0, e.g. quality=0.02,memory=0.1 "
                             f"(families: {', '.join(FAMILIES)})")
        out[name] = float(value)
    return out


def parse_fail_on(value: str | Iterable[str] | None) -> tuple[str, ...] | None:
    """`"quality,memory"` (or a list) -> a tuple of families; `"none"` or `""` gates nothing."""
    if value is None:
        return None
    items = value.split(",") if isinstance(value, str) else list(value)
    items = [i.strip() for i in items if i.strip() and i.strip() != "none"]
    for item in items:
        if item not in FAMILIES:
            raise UsageError(f"--fail-on: unknown metric family {item!r}: "
                             f"{did_you_mean(item, FAMILIES)} (or 'none' to gate nothing)")
    return tuple(dict.fromkeys(items))


def with_overrides(settings: Settings, tolerance: Mapping[str, float], known_metrics: Iterable[str],
                   fail_on: tuple[str, ...] | None) -> Settings:
    """Apply command-line overrides: family names set family tolerances, others metric ones."""
    known = set(known_metrics)
    families, metrics = dict(settings.tolerance), dict(settings.metrics)
    for name, value in tolerance.items():
        if name in FAMILIES:
            families[name] = value
        elif name in known:
            metrics[name] = value
        else:
            raise UsageError(f"--tolerance: {name!r} is neither a metric family nor a metric "
                             f"of these results: {did_you_mean(name, [*FAMILIES, *known])}")
    return replace(settings, tolerance=families, metrics=metrics,
                   fail_on=settings.fail_on if fail_on is None else fail_on)
