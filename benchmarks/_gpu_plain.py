"""The plain-PyTorch reference arm of benchmarks/gpu.py: the same model and batch shape
trained by a hand-written loop (autocast, fused AdamW, clipping, nothing else: no
accelerate, no Monitor, no loss checks), so a low MFU can be told apart from bench's
overhead. Inputs are random token ids filling max_length, as the generated task does.
"""
from __future__ import annotations

import time


def plain_step_ms(ref: str, precision: str, batch: int, length: int, steps: int) -> float:
    """Median-free mean ms per optimizer step of full fine-tuning over `steps` steps, after
    5 untimed warm-up steps (CUDA synchronised around the timed block)."""
    import torch
    from transformers import AutoModelForSequenceClassification

    torch.manual_seed(0)
    model = AutoModelForSequenceClassification.from_pretrained(ref, num_labels=2).cuda()
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=2e-5, fused=True)
    vocab = model.config.vocab_size
    ids = torch.randint(5, vocab, (batch, length), device="cuda")
    data = {"input_ids": ids, "attention_mask": torch.ones_like(ids),
            "labels": torch.randint(0, 2, (batch,), device="cuda")}
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(precision)

    def step() -> None:
        with torch.autocast("cuda", dtype=dtype or torch.float32, enabled=dtype is not None):
            loss = model(**data).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)

    for _ in range(5):
        step()
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    torch.cuda.synchronize()
    ms = 1000 * (time.perf_counter() - t0) / steps
    del model, opt
    torch.cuda.empty_cache()
    return ms
