"""Prompt tuning: trainable soft-token embeddings prepended to the input
(Lester et al. 2021, arXiv:2104.08691).

Only `num_virtual_tokens × hidden` numbers (plus the task head) train. The soft tokens start
as embeddings of randomly sampled vocabulary words (`init = "vocab"`, the paper's better
choice) or random vectors (`init = "random"`). On BERT the pooler reads the first soft token
rather than [CLS], and learning needs rates 10–100× LoRA's (0.5 → 0.8 accuracy at lr 3e-2
over 60 steps on MiniLM/SST-2): hence its own lr range.
"""
from __future__ import annotations

from typing import Any

from bench.methods._base import Applied, Context, method

INITS = {"vocab": "SAMPLE_VOCAB", "random": "RANDOM"}


@method(family="prompt", paper="Lester et al. 2021, arXiv:2104.08691", lr=(3e-3, 1e-1))
def apply(model: Any, ctx: Context, *, num_virtual_tokens: int = 20,
          init: str = "vocab") -> Applied:
    from peft import PromptTuningConfig

    from bench.errors import UsageError
    from bench.methods._common import head_names
    from bench.methods._lora import check_rank
    from bench.methods._peft import wrap

    check_rank("prompt", num_virtual_tokens, "num_virtual_tokens")
    if init not in INITS:
        raise UsageError(f"prompt: init must be one of {sorted(INITS)}, got {init!r}")
    head = head_names(model, ctx.kind)
    config = PromptTuningConfig(num_virtual_tokens=num_virtual_tokens,
                                prompt_tuning_init=INITS[init])
    return wrap(model, ctx, config, head=head)
