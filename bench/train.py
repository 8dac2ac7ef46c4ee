"""The training loop: one lean `fit` shared by every method, task and trial.

AdamW (no decay on biases and norm weights), linear warm-up/decay, gradient clipping and
accumulation, with device placement and mixed precision from `accelerate`. Validation at
`spec.eval_points` evenly spaced steps goes to `on_eval` (the tuner's pruning hook; what it
raises propagates). A NaN/inf loss raises `Diverged`; CUDA out-of-memory propagates
untouched. The loss is read back from the device once every `CHECK_EVERY` steps rather than
every step, yet the divergent step is reported exactly (docs/training.md: the costs).
"""
from __future__ import annotations

import math
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Sequence

from bench.accel import PRECISIONS, make_accelerator, release, resolve_precision
from bench.defaults import TrainSpec
from bench.errors import DataError
from bench.evaluate import Evaluation, evaluate, make_evaluate_fn, wall_clock
from bench.optim import build_optimizer, lr_factor, param_groups
from bench.team import Stop, Team, coordinated

__all__ = ["CHECK_EVERY", "PRECISIONS", "Diverged", "Evaluation", "FitResult",
           "build_optimizer", "evaluate", "fit", "lr_factor", "make_accelerator",
           "make_evaluate_fn", "param_groups", "resolve_precision"]

# Optimizer steps between loss read-backs. Each read-back is a device sync; the step a loss
# went non-finite is still reported exactly, at most CHECK_EVERY - 1 steps late.
CHECK_EVERY = 8

EvaluateFn = Callable[[Any, Sequence[dict]], dict[str, float]]


class Diverged(RuntimeError):
    """The training loss became NaN or infinite: the trial failed, the study goes on."""

    def __init__(self, step: int, loss: float):
        self.step = step
        self.loss = loss
        super().__init__(f"training loss became {loss} at optimizer step {step}")


@dataclass(frozen=True)
class FitResult:
    """What one `fit` did: steps, throughput counts, wall time by phase, validation history.

    history: one entry per evaluation point, `{"step", "metrics", "train_loss"}` plus
        `"value"` (= metrics[metric]) when `fit` was given a `metric`.
    final_metrics: the validation metrics of the last evaluation ({} without evaluate_fn).
    train_tokens: non-padding tokens (attention-mask sum) of all micro-batches trained on.
    train_s / eval_s: wall seconds in training and in evaluation (CUDA synchronised).
    """

    steps: int
    train_samples: int
    train_tokens: int
    train_s: float
    eval_s: float
    history: list[dict[str, Any]] = field(default_factory=list)
    final_metrics: dict[str, float] = field(default_factory=dict)
    loss_last: float = math.nan


def total_steps(n_train: int, spec: TrainSpec) -> int:
    """Optimizer steps of a fit: max_steps, else ceil(epochs × batches / grad_accum)."""
    if spec.max_steps:
        return int(spec.max_steps)
    batches = math.ceil(n_train / spec.batch_size)
    return max(1, math.ceil(spec.epochs * batches / spec.grad_accum))


def eval_steps(total: int, points: int) -> tuple[int, ...]:
    """`points` evenly spaced optimizer steps in 1..total, the last one being `total`."""
    points = max(1, min(points, total))
    return tuple(sorted({math.ceil(k * total / points) for k in range(1, points + 1)}))


def _index_batches(n: int, batch_size: int, generator: Any) -> Iterator[list[int]]:
    """Endless seeded micro-batches of example indices: a fresh permutation per epoch."""
    import torch

    while True:
        order = torch.randperm(n, generator=generator).tolist()
        for start in range(0, n, batch_size):
            yield order[start:start + batch_size]


