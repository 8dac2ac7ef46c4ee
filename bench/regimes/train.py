"""One training run of a regime cell: a fresh model, the method applied once, then trained
on the task mixture (multitask) or on the tasks in order (sequential), evaluated per task.

The base model and every task's tokenised splits are loaded once per regime cell
(`RegimeCache`), as `bench.trial` does for a cell. Encoders with a head get one classifier
over the union of the tasks' classes (`bench.regimes.heads`); causal LMs need none. The
method is applied once, so one adapter (or the whole model, for full fine-tuning) carries
every task. A sequential run starts each stage with a fresh optimizer and schedule, as if
the tasks arrived one after another.

General-text loss (sequential regimes with `general`, final runs only): the response loss
on the general task's test split, measured on the base model before the method is applied
(identical to the fine-tuned model with its adapters disabled) and after every stage.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from types import SimpleNamespace
from typing import Any

from bench.defaults import MONITOR_HZ
from bench.regimes.cells import RegimeCell


@dataclass
class RegimeCache:
    """What every trial of a regime cell shares: the base model and each task's data."""

    cell: RegimeCell
    base: Any  # None when it cannot be deep-copied (quantised): reloaded per trial
    tokenizer: Any
    tasks: list[Any]  # the regime's tasks, labels resolved
    data: list[Any]  # bench.tasks.prepare.Prepared per task
    general: Any | None  # Prepared of the general-text task (causal LMs)
    load_s: float
    counts: dict = field(default_factory=dict)

    @property
    def sizes(self) -> list[int]:
        """Classes per task (the union head's slots); zeros for free-form instruction tasks."""
        return [t.num_labels for t in self.tasks]

    @property
    def prepared(self) -> Any:  # what bench.trial.fresh_model reads to reload a model
        return SimpleNamespace(num_labels=sum(self.sizes) or None)


def load_regime(cell: RegimeCell, *, data_dir: str | None, base_dir: str,
                seed: int) -> RegimeCache:
    """Load the base model once and tokenise every task of the regime."""
    from bench.tasks.load import resolve_labels
    from bench.tasks.prepare import prepare
    from bench.trial import _load_model

    t0 = time.perf_counter()
    tasks = [resolve_labels(t, data_dir=data_dir, base_dir=base_dir) for t in cell.regime.tasks]
    model, tokenizer = _load_model(cell, seed, sum(t.num_labels for t in tasks) or None)
    spec = cell.train

    def prep(task):
        return prepare(task, tokenizer, max_length=spec.max_length, data_dir=data_dir,
                       base_dir=base_dir, max_train_samples=spec.max_train_samples,
                       max_eval_samples=spec.max_eval_samples, val_fraction=spec.val_fraction,
                       seed=0)

    general = cell.regime.general
    return RegimeCache(cell, None if cell.quantization else model, tokenizer, tasks,
                       [prep(t) for t in tasks], prep(general) if general else None,
                       time.perf_counter() - t0)


def execute(cache: RegimeCache, params: dict[str, Any], *, seed: int,
            split: str) -> dict[str, Any]:
    """Train once with `params`; evaluate every task on `split`; the record's fields plus
    `evals` (one entry per stage and evaluated task) and `general` (general-text losses)."""
    from bench.methods import METHODS
    from bench.methods._base import Context
    from bench.monitor import Monitor
    from bench.regimes.summary import summarize
    from bench.trial import fresh_model, split_params

    cell = cache.cell
    train_over, opt_over = split_params(params)
    spec = replace(cell.train, **train_over)
    t0 = time.perf_counter()
    with Monitor(hz=MONITOR_HZ) as mon:
        model = fresh_model(cache, seed)
        run = _Run(cache, spec, seed, split)
        if cache.general is not None and split == "test":
            run.general_point(model, 0, "base")
        applied = METHODS[cell.method](model, Context(kind=cell.model.kind, seed=seed,
                                                      total_steps=run.total_steps()),
                                       **cell.options, **opt_over)
        counts = _counts(cache, applied, opt_over)
        load_s = time.perf_counter() - t0
        (run.multitask if cell.regime.kind == "multitask" else run.sequential)(applied)
    return {"metrics": summarize(cell.regime, run.evals, run.general), "counts": counts,
            "meter": run.meter(mon.stats(), load_s), "evals": run.evals,
            "general": run.general}


def _counts(cache: RegimeCache, applied: Any, opt_over: dict) -> dict:
    from bench.count import count

    key = repr(sorted(opt_over.items()))
    if key not in cache.counts:
        cache.counts[key] = count(applied).as_dict()
    return cache.counts[key]


