"""One classifier for several classification tasks: the union of their classes, each task
reading only its own slots.

An encoder with a head is loaded with `sum(n_t)` outputs; task t owns the slots
`[offset_t, offset_t + n_t)`. Training and evaluation of task t see only those logits
(`TaskView`: its logits, its own class ids), and a mixed batch masks every example's
logits to its task's slots before the softmax (`UnionHead`). So the softmax of each task
is over its own classes exactly as with separate per-task heads on a shared body (the
method's trainable head is the union; another task's rows get no gradient from a batch
without that task; AdamW's decoupled weight decay still shrinks them slightly, as it does
any idle weight). Imported only by `bench.regimes.execute` (it imports torch at module
level).
"""
from __future__ import annotations

from typing import Any, Sequence

import torch
from torch import nn


def offsets(sizes: Sequence[int]) -> list[int]:
    """The first slot of each task."""
    out, at = [], 0
    for n in sizes:
        out.append(at)
        at += n
    return out


class _Output(dict):
    """A minimal model output: `.loss` and `.logits` (what fit and evaluate read)."""

    __getattr__ = dict.get


class TaskView(nn.Module):
    """Task t's slice of a union classifier: logits of its classes, labels in its ids."""

    def __init__(self, model: Any, offset: int, n: int):
        super().__init__()
        self.model, self.offset, self.n = model, offset, n

    def forward(self, labels: Any = None, **batch: Any) -> _Output:
        logits = self.model(**batch).logits[:, self.offset:self.offset + self.n]
        loss = None if labels is None else nn.functional.cross_entropy(logits, labels)
        return _Output(loss=loss, logits=logits)


class UnionHead(nn.Module):
    """A mixed batch: each example's logits masked to its task's slots (`task_id`), labels
    in union slot ids."""

    def __init__(self, model: Any, sizes: Sequence[int]):
        super().__init__()
        self.model = model
        mask = torch.zeros(len(sizes), sum(sizes), dtype=torch.bool)
        for t, (start, n) in enumerate(zip(offsets(sizes), sizes)):
            mask[t, start:start + n] = True
        self.register_buffer("slots", mask, persistent=False)

    def forward(self, task_id: Any, labels: Any = None, **batch: Any) -> _Output:
        logits = self.model(**batch).logits
        logits = logits.masked_fill(~self.slots[task_id], torch.finfo(logits.dtype).min)
        loss = None if labels is None else nn.functional.cross_entropy(logits, labels)
        return _Output(loss=loss, logits=logits)


class MixedCollate:
    """Collates (task id, example) pairs of a mixture: the task's collate plus `task_id`;
    labels shifted into union slots when `shift` holds the tasks' offsets."""

    def __init__(self, collate: Any, shift: Sequence[int] | None = None):
        self.collate, self.shift = collate, shift

    def __call__(self, items: list[dict[str, Any]]) -> dict[str, Any]:
        plain = [{k: v for k, v in ex.items() if k != "task_id"} for ex in items]
        if self.shift is not None:
            for ex, item in zip(plain, items):
                ex["labels"] = ex["labels"] + self.shift[item["task_id"]]
        batch = self.collate(plain)
        if self.shift is not None:
            batch["task_id"] = torch.tensor([ex["task_id"] for ex in items])
        return batch