class _Losses:
    """Micro-batch losses kept on the device and read back in one transfer per check."""

    def __init__(self, grad_accum: int):
        self.accum = grad_accum
        self.pending: list[Any] = []
        self.first_step = 1  # optimizer step of pending[0]
        self.sum, self.count, self.last = 0.0, 0, math.nan

    def check(self, next_step: int, team: Team | None = None) -> None:
        """Read pending losses back; raise Diverged at the first non-finite one (in a
        team, at the first one on any rank, on every rank: a coordination point)."""
        import torch

        values = torch.stack(self.pending).tolist() if self.pending else []
        self.pending.clear()
        bad = next((i for i, v in enumerate(values) if not math.isfinite(v)), None)
        step = math.inf if bad is None else self.first_step + bad // self.accum
        if team is not None:
            step = team.reduce([step], "min")[0]
        if step != math.inf:
            loss = values[bad] if bad is not None else math.nan
            raise coordinated(Diverged(int(step), loss))
        if not values:
            return
        self.sum += sum(values)
        self.count += len(values)
        self.last = sum(values[-self.accum:]) / min(self.accum, len(values))
        self.first_step = next_step

    def mean_since_last(self) -> float:
        """Mean micro-batch loss since the previous call (for the history)."""
        mean = self.sum / self.count if self.count else math.nan
        self.sum, self.count = 0.0, 0
        return mean


@dataclass
class _Run:
    """The state one `fit` loop reads and updates (built by `fit`)."""

    applied: Any
    model: Any
    optimizer: Any
    schedule: Any
    accelerator: Any
    train: Sequence[dict]
    validation: Sequence[dict]
    collate: Callable[[list[dict]], Any]
    evaluate_fn: EvaluateFn | None
    on_eval: Callable[[int, dict[str, float]], None] | None
    progress: Callable[[int, int], None] | None
    metric: str | None
    losses: _Losses
    team: Team | None = None  # the ranks of a data-parallel trial (bench/team.py)
    samples: int = 0
    tokens: int = 0
    eval_s: float = 0.0
    history: list[dict[str, Any]] = field(default_factory=list)
    final: dict[str, float] = field(default_factory=dict)


def fit(applied: Any, train: Sequence[dict], validation: Sequence[dict], spec: TrainSpec, *,
        collate: Callable[[list[dict]], Any], evaluate_fn: EvaluateFn | None = None,
        on_eval: Callable[[int, dict[str, float]], None] | None = None, seed: int = 0,
        accelerator: Any = None, progress: Callable[[int, int], None] | None = None,
        metric: str | None = None, team: Team | None = None) -> FitResult:
    """Train `applied.model` on `train`; evaluate on `validation` at `spec.eval_points`.

    batch_size examples per micro-batch, grad_accum micro-batches per optimizer step (an
    effective batch of batch_size × grad_accum); micro-batches run on across epoch ends so
    every optimizer step sees grad_accum of them. `seed` fixes the shuffling and dropout.
    `metric` names the metric copied into each history entry's "value".
    `progress(step, total)` is called every CHECK_EVERY steps and at the end.
    Raises Diverged on a non-finite loss; on_eval's exceptions propagate.
    `team`: train data-parallel with the other ranks of a launch (bench/team.py): each
    takes its share of every micro-batch, only the leader evaluates and calls on_eval.
    """
    import torch

    if not train:
        raise DataError("no training examples: the train split is empty; fix: check the "
                        "task's train file and [train] max_train_samples")
    accelerator = accelerator or make_accelerator(spec.precision)
    if accelerator.gradient_accumulation_steps != 1:
        raise ValueError("fit accumulates gradients itself (spec.grad_accum): pass an "
                         "Accelerator with gradient_accumulation_steps=1")
    torch.manual_seed(seed)  # dropout; the model's own init was seeded by the caller
    total = total_steps(len(train), spec)
    with team.section() if team is not None else nullcontext():
        model = accelerator.prepare(applied.model)
        optimizer, schedule = build_optimizer(model, spec, total)
        optimizer = accelerator.prepare(optimizer)
        # accelerate steps a prepared scheduler once per process per call (it assumes
        # each rank sees 1/N of the data loader's batches): with a team the schedule would
        # run N times too fast, so there the plain scheduler steps once per step.
        schedule = schedule if team is not None else accelerator.prepare(schedule)
        run = _Run(applied, model, optimizer, schedule, accelerator, train, validation,
                   collate, evaluate_fn, on_eval, progress, metric, _Losses(spec.grad_accum),
                   team)
        try:
            return _loop(run, spec, total, seed)
        finally:
            release(accelerator)


