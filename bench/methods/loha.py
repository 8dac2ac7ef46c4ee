"""LoHa: the weight update is the Hadamard product of two low-rank products
(Hyeon-Woo et al. 2021, FedPara, arXiv:2108.06098; LyCORIS).

One factor of the second product starts at zero, so the model starts as the base model.
"""
from __future__ import annotations

from typing import Any

from bench.methods._base import Applied, Context, method


@method(family="reparameterization", paper="Hyeon-Woo et al. 2021, arXiv:2108.06098",
        lr=(1e-4, 5e-3), identity=True)
def apply(model: Any, ctx: Context, *, r: int = 8, alpha: int | None = None,
          target_modules: str | list[str] = "auto") -> Applied:
    from peft import LoHaConfig

    from bench.methods._common import head_names
    from bench.methods._lora import check_rank
    from bench.methods._peft import auto_targets, wrap

    check_rank("loha", r)
    head = head_names(model, ctx.kind)
    targets = auto_targets(model, "LOHA", target_modules, method="loha", head=head)
    config = LoHaConfig(r=r, alpha=2 * r if alpha is None else alpha, target_modules=targets)
    return wrap(model, ctx, config, head=head)
