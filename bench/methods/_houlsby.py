"""The Houlsby bottleneck adapter as a torch module, and its injection after a sub-layer.

Imported only inside `bench.methods.adapter.apply` (it imports torch at module level).
"""
from __future__ import annotations

import torch
from torch import nn

ACTIVATIONS = {"gelu": nn.GELU, "relu": nn.ReLU, "tanh": nn.Tanh, "silu": nn.SiLU}


class Bottleneck(nn.Module):
    """h + up(act(down(h))): a residual bottleneck whose up-projection starts at zero,
    so the adapted model computes exactly the base model until the first update."""

    def __init__(self, dim: int, size: int, activation: str = "gelu"):
        super().__init__()
        self.down = nn.Linear(dim, size)
        self.act = ACTIVATIONS[activation]()
        self.up = nn.Linear(size, dim)
        nn.init.zeros_(self.up.weight)
        nn.init.zeros_(self.up.bias)

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        return hidden + self.up(self.act(self.down(hidden)))


class Adapted(nn.Module):
    """A sub-layer's output projection followed by an adapter, before the residual add
    (Houlsby et al.'s placement: after the projection, before the skip connection)."""

    def __init__(self, inner: nn.Module, adapter: Bottleneck):
        super().__init__()
        self.inner = inner
        self.adapter = adapter

    def forward(self, *args, **kwargs) -> torch.Tensor:
        return self.adapter(self.inner(*args, **kwargs))


def inject(model: nn.Module, names: list[str], size: int, activation: str) -> None:
    """Replace each named projection of `model` by the projection followed by an adapter."""
    for name in names:
        parent_name, _, child = name.rpartition(".")
        parent = model.get_submodule(parent_name)
        inner = getattr(parent, child)
        adapter = Bottleneck(inner.out_features, size, activation)
        adapter.to(device=inner.weight.device, dtype=inner.weight.dtype)
        setattr(parent, child, Adapted(inner, adapter))
