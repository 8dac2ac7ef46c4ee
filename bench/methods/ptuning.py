"""P-tuning: soft prompt tokens produced by a small trainable encoder (an MLP or LSTM)
(Liu et al. 2021, arXiv:2103.10385).

The encoder re-parameterises `num_virtual_tokens` embeddings through `encoder_hidden_size`
units; like prompt tuning it needs high learning rates on BERT-style classifiers.
"""
from __future__ import annotations

from typing import Any

from bench.methods._base import Applied, Context, method

ENCODERS = {"mlp": "MLP", "lstm": "LSTM"}


@method(family="prompt", paper="Liu et al. 2021, arXiv:2103.10385", lr=(1e-3, 5e-2))
def apply(model: Any, ctx: Context, *, num_virtual_tokens: int = 20,
          encoder_hidden_size: int = 128, encoder: str = "mlp") -> Applied:
    from peft import PromptEncoderConfig

    from bench.errors import UsageError
    from bench.methods._common import head_names
    from bench.methods._lora import check_rank
    from bench.methods._peft import wrap

    check_rank("ptuning", num_virtual_tokens, "num_virtual_tokens")
    check_rank("ptuning", encoder_hidden_size, "encoder_hidden_size")
    if encoder not in ENCODERS:
        raise UsageError(f"ptuning: encoder must be one of {sorted(ENCODERS)}, got {encoder!r}")
    head = head_names(model, ctx.kind)
    config = PromptEncoderConfig(num_virtual_tokens=num_virtual_tokens,
                                 encoder_hidden_size=encoder_hidden_size,
                                 encoder_reparameterization_type=ENCODERS[encoder])
    return wrap(model, ctx, config, head=head)
