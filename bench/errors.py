"""The errors users see: a `BenchError` hierarchy that the CLI turns into exit code 2.

Anything that is the user's mistake (a bad suite, a missing file, an unknown name) is a
`BenchError` with a message that says what was wrong and how to fix it; the CLI prints it
without a traceback. Bugs in bench itself stay ordinary exceptions.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any, Iterable


class BenchError(Exception):
    """A user-facing error; the CLI prints `str(err)` and exits with `exit_code`."""

    exit_code = 2


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a suite: where (file, key path), what (value), and the fix."""

    file: str
    key: str
    message: str
    value: Any = None
    hint: str = ""

    def __str__(self) -> str:
        where = f"{self.file}: {self.key}" if self.key else self.file
        shown = "" if self.value is None else f" (got {self.value!r})"
        fix = f"\n    fix: {self.hint}" if self.hint else ""
        return f"{where}: {self.message}{shown}{fix}"


class SuiteError(BenchError):
    """Every problem found in a suite, reported at once."""

    def __init__(self, problems: Iterable[Problem]):
        self.problems = list(problems)
        n = len(self.problems)
        head = f"{n} problem{'s' if n != 1 else ''} in suite:"
        super().__init__("\n".join([head, *(f"  - {p}" for p in self.problems)]))


class DataError(BenchError):
    """A dataset that cannot be used: missing file or column, empty split, bad labels."""


class ModelError(BenchError):
    """A model reference that cannot be resolved or loaded."""


class UsageError(BenchError):
    """A bad command line (unknown name, bad key=value)."""


class Unavailable(BenchError):
    """A method or feature this machine cannot run (e.g. 4-bit without bitsandbytes).

    The runner records the cell as skipped with this message instead of crashing.
    """


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """A 'did you mean ...?' hint listing near matches of `name` among `known`."""
    known = sorted(known)
    close = difflib.get_close_matches(str(name), known, n=3, cutoff=0.6)
    if close:
        return "did you mean " + " or ".join(repr(c) for c in close) + "?"
    return "known: " + ", ".join(known)


class Terminated(KeyboardInterrupt):
    """SIGTERM received during `bench run` (torchrun stopping the other ranks of a launch
    whose rank failed, a scheduler's preemption, `kill`): handled like Ctrl-C, so the
    running trial is given back for a retry and the storage is never left half-written;
    the CLI exits 143 (128 + SIGTERM)."""