class _Run:
    """The stages of one regime trial and what they measured."""

    def __init__(self, cache: RegimeCache, spec: Any, seed: int, split: str):
        self.cache, self.spec, self.seed, self.split = cache, spec, seed, split
        self.evals: list[dict] = []
        self.general: list[dict] = []
        self.fits: list[Any] = []
        self.eval_s = 0.0

    def total_steps(self) -> int:
        from bench.train import total_steps

        regime, data = self.cache.cell.regime, self.cache.data
        if regime.kind == "multitask":
            return total_steps(regime.size or sum(len(d.train) for d in data), self.spec)
        return sum(total_steps(len(d.train), self.spec) for d in data)

    def multitask(self, applied: Any) -> None:
        """One fit on the mixture, then every task evaluated."""
        from bench.regimes.heads import MixedCollate, UnionHead, offsets
        from bench.regimes.mixture import mixture

        regime, data = self.cache.cell.regime, self.cache.data
        pairs = mixture([len(d.train) for d in data], regime.sampling, regime.temperature,
                        regime.size, self.seed)
        items = [dict(data[t].train[i], task_id=t) for t, i in pairs]
        if self.cache.cell.model.kind == "seq_cls":
            model = UnionHead(applied.model, self.cache.sizes)
            collate = MixedCollate(data[0].collate, offsets(self.cache.sizes))
        else:
            model, collate = applied.model, MixedCollate(data[0].collate)
        self._fit(replace(applied, model=model), items, collate)
        for j in range(len(data)):
            self.evaluate(applied.model, j, stage=1, train_task="mixture")

    def sequential(self, applied: Any) -> None:
        """Task after task; after each, every task seen so far (and the general text)."""
        for s, (task, data) in enumerate(zip(self.cache.tasks, self.cache.data), start=1):
            self._fit(replace(applied, model=self.view(applied.model, s - 1)), data.train,
                      data.collate)
            for j in range(s):
                self.evaluate(applied.model, j, stage=s, train_task=task.name)
            if self.cache.general is not None and self.split == "test":
                self.general_point(applied.model, s, task.name)

    def _fit(self, applied: Any, examples: list, collate: Any) -> None:
        from bench.train import fit

        self.fits.append(fit(applied, examples, [], self.spec, collate=collate,
                             seed=self.seed))

    def view(self, model: Any, j: int) -> Any:
        """Task j's view of the model: its slice of the union head (encoders), else itself."""
        if self.cache.cell.model.kind != "seq_cls":
            return model
        from bench.regimes.heads import TaskView, offsets

        return TaskView(model, offsets(self.cache.sizes)[j], self.cache.sizes[j])

    def evaluate(self, model: Any, j: int, *, stage: int, train_task: str) -> None:
        from bench.train import evaluate

        task, data = self.cache.tasks[j], self.cache.data[j]
        ev = evaluate(self.view(model, j), getattr(data, self.split), collate=data.collate,
                      batch_size=self.spec.eval_batch_size, task=task)
        self.eval_s += ev.seconds
        metrics = dict(ev.metrics) | {"loss": ev.loss}
        self.evals.append({"stage": stage, "train_task": train_task, "eval_task": task.name,
                           "split": self.split, "primary": task.primary,
                           "value": metrics.get(task.primary), "metrics": metrics})

    def general_point(self, model: Any, stage: int, after: str) -> None:
        from bench.train import evaluate

        g = self.cache.general
        ev = evaluate(model, g.test, collate=g.collate, batch_size=self.spec.eval_batch_size,
                      task=self.cache.cell.regime.general)
        self.eval_s += ev.seconds
        self.general.append({"stage": stage, "after": after, "split": "test",
                             "task": self.cache.cell.regime.general.name, "loss": ev.loss,
                             "perplexity": ev.metrics.get("perplexity")})

    def meter(self, stats: dict, load_s: float) -> dict:
        train_s = sum(f.train_s for f in self.fits)
        samples = sum(f.train_samples for f in self.fits)
        tokens = sum(f.train_tokens for f in self.fits)
        return dict(stats) | {
            "wall_load_s": load_s, "wall_train_s": train_s, "wall_eval_s": self.eval_s,
            "train_steps": sum(f.steps for f in self.fits), "train_samples": samples,
            "train_tokens": tokens, "samples_per_s": samples / max(train_s, 1e-9),
            "tokens_per_s": tokens / max(train_s, 1e-9)}
