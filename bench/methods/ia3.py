"""(IA)³: learned vectors that rescale keys, values and feed-forward activations
(Liu et al. 2022, arXiv:2205.05638).

The vectors start at one, so the model starts as the base model. One vector per target
module: its output width for attention targets, its input width for feed-forward targets.
"""
from __future__ import annotations

from typing import Any

from bench.methods._base import Applied, Context, method


@method(family="additive", paper="Liu et al. 2022, arXiv:2205.05638", lr=(1e-3, 5e-2),
        identity=True)
def apply(model: Any, ctx: Context, *, target_modules: str | list[str] = "auto",
          feedforward_modules: str | list[str] = "auto") -> Applied:
    from peft import IA3Config

    from bench.methods._common import head_names
    from bench.methods._peft import auto_targets, wrap

    head = head_names(model, ctx.kind)
    targets = auto_targets(model, "IA3", target_modules, method="ia3", head=head)
    feedforward = auto_targets(model, "IA3_FEEDFORWARD", feedforward_modules, method="ia3",
                               head=head)
    if feedforward_modules == "auto" and isinstance(targets, list):
        feedforward = [f for f in feedforward if f in targets]  # peft wants a subset
    config = IA3Config(target_modules=targets, feedforward_modules=feedforward)
    return wrap(model, ctx, config, head=head)
