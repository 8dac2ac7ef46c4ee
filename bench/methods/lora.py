"""LoRA: trainable low-rank updates B·A beside frozen weights (Hu et al. 2021, arXiv:2106.09685).

B starts at zero, so the model starts as the base model. Defaults follow the paper's GLUE
setup: the query and value projections, r = 8, alpha = 2·r unless given.
"""
from __future__ import annotations

from typing import Any

from bench.methods._base import Applied, Context, method


@method(family="reparameterization", paper="Hu et al. 2021, arXiv:2106.09685",
        lr=(1e-4, 5e-3), identity=True)
def apply(model: Any, ctx: Context, *, r: int = 8, alpha: int | None = None,
          dropout: float = 0.1, target_modules: str | list[str] = "auto") -> Applied:
    from bench.methods._common import head_names
    from bench.methods._lora import lora_config
    from bench.methods._peft import wrap

    head = head_names(model, ctx.kind)
    config = lora_config(model, head, r=r, alpha=alpha, dropout=dropout,
                         target_modules=target_modules, method="lora")
    return wrap(model, ctx, config, head=head)
