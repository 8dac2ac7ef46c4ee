"""Suites: a TOML file declaring models × tasks × methods, the training settings and the
tuning budget. `load` validates the whole file and reports every problem at once.
"""
from __future__ import annotations

import os
import tomllib

from bench.errors import Problem, SuiteError
from bench.suite.checks import Collector
from bench.suite.spec import Dim, MethodSpec, ModelSpec, Suite

TOP_KEYS = ("suite", "models", "tasks", "train", "tune", "methods", "compare", "regimes")

__all__ = ["Dim", "MethodSpec", "ModelSpec", "Suite", "load", "read"]


def read(path: str) -> dict:
    """The raw TOML table of a suite file (SuiteError when missing or malformed)."""
    if not os.path.isfile(path):
        raise SuiteError([Problem(path, "", "no such suite file",
                                  hint="check the path; suites live in suites/*.toml")])
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise SuiteError([Problem(path, "", f"not valid TOML: {exc}")]) from None
    except (UnicodeDecodeError, OSError) as exc:
        raise SuiteError([Problem(path, "", f"cannot read the file: {exc}")]) from None


def load(path: str) -> Suite:
    """Parse and validate a suite file; raise SuiteError listing every problem."""
    from bench.suite import sections
    from bench.suite.methods import parse_methods

    raw = read(path)
    col = Collector(path)
    col.unknown_keys(raw, TOP_KEYS, "")
    base_dir = os.path.dirname(os.path.abspath(path))
    header = sections.parse_header(raw, path, col)
    models = sections.parse_models(raw, base_dir, col)
    tasks = sections.parse_tasks(raw, base_dir, col)
    train, train_keys = sections.parse_train(raw, col)
    tune = sections.parse_tune(raw, tasks, col)
    methods = parse_methods(raw.get("methods", {}), col)
    compare = col.table(raw.get("compare", {}), "compare")
    if compare:
        try:
            from bench.compare import validate_compare
        except ImportError:
            validate_compare = None
        if validate_compare is not None:
            col.problems.extend(validate_compare(compare, path))
    regimes = col.table(raw.get("regimes", {}), "regimes")
    if regimes:
        from bench.regimes import validate as validate_regimes

        col.problems.extend(validate_regimes(regimes, path, tasks, methods=[
            m.label for m in methods], model_kinds=[m.kind for m in models]))
    suite = Suite(path=path, models=models, tasks=tasks, methods=methods, train=train,
                  tune=tune, train_keys=train_keys, compare=compare, regimes=regimes,
                  **header)
    if not col.problems:
        from bench.grid import check

        check(suite, col)
    if col.problems:
        raise SuiteError(col.problems)
    return suite
