"""BitFit: only the bias terms (and the task head) train (Ben Zaken et al. 2021, arXiv:2106.10199)."""
from __future__ import annotations

from typing import Any

from bench.methods._base import Applied, Context, method


@method(family="selective", paper="Ben Zaken et al. 2021, arXiv:2106.10199", lr=(1e-4, 1e-2),
        identity=True)
def apply(model: Any, ctx: Context) -> Applied:
    from bench.errors import Unavailable
    from bench.methods._common import head_names, in_modules, plain_applied, train_only

    head = head_names(model, ctx.kind)
    trained = train_only(model, lambda name, p: name.endswith(".bias") or in_modules(name, head))
    if not any(name.endswith(".bias") and not in_modules(name, head) for name in trained):
        raise Unavailable(f"bitfit: {type(model).__name__} has no bias terms outside its head "
                          "(Llama-style models have none), so BitFit has nothing to train")
    return plain_applied(model, head)
