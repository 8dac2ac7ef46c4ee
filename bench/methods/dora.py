"""DoRA: LoRA on the direction of each weight plus a trainable magnitude vector
(Liu et al. 2024, arXiv:2402.09353)."""
from __future__ import annotations

from typing import Any

from bench.methods._base import Applied, Context, method


@method(family="reparameterization", paper="Liu et al. 2024, arXiv:2402.09353",
        lr=(1e-4, 5e-3), identity=True)
def apply(model: Any, ctx: Context, *, r: int = 8, alpha: int | None = None,
          dropout: float = 0.1, target_modules: str | list[str] = "auto") -> Applied:
    from bench.methods._common import head_names
    from bench.methods._lora import lora_config
    from bench.methods._peft import wrap

    head = head_names(model, ctx.kind)
    config = lora_config(model, head, r=r, alpha=alpha, dropout=dropout,
                         target_modules=target_modules, method="dora", use_dora=True)
    return wrap(model, ctx, config, head=head)
