"""QLoRA-8: LoRA on a frozen 8-bit (LLM.int8) quantised base model (Dettmers et al. 2022,
arXiv:2208.07339, with LoRA as in QLoRA, arXiv:2305.14314).

The runner loads the base with `quantization = "int8"`; task head and pooler stay
unquantised. LoRA goes on every linear layer of the backbone by default. On CPU
bitsandbytes warns on every 8-bit matmul and it is slow; mostly a GPU method.
"""
from __future__ import annotations

from typing import Any

from bench.methods._base import Applied, Context, method


@method(family="quantized", paper="Dettmers et al. 2022, arXiv:2208.07339", lr=(1e-4, 5e-3),
        quantization="int8", identity=True)
def apply(model: Any, ctx: Context, *, r: int = 8, alpha: int | None = None,
          dropout: float = 0.1, target_modules: str | list[str] = "all-linear",
          gradient_checkpointing: bool = False) -> Applied:
    from bench.methods._quant import lora_on_quantized

    return lora_on_quantized(model, ctx, method="qlora8", quantization="int8", r=r,
                             alpha=alpha, dropout=dropout, target_modules=target_modules,
                             gradient_checkpointing=gradient_checkpointing)
