"""Partial fine-tuning: only the top `k` transformer blocks (and the task head) train.

On decoders the final norm after the last block trains with them. k = 0 is a linear probe;
k = the number of blocks trains everything but the embeddings.
"""
from __future__ import annotations

from typing import Any

from bench.methods._base import Applied, Context, method


@method(family="selective", paper="Yosinski et al. 2014, arXiv:1411.1792", lr=(1e-5, 3e-4),
        identity=True)
def apply(model: Any, ctx: Context, *, k: int = 2) -> Applied:
    from bench.errors import UsageError
    from bench.methods._common import head_names, in_modules, layer_stack, plain_applied, train_only

    stack_name, stack = layer_stack(model)
    if isinstance(k, bool) or not isinstance(k, int) or not 0 <= k <= len(stack):
        raise UsageError(f"partial: k must be an integer from 0 to {len(stack)} (the model's "
                         f"number of blocks), got {k!r}")
    head = head_names(model, ctx.kind)
    top = tuple(f"{stack_name}.{i}." for i in range(len(stack) - k, len(stack)))
    after = _after_stack(model, stack_name) if k else ()
    train_only(model, lambda name, p: name.startswith(top) or in_modules(name, head)
               or name.startswith(after))
    return plain_applied(model, head)


def _after_stack(model: Any, stack_name: str) -> tuple[str, ...]:
    """Prefixes of the backbone norms that follow the blocks (e.g. Llama's final `norm`)."""
    parent = stack_name.rsplit(".", 1)[0] if "." in stack_name else ""
    prefix = f"{parent}." if parent else ""
    return tuple(f"{prefix}{name}." for name, module in model.get_submodule(parent).named_children()
                 if type(module).__name__.endswith("Norm"))
