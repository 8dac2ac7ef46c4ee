"""AdamW with decoupled weight decay and the linear warm-up/decay schedule of the loop."""
from __future__ import annotations

import math
from functools import partial
from typing import Any

from bench.defaults import TrainSpec


def lr_factor(step: int, warmup: int, total: int) -> float:
    """Linear warm-up from 0 over `warmup` steps, then linear decay to 0 at `total`.

    The same shape as transformers' get_linear_schedule_with_warmup, so learning rates
    transfer from papers that used the HF Trainer.
    """
    if step < warmup:
        return step / max(1, warmup)
    return max(0.0, (total - step) / max(1, total - warmup))


def _no_decay(module: Any, name: str) -> bool:
    """True for biases and the weights of normalisation layers (LayerNorm, RMSNorm, …)."""
    import torch

    return name == "bias" or isinstance(module, torch.nn.LayerNorm) \
        or type(module).__name__.lower().endswith("norm")


def param_groups(model: Any, weight_decay: float) -> list[dict[str, Any]]:
    """AdamW groups over the trainable parameters only: decayed, and not decayed."""
    decay, plain, seen = [], [], set()
    for module in model.modules():
        for name, p in module.named_parameters(recurse=False):
            if not p.requires_grad or id(p) in seen:  # tied weights appear twice
                continue
            seen.add(id(p))
            (plain if _no_decay(module, name) else decay).append(p)
    if not decay and not plain:
        raise ValueError("the model has no trainable parameters (requires_grad is False "
                         "everywhere): the method applied to it froze everything")
    return [{"params": decay, "weight_decay": weight_decay},
            {"params": plain, "weight_decay": 0.0}]


def build_optimizer(model: Any, spec: TrainSpec, total: int) -> tuple[Any, Any]:
    """AdamW over the trainable parameters and its linear warm-up/decay LambdaLR."""
    import torch

    groups = param_groups(model, spec.weight_decay)
    on_cuda = all(p.is_cuda for g in groups for p in g["params"])
    # fused AdamW is one kernel per step on CUDA; the CPU default (for-each) is as fast
    optimizer = torch.optim.AdamW(groups, lr=spec.lr,
                                  fused=True if on_cuda else None)
    warmup = math.ceil(spec.warmup_ratio * total)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, partial(lr_factor, warmup=warmup, total=total))
    return optimizer, schedule
