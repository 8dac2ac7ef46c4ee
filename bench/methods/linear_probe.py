"""Linear probe: the encoder is frozen and only the task head trains (feature-based transfer).

With `pooler = false` only the final linear layer trains: a strictly linear probe of the
frozen pooled features. The default also trains BERT's pooler, the same head every other
method trains, so the probe differs from them only in what happens inside the encoder.
"""
from __future__ import annotations

from typing import Any

from bench.methods._base import Applied, Context, method


@method(family="selective", paper="Peters et al. 2019, arXiv:1903.05987",
        kinds=("seq_cls",), lr=(3e-4, 3e-2), identity=True)
def apply(model: Any, ctx: Context, *, pooler: bool = True) -> Applied:
    from bench.methods._common import check_kind, head_names, in_modules, plain_applied, train_only

    check_kind("linear_probe", ctx.kind, ("seq_cls",))
    head = head_names(model, ctx.kind)
    if not pooler:
        head = tuple(h for h in head if h != "pooler")
    train_only(model, lambda name, p: in_modules(name, head))
    return plain_applied(model, head)