def _loop(run: _Run, spec: TrainSpec, total: int, seed: int) -> FitResult:
    """The optimizer steps of `fit`, with loss checks and evaluation points."""
    import torch

    device, clip = run.accelerator.device, spec.max_grad_norm
    params = [p for g in run.optimizer.param_groups for p in g["params"]]
    points = set(eval_steps(total, spec.eval_points)) if run.evaluate_fn else set()
    batches = _index_batches(len(run.train), spec.batch_size,
                             torch.Generator().manual_seed(seed))
    run.model.train()
    run.optimizer.zero_grad(set_to_none=True)
    start = wall_clock(device)
    for step in range(1, total + 1):
        _accumulate(run, batches, spec.grad_accum, device)
        if clip:
            run.accelerator.clip_grad_norm_(params, clip)
        run.optimizer.step()
        run.schedule.step()
        if run.applied.on_step is not None:  # before zero_grad: AdaLoRA reads the gradients
            run.applied.on_step(step)
        run.optimizer.zero_grad(set_to_none=True)
        if step % CHECK_EVERY == 0 or step in points or step == total:
            run.losses.check(step + 1, run.team)  # before evaluating possibly-NaN weights
            if run.progress is not None:
                run.progress(step, total)
        if step in points:
            _evaluate_point(run, step, device)
    train_s = wall_clock(device) - start - run.eval_s
    if run.team is not None:  # every rank trained on its share: the trial's counts
        run.samples, run.tokens = map(int, run.team.reduce([run.samples, run.tokens], "sum"))
    return FitResult(steps=total, train_samples=run.samples, train_tokens=run.tokens,
                     train_s=train_s, eval_s=run.eval_s, history=run.history,
                     final_metrics=dict(run.final), loss_last=run.losses.last)


def _accumulate(run: _Run, batches: Iterator[list[int]], accum: int, device: Any) -> None:
    """Forward and backward `accum` micro-batches; gradients sum to the mean over them.
    In a team each rank takes its share of every micro-batch (Team.shard) and DDP
    all-reduces the gradients once, after the last micro-batch of the step."""
    for micro in range(accum):
        idx, weight = next(batches), 1.0
        if run.team is not None:
            idx, weight = run.team.shard(idx)
        batch = run.collate([run.train[i] for i in idx])
        if weight:
            run.samples += len(idx)
            run.tokens += int(batch["attention_mask"].sum())  # CPU tensor: no device sync
        batch = {k: v.to(device, non_blocking=True) for k, v in batch.items()}
        sync = run.team is None or micro == accum - 1
        with nullcontext() if sync else run.accelerator.no_sync(run.model):
            loss = run.model(**batch).loss
            run.losses.pending.append(loss.detach())  # read back in blocks by _Losses.check
            scale = weight / accum
            run.accelerator.backward(loss * scale if scale != 1.0 else loss)


def _evaluate_point(run: _Run, step: int, device: Any) -> None:
    """Evaluate (the leader of a team alone), then every rank learns the leader's verdict:
    go on, or stop (pruned, or the evaluation failed) — a coordination point."""
    if run.team is None:
        return _evaluate_here(run, step, device)
    if not run.team.leader:
        verdict = run.team.broadcast(None)
        if verdict is not None:
            raise Stop(f"the leader stopped the trial: {verdict}")
        return None
    try:
        _evaluate_here(run, step, device)
    except BaseException as exc:
        run.team.broadcast(f"{type(exc).__name__}: {exc}")
        raise coordinated(exc)
    run.team.broadcast(None)
    return None


def _evaluate_here(run: _Run, step: int, device: Any) -> None:
    """Evaluate on validation, record the history entry, hand the metrics to on_eval."""
    t0 = wall_clock(device)
    # Not through the DDP wrapper: its forward would wait for the other ranks.
    model = run.model if run.team is None else run.accelerator.unwrap_model(run.model)
    run.final = run.evaluate_fn(model, run.validation)
    run.eval_s += wall_clock(device) - t0
    run.model.train()
    entry = {"step": step, "metrics": run.final, "train_loss": run.losses.mean_since_last()}
    if run.metric is not None:
        entry["value"] = run.final[run.metric]
    run.history.append(entry)
    if run.on_eval is not None:
        run.on_eval(step, run.final)
