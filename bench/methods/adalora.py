"""AdaLoRA: SVD-shaped LoRA whose rank budget is re-allocated during training by importance
(Zhang et al. 2023, arXiv:2303.10512).

Ranks start at `init_r` per matrix and are pruned towards an average of `target_r` between
the first `tinit` and the last `tfinal` fractions of training, every `delta_t` steps; the
schedule needs the trial's total step count (`Context.total_steps`) and `on_step` after every
optimizer step. The loss includes the orthogonality regulariser (weight `orth_reg_weight`).
"""
from __future__ import annotations

from typing import Any

from bench.methods._base import Applied, Context, method


@method(family="reparameterization", paper="Zhang et al. 2023, arXiv:2303.10512",
        lr=(1e-4, 5e-3), identity=True)
def apply(model: Any, ctx: Context, *, init_r: int = 12, target_r: int = 8,
          alpha: int | None = None, tinit: float = 0.1, tfinal: float = 0.2,
          delta_t: int = 10, orth_reg_weight: float = 0.5,
          target_modules: str | list[str] = "auto") -> Applied:
    from peft import AdaLoraConfig

    from bench.errors import UsageError
    from bench.methods._common import head_names
    from bench.methods._lora import check_rank
    from bench.methods._peft import auto_targets, wrap

    check_rank("adalora", init_r, "init_r")
    check_rank("adalora", target_r, "target_r")
    if not (0 <= tinit and 0 <= tfinal and tinit + tfinal < 1):
        raise UsageError(f"adalora: tinit and tfinal are fractions of training with "
                         f"tinit + tfinal < 1, got tinit={tinit!r}, tfinal={tfinal!r}")
    head = head_names(model, ctx.kind)
    total = max(1, int(ctx.total_steps))
    config = AdaLoraConfig(
        init_r=init_r, target_r=target_r, lora_alpha=2 * target_r if alpha is None else alpha,
        tinit=int(tinit * total), tfinal=int(tfinal * total), deltaT=max(1, int(delta_t)),
        orth_reg_weight=orth_reg_weight, total_step=total,
        target_modules=auto_targets(model, "ADALORA", target_modules, method="adalora",
                                    head=head))
    applied = wrap(model, ctx, config, head=head)
    applied.on_step = applied.model.base_model.update_and_allocate
    return applied
