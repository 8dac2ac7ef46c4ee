"""A suite's `[regimes.<name>]` tables as `Regime` rows, checked without loading anything.

    [regimes.multitask]                 # one model (or one adapter) on a mixture of tasks
    tasks = ["sst2", "rte"]
    sampling = "temperature"            # proportional (default) | temperature | equal
    temperature = 2.0                   # p_i ∝ n_i^(1/T); T = 1 is proportional

    [regimes.sequential]                # task after task, all seen tasks evaluated each time
    order = ["sst2", "rte", "mrpc"]
    general = "alpaca"                  # causal LMs: loss on this task's text, base vs after

A table's name is its kind unless it sets `kind = "multitask" | "sequential"` (so a suite
may hold several of each). Optional in both: `methods` (method labels; default every method
table of the suite) and `trials` (tuning trials per regime cell; default [tune] trials).
Torch-free: `bench validate` calls `validate`.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

from bench.errors import Problem, did_you_mean
from bench.tasks.spec import Task

KINDS = ("multitask", "sequential")
SAMPLINGS = ("proportional", "temperature", "equal")
COMMON = {"kind": "multitask or sequential (default: the table's name)",
          "methods": "method labels to run (default: every method table)",
          "trials": "tuning trials per regime cell (default: [tune] trials)"}
KEYS = {
    "multitask": {**COMMON, "tasks": "the tasks mixed (at least two)",
                  "sampling": "proportional | temperature | equal",
                  "temperature": "T of temperature sampling (> 0)",
                  "size": "examples in one epoch of the mixture (default: the tasks' train "
                          "examples together)"},
    "sequential": {**COMMON, "order": "the tasks in training order (at least two)",
                   "general": "causal LMs: an instruction task whose response loss is "
                              "measured before and after each stage"},
}
LOWER_IS_BETTER = ("loss", "perplexity")


@dataclass(frozen=True)
class Regime:
    """One regime: how a model is trained on several tasks, and on which."""

    name: str
    kind: str  # multitask | sequential
    tasks: tuple[Task, ...]  # the mixture, or the training order
    sampling: str = "proportional"
    temperature: float = 1.0
    size: int | None = None
    general: Task | None = None
    methods: tuple[str, ...] = ()  # method labels; empty = all
    trials: int | None = None

    @property
    def title(self) -> str:
        """How records and reports name the regime's training: `multitask(a+b)` etc."""
        sep = "+" if self.kind == "multitask" else ">"
        return f"{self.kind}({sep.join(t.name for t in self.tasks)})"

    @property
    def instruction(self) -> bool:
        return self.tasks[0].kind == "instruction"

    def describe(self) -> dict[str, Any]:
        """The regime as recorded in every record (`record["regime"]`, without results)."""
        out: dict[str, Any] = {"name": self.name, "kind": self.kind,
                               "tasks": [t.name for t in self.tasks]}
        if self.kind == "multitask":
            out |= {"sampling": self.sampling, "temperature": self.temperature,
                    "size": self.size}
        else:
            out["general"] = self.general.name if self.general else None
        return out

    def fingerprint(self) -> str:
        """A hash of everything that changes what the regime trains (part of its cell ids)."""
        blob = json.dumps({**self.describe(), "name": None,
                           "tasks": [t.fingerprint() for t in self.tasks],
                           "general": self.general.fingerprint() if self.general else None},
                          sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:12]


class _Problems:
    def __init__(self, file: str):
        self.file, self.items = file, []

    def add(self, key: str, message: str, value: Any = None, hint: str = "") -> None:
        self.items.append(Problem(self.file, key, message, value, hint))


def parse(table: Any, file: str, tasks: Iterable[Task], *, model_kinds: Sequence[str] = (),
          methods: Sequence[str] = ()) -> tuple[list[Regime], list[Problem]]:
    """(regimes, problems) of a suite's `[regimes]` table.

    Task names resolve to the suite's tasks first, then the registry. `model_kinds` and
    `methods` (the suite's model kinds and method labels), when given, are checked too.
    """
    from bench.tasks import TASKS

    known = {**TASKS, **{t.name: t for t in tasks}}
    out = _Problems(file)
    if not isinstance(table, dict):
        out.add("regimes", "must be a table of regimes", table,
                "write [regimes.sequential] with order = [...]")
        return [], out.items
    regimes = []
    for name, body in table.items():
        regime = _regime(str(name), body, known, out, methods)
        if regime is not None:
            regimes.append(regime)
            if model_kinds and _kind_of(regime) not in model_kinds:
                out.add(f"regimes.{name}", f"no model of the suite is a {_kind_of(regime)} "
                        f"model, which the tasks {[t.name for t in regime.tasks]} need",
                        hint="add such a model under [[models]] or drop the regime")
    return regimes, out.items


def validate(table: Any, file: str, tasks: Iterable[Task], *, model_kinds: Sequence[str] = (),
             methods: Sequence[str] = ()) -> list[Problem]:
    """Every problem of a `[regimes]` table (empty when it is fine)."""
    return parse(table, file, tasks, model_kinds=model_kinds, methods=methods)[1]


def _kind_of(regime: Regime) -> str:
    return "causal_lm" if regime.instruction else "seq_cls"


