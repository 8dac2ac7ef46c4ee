"""The task registry: name -> `Task` (plain data, cheap to import).

Adding a task is one `Task(...)` row in a module listed here (or an inline table in a
suite, see `bench.tasks.inline`).
"""
from __future__ import annotations

from bench.tasks.glue import GLUE, SUPERGLUE
from bench.tasks.instruct_tasks import INSTRUCT
from bench.tasks.spec import Task

TASKS: dict[str, Task] = {t.name: t for t in [*GLUE, *SUPERGLUE, *INSTRUCT]}

__all__ = ["TASKS", "Task"]
