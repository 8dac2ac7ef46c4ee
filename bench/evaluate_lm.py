"""Causal-LM evaluation of instruction tasks: response loss, perplexity, token accuracy,
and for short-answer tasks accuracy by answer ranking and exact match by greedy generation.

- `loss`: mean next-token negative log-likelihood over the response tokens (labels that
  are not -100), weighted by tokens across the split; `perplexity` = exp(loss);
  `token_accuracy`: the share of response tokens the model's argmax predicts.
- `accuracy` (and any other classification metric the task lists): rank classification,
  as T0/FLAN evaluate multiple choice: every class's answer (its tokens plus the end of
  turn) is appended to the prompt, and the class whose answer has the highest total
  log-likelihood is the prediction. Needs the `choices` that `bench.tasks.instruct` stores.
- `exact_match` (when the task lists it): greedy generation from the prompt, compared with
  the reference answer after lower-casing and trimming spaces and punctuation.

Prompt-learning methods prepend virtual tokens, so the logits are read off the last
positions (as many as the input has). Predictions kept for the paired bootstrap are the
class ids for short-answer tasks, else the per-example mean NLL (labels: token counts).
"""
from __future__ import annotations

import contextlib
import math
import string
from typing import Any, Callable, Sequence

from bench.evaluate import Evaluation, wall_clock

MAX_NEW_TOKENS = 32  # generation budget for free-form exact match


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
            nll, counts, correct = response_nll(model, examples, collate, batch_size, device)
            metrics = _lm_metrics(nll, counts, correct)
            preds, labels = [n / max(c, 1) for n, c in zip(nll, counts)], counts
            if all("choices" in e for e in examples):
                preds, labels = rank_answers(model, examples, collate, batch_size, device)
                metrics |= _class_metrics(task, preds, labels)
            if "exact_match" in task.metrics:
                metrics["exact_match"] = exact_match(model, examples, collate, batch_size,
                                                     device)
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
    """Per-sequence summed next-token NLL, target count and correctly predicted targets."""
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
    return {"loss": loss, "perplexity": math.exp(min(loss, 700.0)),
            "token_accuracy": sum(correct) / tokens}


def answer_sequences(ex: dict) -> list[dict]:
    """The example's prompt followed by each class's answer, labelled on the answer only."""
    prompt = ex["input_ids"][:ex["prompt_len"]]
    return [{"input_ids": prompt + c, "attention_mask": [1] * (len(prompt) + len(c)),
             "labels": [-100] * len(prompt) + c} for c in ex["choices"]]


def rank_answers(model: Any, examples: Sequence[dict], collate: Callable, batch_size: int,
                 device: Any) -> tuple[list[int], list[int]]:
    """(predicted class ids, gold class ids): the most likely answer of each example."""
    n_choices = len(examples[0]["choices"])
    seqs = [s for ex in examples for s in answer_sequences(ex)]
    scores, _, _ = response_nll(model, seqs, collate, batch_size, device)
    preds = [min(range(n_choices), key=lambda c: scores[i * n_choices + c])
             for i in range(len(examples))]
    return preds, [int(ex["answer"]) for ex in examples]


def _class_metrics(task: Any, preds: list[int], labels: list[int]) -> dict[str, float]:
    """Accuracy plus the task's other classification metrics on the ranked answers."""
    from bench.tasks.metrics import METRICS

    names = ["accuracy", *(m for m in task.metrics if m in METRICS and m != "accuracy")]
    return {m: METRICS[m](preds, labels) for m in names}


def normalize(text: str) -> str:
    """Lower-cased, whitespace-collapsed, without surrounding punctuation."""
    return " ".join(text.lower().split()).strip(string.punctuation + " ")


def exact_match(model: Any, examples: Sequence[dict], collate: Callable, batch_size: int,
                device: Any) -> float:
    """Share of examples whose greedy generation (cut at the end token) equals the reference
    answer after `normalize`; compared as token ids when the collate has no tokenizer."""
    import torch

    tokenizer = getattr(collate, "tokenizer", None)
    pad = int(getattr(collate, "pad_id", 0))
    limit = (max(len(c) for c in examples[0]["choices"])
             if all("choices" in e for e in examples) else MAX_NEW_TOKENS)
    hits = 0
    for start in range(0, len(examples), batch_size):
        chunk = examples[start:start + batch_size]
        prompts = [e["input_ids"][:e["prompt_len"]] for e in chunk]
        width = max(len(p) for p in prompts)  # left padding: generation continues the prompt
        ids = torch.tensor([[pad] * (width - len(p)) + p for p in prompts], device=device)
        mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in prompts],
                            device=device)
        out = model.generate(input_ids=ids, attention_mask=mask, max_new_tokens=limit,
                             do_sample=False, pad_token_id=pad)
        for e, new in zip(chunk, out[:, width:].tolist()):
            reference = [t for t in e["labels"][e["prompt_len"]:] if t != -100]
            new = _until(new, reference[-1] if reference else None)
            hits += (normalize(tokenizer.decode(new, skip_special_tokens=True))
                     == normalize(e["target"])) if tokenizer is not None else new == reference
    return hits / len(examples)


def _until(ids: list[int], end: int | None) -> list[int]:
    """`ids` up to and including the first `end` token."""
    return ids[:ids.index(end) + 1] if end is not None and end in ids else ids
