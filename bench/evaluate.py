"""Evaluation: a model's per-example predictions, task metrics and mean loss on a split.

Used by `bench.train.fit` at its evaluation points (through `make_evaluate_fn`) and by
the runner for the final held-out evaluation, whose per-example predictions feed the
paired bootstrap in the report.
"""
from __future__ import annotations

import contextlib
import math
import time
from dataclasses import dataclass
from typing import Any, Callable, Sequence


@dataclass(frozen=True)
class Evaluation:
    """Metrics (including "loss") and the per-example predictions behind them.

    preds/labels: class ids (classification), floats (regression), or per-example mean
    token NLL and target-token counts (instruction).
    """

    metrics: dict[str, float]
    preds: list
    labels: list
    loss: float
    seconds: float


def _device_of(model: Any) -> Any:
    """The device of the model's first parameter (where batches must go)."""
    return next(model.parameters()).device


def wall_clock(device: Any) -> float:
    """The wall clock, after waiting for queued CUDA work so that timings are honest."""
    if device.type == "cuda":
        import torch

        torch.cuda.synchronize(device)
    return time.perf_counter()


def _keep_4bit_trainable(model: Any) -> None:
    """Stop bitsandbytes repacking 4-bit weights for CPU inference during evaluation.

    bitsandbytes 0.50 repacks a Linear4bit's weights the first time it runs in eval mode
    without grad on a CPU with AVX512-BF16, and the repacked layer then fails in training
    ("a view of a leaf Variable ... in-place operation") at the next step after an
    evaluation point. Evaluating through the training kernel keeps it trainable (and the
    numbers identical to what training sees).
    """
    for module in model.modules():
        if getattr(module, "support_avx512bf16_for_cpu", False):
            module.support_avx512bf16_for_cpu = False


def _token_nll(logits: Any, labels: Any) -> tuple[Any, Any]:
    """Per-example summed next-token NLL and target-token counts (labels -100 ignored)."""
    import torch

    logits, labels = logits[:, :-1].float(), labels[:, 1:]
    nll = torch.nn.functional.cross_entropy(logits.transpose(1, 2), labels,
                                            ignore_index=-100, reduction="none")
    return nll.sum(1), (labels != -100).sum(1)


def _run(model: Any, examples: Sequence[dict], collate: Callable, batch_size: int,
         kind: str, device: Any) -> tuple[Any, Any, Any, Any]:
    """Forward passes over `examples`: (preds, labels, loss sum, loss weight) on device."""
    import torch

    preds, labels = [], []
    loss_sum = torch.zeros((), device=device, dtype=torch.float64)
    weight = torch.zeros((), device=device, dtype=torch.float64)
    for start in range(0, len(examples), batch_size):
        batch = collate(list(examples[start:start + batch_size]))
        batch = {k: v.to(device, non_blocking=True) for k, v in batch.items()}
        out = model(**batch)
        if kind == "instruction":
            nll, count = _token_nll(out.logits, batch["labels"])
            loss_sum += nll.sum()
            weight += count.sum()
            preds.append(nll / count.clamp(min=1))
            labels.append(count)
            continue
        n = batch["labels"].shape[0]
        loss_sum += out.loss.detach().double() * n  # batch mean × size = exact total
        weight += n
        logits = out.logits.detach()
        preds.append(logits.squeeze(-1).float() if kind == "regression" else logits.argmax(-1))
        labels.append(batch["labels"])
    return torch.cat(preds), torch.cat(labels), loss_sum, weight


def evaluate(model: Any, examples: Sequence[dict], *, collate: Callable, batch_size: int,
             task: Any, accelerator: Any = None) -> Evaluation:
    """Evaluate `model` on `examples` (eval mode, no grad); restores its train/eval mode.

    Classification predictions are the argmax class, regression the squeezed logit; the
    task metrics come from `bench.tasks.metrics.compute` and `metrics["loss"]` is the mean
    loss per example (per target token for instruction tasks, which report perplexity).
    """
    import torch

    from bench.errors import DataError

    if task.kind == "instruction":
        from bench.evaluate_lm import evaluate_lm  # response loss, answer ranking, generation

        return evaluate_lm(model, examples, collate=collate, batch_size=batch_size,
                           task=task, accelerator=accelerator)
    if not examples:
        raise DataError(f"task {task.name!r}: nothing to evaluate on (the split is empty); "
                        "fix: check the task's files and [train] max_eval_samples")
    device = accelerator.device if accelerator is not None else _device_of(model)
    autocast = accelerator.autocast() if accelerator is not None else contextlib.nullcontext()
    if device.type == "cpu":
        _keep_4bit_trainable(model)
    was_training = model.training
    model.eval()
    start = wall_clock(device)
    try:
        with torch.no_grad(), autocast:  # not inference_mode: models may cache tensors
            preds, labels, loss_sum, weight = _run(model, examples, collate, batch_size,
                                                   task.kind, device)
    finally:
        model.train(was_training)
    loss = (loss_sum / weight.clamp(min=1)).item()
    preds, labels = preds.cpu().tolist(), labels.cpu().tolist()
    seconds = wall_clock(device) - start
    return Evaluation(metrics=_metrics(task, preds, labels, loss), preds=preds,
                      labels=labels, loss=loss, seconds=seconds)


def _metrics(task: Any, preds: list, labels: list, loss: float) -> dict[str, float]:
    """Task metrics plus "loss" (instruction tasks: loss and perplexity)."""
    if task.kind == "instruction":
        return {"loss": loss, "perplexity": math.exp(min(loss, 700.0))}
    from bench.tasks.metrics import compute

    return {**compute(task, preds, labels), "loss": loss}


def make_evaluate_fn(task: Any, collate: Callable, batch_size: int,
                     accelerator: Any = None) -> Callable[[Any, Sequence[dict]], dict]:
    """The `evaluate_fn(model, examples) -> metrics` that `bench.train.fit` calls."""

    def evaluate_fn(model: Any, examples: Sequence[dict]) -> dict[str, float]:
        return evaluate(model, examples, collate=collate, batch_size=batch_size, task=task,
                        accelerator=accelerator).metrics

    return evaluate_fn
