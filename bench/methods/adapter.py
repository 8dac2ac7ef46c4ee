"""Houlsby adapters: bottleneck modules after the attention and feed-forward sub-layers
(Houlsby et al. 2019, arXiv:1902.00751).

Each adapter is down-projection → nonlinearity → up-projection with a residual connection,
inserted after the output projection of a sub-layer and before its skip connection; the
up-projection starts at zero so the model starts as the base model. Adapters, layer norms
and the task head train, as in the paper. PEFT has no such method; the module is ours
(`bench/methods/_houlsby.py`).
"""
from __future__ import annotations

import re
from typing import Any

from bench.methods._base import Applied, Context, method

# Output projections of the attention and feed-forward sub-layers, per architecture.
SUBLAYER_OUTPUTS = {
    "bert": (r"attention\.output\.dense", r"layer\.\d+\.output\.dense"),
    "roberta": (r"attention\.output\.dense", r"layer\.\d+\.output\.dense"),
    "mpnet": (r"attention\.attn\.o", r"layer\.\d+\.output\.dense"),
    "llama": (r"self_attn\.o_proj", r"mlp\.down_proj"),
}
DECODER_OUTPUTS = (r"self_attn\.o_proj", r"mlp\.down_proj")


@method(family="additive", paper="Houlsby et al. 2019, arXiv:1902.00751", lr=(1e-4, 5e-3),
        identity=True)
def apply(model: Any, ctx: Context, *, size: int = 64, activation: str = "gelu",
          target_modules: str | list[str] = "auto") -> Applied:
    from bench.errors import UsageError
    from bench.methods import _houlsby
    from bench.methods._common import (head_names, in_modules, norm_modules, plain_applied,
                                       train_only)

    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise UsageError(f"adapter: size (the bottleneck width) must be a positive integer, "
                         f"got {size!r}")
    if activation not in _houlsby.ACTIVATIONS:
        raise UsageError(f"adapter: activation must be one of "
                         f"{sorted(_houlsby.ACTIVATIONS)}, got {activation!r}")
    head = head_names(model, ctx.kind)
    targets = _targets(model, target_modules, head)
    _houlsby.inject(model, targets, size, activation)
    norms = tuple(n for n in norm_modules(model) if not in_modules(n, head))
    train_only(model, lambda name, p: ".adapter." in name or name.startswith(
        tuple(f"{n}." for n in norms)) or in_modules(name, head))
    return plain_applied(model, head)


def _targets(model: Any, value: Any, head: tuple[str, ...]) -> list[str]:
    """Full names of the projections that get an adapter."""
    from bench.errors import UsageError
    from bench.methods._common import in_modules

    kind = getattr(model.config, "model_type", "")
    if value == "auto":
        patterns = SUBLAYER_OUTPUTS.get(kind, DECODER_OUTPUTS)
    else:
        patterns = tuple(re.escape(v) for v in ([value] if isinstance(value, str) else value))
    regex = re.compile(rf"(^|.*\.)({'|'.join(patterns)})$")
    found = [name for name, module in model.named_modules() if regex.match(name)
             and hasattr(module, "out_features") and not in_modules(name, head)]
    if not found:
        raise UsageError(f"adapter: no output projections matching {list(patterns)} in "
                         f"{type(model).__name__} (model type {kind!r}); fix: set "
                         "target_modules to the names of its attention and feed-forward "
                         "output projections")
    return found