def _regime(name: str, body: Any, known: dict[str, Task], out: _Problems,
            methods: Sequence[str]) -> Regime | None:
    where = f"regimes.{name}"
    if not isinstance(body, dict):
        out.add(where, "must be a table", body, f"write [{where}] with its keys below it")
        return None
    kind = body.get("kind", name)
    if kind not in KINDS:
        out.add(f"{where}.kind", "unknown regime kind (the table name is the kind unless "
                "`kind` is set)", kind, f"kind = one of {', '.join(KINDS)}")
        return None
    before = len(out.items)
    for key in body:
        if key not in KEYS[kind]:
            out.add(f"{where}.{key}", f"unknown key for a {kind} regime",
                    hint=did_you_mean(key, KEYS[kind]))
    tasks = _tasks(body, "tasks" if kind == "multitask" else "order", where, known, out)
    general = _general(body, where, known, tasks, out) if kind == "sequential" else None
    fields = _options(body, kind, where, out)
    labels = body.get("methods", [])
    if not isinstance(labels, list) or not all(isinstance(m, str) for m in labels):
        out.add(f"{where}.methods", "must be a list of method labels", labels)
        labels = []
    for label in labels:
        if methods and label not in methods:
            out.add(f"{where}.methods", f"no method table {label!r}", label,
                    did_you_mean(label, methods))
    if len(out.items) > before or tasks is None:
        return None
    return Regime(name=name, kind=kind, tasks=tasks, general=general,
                  methods=tuple(labels), **fields)


def _tasks(body: dict, key: str, where: str, known: dict[str, Task],
           out: _Problems) -> tuple[Task, ...] | None:
    names = body.get(key)
    if (not isinstance(names, list) or len(names) < 2
            or not all(isinstance(n, str) for n in names)):
        out.add(f"{where}.{key}", "must list at least two task names", names,
                f'{key} = ["sst2", "rte"]')
        return None
    if len(set(names)) != len(names):
        out.add(f"{where}.{key}", "names a task twice", names)
        return None
    unknown = [n for n in names if n not in known]
    for n in unknown:
        out.add(f"{where}.{key}", f"unknown task {n!r}", n, did_you_mean(n, known))
    if unknown:
        return None
    tasks = tuple(known[n] for n in names)
    return tasks if _same_family(tasks, f"{where}.{key}", out) else None


def _same_family(tasks: tuple[Task, ...], key: str, out: _Problems) -> bool:
    """All instruction tasks (one causal LM), or all classification tasks (one encoder
    whose classifier holds every task's classes); each scored by a higher-is-better metric."""
    kinds = {t.kind for t in tasks}
    ok = True
    if "regression" in kinds:
        out.add(key, "regression tasks cannot share a classifier with other tasks",
                [t.name for t in tasks if t.kind == "regression"],
                "use classification or instruction tasks in a regime")
        ok = False
    elif len(kinds) > 1:
        out.add(key, "mixes instruction tasks (causal LMs) with classification tasks "
                "(models with a head)", [f"{t.name} ({t.kind})" for t in tasks],
                "use tasks of one kind in a regime")
        ok = False
    for t in tasks:
        if t.primary in LOWER_IS_BETTER:
            out.add(key, f"task {t.name!r} is scored by {t.primary!r} (lower is better); "
                    "regimes average higher-is-better primary metrics", t.name)
            ok = False
    return ok


def _general(body: dict, where: str, known: dict[str, Task],
             tasks: tuple[Task, ...] | None, out: _Problems) -> Task | None:
    name = body.get("general")
    if name is None:
        return None
    task = known.get(name) if isinstance(name, str) else None
    if task is None or task.kind != "instruction":
        out.add(f"{where}.general", "must name an instruction task (its response loss is "
                "the general-text loss)", name,
                did_you_mean(str(name), [k for k, t in known.items()
                                         if t.kind == "instruction"]))
        return None
    if tasks is not None and tasks[0].kind != "instruction":
        out.add(f"{where}.general", "applies to causal LMs only (instruction tasks in "
                "`order`)", name, "drop `general` for classification tasks")
        return None
    return task


def _options(body: dict, kind: str, where: str, out: _Problems) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    trials = body.get("trials")
    if trials is not None:
        if not _positive_int(trials):
            out.add(f"{where}.trials", "must be a positive integer", trials)
        fields["trials"] = trials
    if kind != "multitask":
        return fields
    sampling = body.get("sampling", "proportional")
    if sampling not in SAMPLINGS:
        out.add(f"{where}.sampling", "unknown sampling", sampling,
                f"one of {', '.join(SAMPLINGS)}")
    temperature = body.get("temperature", 1.0)
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float)) \
            or temperature <= 0:
        out.add(f"{where}.temperature", "must be a number > 0", temperature)
    elif "temperature" in body and sampling != "temperature":
        out.add(f"{where}.temperature", f"is used by sampling = \"temperature\" only "
                f"(sampling is {sampling!r})", temperature, 'set sampling = "temperature"')
    size = body.get("size")
    if size is not None and not _positive_int(size):
        out.add(f"{where}.size", "must be a positive integer", size)
    return fields | {"sampling": sampling, "temperature": float(temperature)
                     if isinstance(temperature, (int, float)) else 1.0, "size": size}


def _positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0
