"""QLoRA: LoRA on a frozen 4-bit NF4-quantised base model (Dettmers et al. 2023,
arXiv:2305.14314).

The runner loads the base with `quantization = "nf4"` (double quantisation, compute in the
model dtype: fp32 on CPU, where bf16 is 20–40× slower), keeping the task head and pooler
unquantised. As in the paper, LoRA goes on every linear layer of the backbone by default.
Needs bitsandbytes >= 0.50 on CPU; the cell is skipped (Unavailable) where it cannot load.
"""
from __future__ import annotations

from typing import Any

from bench.methods._base import Applied, Context, method


@method(family="quantized", paper="Dettmers et al. 2023, arXiv:2305.14314", lr=(1e-4, 5e-3),
        quantization="nf4", identity=True)
def apply(model: Any, ctx: Context, *, r: int = 8, alpha: int | None = None,
          dropout: float = 0.1, target_modules: str | list[str] = "all-linear",
          gradient_checkpointing: bool = False) -> Applied:
    from bench.methods._quant import lora_on_quantized

    return lora_on_quantized(model, ctx, method="qlora", quantization="nf4", r=r, alpha=alpha,
                             dropout=dropout, target_modules=target_modules,
                             gradient_checkpointing=gradient_checkpointing)
