"""LoKr: the weight update is a Kronecker product of a small matrix and a low-rank one
(Edalati et al. 2022, KronA, arXiv:2212.10650; LyCORIS).

The low-rank factor starts at zero, so the model starts as the base model.
"""
from __future__ import annotations

from typing import Any

from bench.methods._base import Applied, Context, method


@method(family="reparameterization", paper="Edalati et al. 2022, arXiv:2212.10650",
        lr=(1e-4, 5e-3), identity=True)
def apply(model: Any, ctx: Context, *, r: int = 8, alpha: int | None = None,
          decompose_factor: int = -1, target_modules: str | list[str] = "auto") -> Applied:
    from peft import LoKrConfig

    from bench.methods._common import head_names
    from bench.methods._lora import check_rank
    from bench.methods._peft import auto_targets, wrap

    check_rank("lokr", r)
    head = head_names(model, ctx.kind)
    targets = auto_targets(model, "LOKR", target_modules, method="lokr", head=head)
    config = LoKrConfig(r=r, alpha=2 * r if alpha is None else alpha, target_modules=targets,
                        decompose_factor=decompose_factor)
    return wrap(model, ctx, config, head=head)
