"""Device placement and mixed precision for the training loop, through accelerate."""
from __future__ import annotations

from typing import Any

from bench.errors import UsageError

PRECISIONS = ("auto", "fp32", "bf16", "fp16")


def resolve_precision(precision: str, cuda: bool, bf16_ok: bool = False) -> str:
    """accelerate's `mixed_precision` ("no" | "bf16" | "fp16") for a TrainSpec precision.

    "auto" is bf16 on a GPU that supports it and fp32 otherwise: CPU bf16 autocast is
    20–40× slower than fp32 on CPUs without native bf16, so it is never chosen silently.
    """
    if precision not in PRECISIONS:
        raise UsageError(f"[train] precision: unknown value {precision!r}; "
                         f"fix: use one of {', '.join(PRECISIONS)}")
    if precision == "auto":
        return "bf16" if cuda and bf16_ok else "no"
    if precision == "fp16" and not cuda:
        raise UsageError("[train] precision = 'fp16' needs a CUDA GPU and none is visible; "
                         "fix: use precision = 'auto' or 'fp32' on CPU")
    return {"fp32": "no", "bf16": "bf16", "fp16": "fp16"}[precision]


def mixed_precision_here(precision: str) -> str:
    """`resolve_precision` for this machine (whether it has a CUDA GPU with bf16)."""
    import torch

    cuda = torch.cuda.is_available()
    return resolve_precision(precision, cuda, cuda and torch.cuda.is_bf16_supported())


def make_accelerator(precision: str = "auto") -> Any:
    """An `accelerate.Accelerator` for `precision` (one per process is typical).

    accelerate keeps its state in a process-wide singleton that refuses a second
    Accelerator with another mixed precision; a different precision resets that state
    first, so tests and multi-suite processes can switch.
    """
    from accelerate import Accelerator
    from accelerate.state import AcceleratorState

    mixed = mixed_precision_here(precision)
    state = AcceleratorState._shared_state
    if state and state.get("_mixed_precision") != mixed:
        AcceleratorState._reset_state()
    return Accelerator(mixed_precision=mixed)


def release(accelerator: Any) -> None:
    """Drop accelerate's references to this trial's model, optimizer and data.

    Not `accelerator.free_memory()`: its gc.collect() cost ~0.8 s per trial on CPU with
    transformers loaded (a third of a small trial, benchmarks/overhead.py), while reference
    counting already frees the trial's tensors. On CUDA, cycles may still pin GPU memory
    that the next trial needs, so there we collect and empty the cache.
    """
    import gc

    import torch

    for name in ("_models", "_optimizers", "_schedulers", "_dataloaders"):
        getattr(accelerator, name, []).clear()
    accelerator.step = 0
    if torch.cuda.is_available():
        gc.collect()
        torch.cuda.empty_cache()
