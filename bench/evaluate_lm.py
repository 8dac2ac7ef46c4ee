"""Causal-LM evaluation of instruction tasks: response loss, perplexity, token accuracy,
exact match, and for short-answer tasks accuracy by ranking the answers.

- `loss`: mean next-token negative log-likelihood over the response tokens (labels that
  are not -100), weighted by tokens across the split; `perplexity` = exp(loss);
  `token_accuracy`: the share of response tokens that are the model's argmax.
- `exact_match`: the share of examples whose greedy decoding reproduces the reference
  response token for token, up to and including its end token. Computed exactly from the
  same teacher-forced pass, without generating: greedy decoding emits the reference iff
  every reference token is the argmax given the reference tokens before it.
- `accuracy` (and any other classification metric the task lists): rank classification,
  as T0/FLAN score multiple choice: every class's answer (its tokens plus the end token)
  is appended to the prompt, and the class whose answer has the highest total
  log-likelihood is the prediction. Needs the `choices` that `bench.tasks.instruct` stores;
  the loss, token accuracy and exact match are then read off the gold answer's rows of the
  same pass (the identical sequences), so a short-answer task costs one pass per class.

Prompt-learning methods prepend virtual tokens, so the logits are read off the last
positions (as many as the input has). Predictions kept for the paired bootstrap are the
class ids for short-answer tasks, else the per-example mean NLL (labels: token counts).
"""
from __future__ import annotations

import contextlib
import math
from typing import Any, Callable, Sequence

from bench.evaluate import Evaluation, wall_clock


def evaluate_lm(model: Any, examples: Sequence[dict], *, collate: Callable, batch_size: int,
                task: Any, accelerator: Any = None) -> Evaluation:
    """Evaluate a causal LM on tokenized instruction `examples` (eval mode, no grad)."""
    import torch

    from bench.errors import DataError
    from bench.evaluate import _keep_4bit_trainable

    if not examples:
        raise DataError(f"task {task.name!r}: nothing to evaluate on (the split is empty); "
                        "fix: check the task's files and [train] max_eval_samples")
    device = accelerator.device if accelerator is not None else next(model.parameters()).device
    autocast = accelerator.autocast() if accelerator is not None else contextlib.nullcontext()
    if device.type == "cpu":
        _keep_4bit_trainable(model)
    was_training = model.training
    model.eval()
    start = wall_clock(device)
    try:
        with torch.no_grad(), autocast:
            if all("choices" in e for e in examples):
                preds, labels, stats = rank_answers(model, examples, collate, batch_size,
                                                    device)
                metrics = _lm_metrics(*stats) | _class_metrics(task, preds, labels)
            else:
                stats = response_nll(model, examples, collate, batch_size, device)
                metrics = _lm_metrics(*stats)
                preds = [n / max(c, 1) for n, c in zip(stats[0], stats[1])]
                labels = stats[1]
    finally:
        model.train(was_training)
    return Evaluation(metrics=metrics, preds=preds, labels=labels, loss=metrics["loss"],
                      seconds=wall_clock(device) - start)


def _forward(model: Any, batch: dict, device: Any) -> tuple[Any, Any]:
    """(logits aligned with the input positions, labels) of one collated batch."""
    batch = {k: v.to(device, non_blocking=True) for k, v in batch.items()}
    labels = batch.pop("labels")
    logits = model(**batch).logits
    return logits[:, -labels.shape[1]:].float(), labels  # drop virtual-token positions


def _token_stats(logits: Any, labels: Any) -> tuple[Any, Any, Any]:
    """Per-sequence summed next-token NLL, target count and targets that are the argmax."""
    import torch

    logits, labels = logits[:, :-1], labels[:, 1:]
    nll = torch.nn.functional.cross_entropy(logits.transpose(1, 2), labels,
                                            ignore_index=-100, reduction="none")
    mask = labels != -100
    correct = ((logits.argmax(-1) == labels) & mask).sum(1)
    return nll.sum(1), mask.sum(1), correct


def response_nll(model: Any, examples: Sequence[dict], collate: Callable, batch_size: int,
                 device: Any) -> tuple[list[float], list[int], list[int]]:
    """Per example: summed response NLL, response tokens, tokens predicted right."""
    nll, counts, correct = [], [], []
    for start in range(0, len(examples), batch_size):
        logits, labels = _forward(model, collate(list(examples[start:start + batch_size])),
                                  device)
        s, c, k = _token_stats(logits, labels)
        nll += s.double().cpu().tolist()
        counts += c.cpu().tolist()
        correct += k.cpu().tolist()
    return nll, counts, correct


def _lm_metrics(nll: list[float], counts: list[int], correct: list[int]) -> dict[str, float]:
    tokens = max(sum(counts), 1)
    loss = sum(nll) / tokens
    exact = sum(c == k and c > 0 for c, k in zip(counts, correct)) / max(len(counts), 1)
    return {"loss": loss, "perplexity": math.exp(min(loss, 700.0)),
            "token_accuracy": sum(correct) / tokens, "exact_match": exact}


def answer_sequences(ex: dict) -> list[dict]:
    """The example's prompt followed by each class's answer, labelled on the answer only."""
    prompt = ex["input_ids"][:ex["prompt_len"]]
    return [{"input_ids": prompt + c, "attention_mask": [1] * (len(prompt) + len(c)),
             "labels": [-100] * len(prompt) + c} for c in ex["choices"]]


def rank_answers(model: Any, examples: Sequence[dict], collate: Callable, batch_size: int,
                 device: Any) -> tuple[list[int], list[int], tuple[list, list, list]]:
    """(predicted class ids, gold class ids, response stats of the gold answers): the most
    likely answer of each example, and `response_nll`'s numbers for the reference."""
    n = len(examples[0]["choices"])
    seqs = [s for ex in examples for s in answer_sequences(ex)]
    nll, counts, correct = response_nll(model, seqs, collate, batch_size, device)
    preds = [min(range(n), key=lambda c: nll[i * n + c]) for i in range(len(examples))]
    gold = [i * n + int(ex["answer"]) for i, ex in enumerate(examples)]
    return preds, [int(ex["answer"]) for ex in examples], (
        [nll[g] for g in gold], [counts[g] for g in gold], [correct[g] for g in gold])


def _class_metrics(task: Any, preds: list[int], labels: list[int]) -> dict[str, float]:
    """Accuracy plus the task's other classification metrics on the ranked answers."""
    from bench.tasks.metrics import METRICS

    names = ["accuracy", *(m for m in task.metrics if m in METRICS and m != "accuracy")]
    return {m: METRICS[m](preds, labels) for m in names}
