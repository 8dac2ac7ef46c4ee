"""VeRA: frozen random low-rank matrices shared by all layers, with trainable scaling vectors
(Kopiczko et al. 2023, arXiv:2310.11454).

The vector scaling B starts at zero (identity at init). It learns only with learning rates
10–100× LoRA's (2e-2 worked on MiniLM/SST-2 where 5e-3 did not), hence its own lr range.
"""
from __future__ import annotations

from typing import Any

from bench.methods._base import Applied, Context, method


@method(family="reparameterization", paper="Kopiczko et al. 2023, arXiv:2310.11454",
        lr=(3e-3, 1e-1), identity=True)
def apply(model: Any, ctx: Context, *, r: int = 256, d_initial: float = 0.1,
          dropout: float = 0.0, target_modules: str | list[str] = "auto") -> Applied:
    from peft import VeraConfig

    from bench.methods._common import head_names
    from bench.methods._lora import check_rank
    from bench.methods._peft import auto_targets, wrap

    check_rank("vera", r)
    head = head_names(model, ctx.kind)
    targets = auto_targets(model, "VERA", target_modules, method="vera", head=head)
    config = VeraConfig(r=r, d_initial=d_initial, vera_dropout=dropout, target_modules=targets,
                        projection_prng_key=ctx.seed)
    return wrap(model, ctx, config, head=head)
