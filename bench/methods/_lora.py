"""The LoRA configuration shared by lora, dora, qlora and qlora8."""
from __future__ import annotations

from typing import Any

from bench.errors import UsageError


def lora_config(model: Any, head: tuple[str, ...], *, r: int, alpha: int | None,
                dropout: float, target_modules: Any, method: str, **extra: Any) -> Any:
    """A peft LoraConfig; alpha defaults to 2·r (scaling alpha/r = 2)."""
    from peft import LoraConfig

    from bench.methods._peft import auto_targets

    check_rank(method, r)
    if not 0.0 <= dropout < 1.0:
        raise UsageError(f"{method}: dropout must be in [0, 1), got {dropout!r}")
    targets = auto_targets(model, "LORA", target_modules, method=method, head=head)
    return LoraConfig(r=r, lora_alpha=2 * r if alpha is None else alpha, lora_dropout=dropout,
                      target_modules=targets, **extra)


def check_rank(method: str, r: Any, name: str = "r") -> None:
    """UsageError unless `r` is a positive integer."""
    if isinstance(r, bool) or not isinstance(r, int) or r < 1:
        raise UsageError(f"{method}: {name} must be a positive integer, got {r!r}")
