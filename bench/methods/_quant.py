"""LoRA on a quantised base model: the body shared by qlora (4-bit NF4) and qlora8 (8-bit)."""
from __future__ import annotations

from typing import Any

from bench.errors import UsageError

LAYER_TYPES = {"nf4": "Linear4bit", "int8": "Linear8bitLt"}


def lora_on_quantized(model: Any, ctx: Any, *, method: str, quantization: str, r: int,
                      alpha: int | None, dropout: float, target_modules: Any,
                      gradient_checkpointing: bool) -> Any:
    """Check the base really is quantised, prepare it for k-bit training, add LoRA."""
    from peft import prepare_model_for_kbit_training

    from bench.models import no_cpu_packing
    from bench.methods._common import head_names
    from bench.methods._lora import lora_config
    from bench.methods._peft import wrap

    layer = LAYER_TYPES[quantization]
    if not any(type(m).__name__ == layer for m in model.modules()):
        raise UsageError(f"{method}: the base model has no {layer} layers; load it with "
                         f"bench.models.load(..., quantization={quantization!r}) (the runner "
                         f"does this for {method} cells)")
    no_cpu_packing(model)  # in case the model did not come from bench.models.load
    head = head_names(model, ctx.kind)
    # casts non-quantised weights to fp32 and freezes the base (QLoRA's recipe)
    model = prepare_model_for_kbit_training(
        model, use_gradient_checkpointing=gradient_checkpointing)
    config = lora_config(model, head, r=r, alpha=alpha, dropout=dropout,
                         target_modules=target_modules, method=method)
    return wrap(model, ctx, config, head=head)

