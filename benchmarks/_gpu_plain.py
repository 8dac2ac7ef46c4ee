"""The plain-PyTorch reference arm of benchmarks/gpu.py: the same model and batch shape
trained by a hand-written loop (autocast, fused AdamW, clipping, nothing else: no
accelerate, no Monitor, no loss checks), so a low MFU can be told apart from bench's
overhead. Inputs are random token ids filling max_length, as the generated task does.
"""
from __future__ import annotations

import time
from typing import Any, Callable


def train_step(model: Any, opt: Any, batch: dict, precision: str,
               device: str = "cuda") -> None:
    """One optimizer step: autocast forward (bf16/fp16; plain fp32 otherwise), backward,
    clipping at 1.0, fused AdamW."""
    import torch

    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(precision)
    with torch.autocast(device, dtype=dtype or torch.float32, enabled=dtype is not None):
        loss = model(**batch).loss
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    opt.zero_grad(set_to_none=True)


def timed_ms(step: Callable[[int], None], steps: int, warmup: int = 5) -> float:
    """Mean ms per call of `step(i)` over `steps` calls after `warmup` untimed ones, CUDA
    synchronised around the timed block."""
    import torch

    sync = torch.cuda.synchronize if torch.cuda.is_available() else (lambda: None)
    for i in range(warmup):
        step(i)
    sync()
    t0 = time.perf_counter()
    for i in range(steps):
        step(i)
    sync()
    return 1000 * (time.perf_counter() - t0) / steps


def plain_step_ms(ref: str, precision: str, batch: int, length: int, steps: int,
                  device: str = "cuda") -> float:
    """ms per optimizer step of full fine-tuning of `ref` on one batch resident on `device`
    (`device="cpu"` is for testing the script). The allocator's cache is emptied after, so
    the next trial's memory peaks do not include this loop's blocks."""
    import torch

    ms = _plain(ref, precision, batch, length, steps, device)  # its model is freed here
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
    return ms


def _plain(ref: str, precision: str, batch: int, length: int, steps: int,
           device: str) -> float:
    import torch
    from transformers import AutoModelForSequenceClassification

    torch.manual_seed(0)
    model = AutoModelForSequenceClassification.from_pretrained(ref, num_labels=2).to(device)
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=2e-5, fused=True)
    ids = torch.randint(5, model.config.vocab_size, (batch, length), device=device)
    data = {"input_ids": ids, "attention_mask": torch.ones_like(ids),
            "labels": torch.randint(0, 2, (batch,), device=device)}
    return timed_ms(lambda i: train_step(model, opt, data, precision, device), steps)
