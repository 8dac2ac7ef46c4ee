"""Prefix tuning: trainable key/value vectors prepended at every attention layer
(Li & Liang 2021, arXiv:2101.00190; on encoders: P-Tuning v2, Liu et al. 2021, arXiv:2110.07602).

Works on BERT-style classifiers under transformers 5 by passing the prefix as the model's
`cache` (see `bench/methods/_prefix.py`); causal LMs use peft's own path. `projection`
re-parameterises the prefix through a two-layer MLP of width `encoder_hidden_size` as in
Li & Liang (only the prefix itself would need to be stored after training; bench stores
what peft saves).
"""
from __future__ import annotations

from typing import Any

from bench.methods._base import Applied, Context, method


@method(family="prompt", paper="Li & Liang 2021, arXiv:2101.00190", lr=(1e-3, 5e-2))
def apply(model: Any, ctx: Context, *, num_virtual_tokens: int = 20, projection: bool = False,
          encoder_hidden_size: int = 128) -> Applied:
    from functools import partial

    from peft import PrefixTuningConfig

    from bench.methods._common import head_names
    from bench.methods._lora import check_rank
    from bench.methods._peft import load_adapter, save_adapter, wrap

    check_rank("prefix", num_virtual_tokens, "num_virtual_tokens")
    head = head_names(model, ctx.kind)
    config = PrefixTuningConfig(num_virtual_tokens=num_virtual_tokens,
                                prefix_projection=projection,
                                encoder_hidden_size=encoder_hidden_size)
    applied = wrap(model, ctx, config, head=head)
    if ctx.kind == "seq_cls":
        from bench.methods._prefix import PrefixClassifier

        peft_model = applied.model
        applied.model = PrefixClassifier(peft_model)
        applied.save = partial(save_adapter, peft_model)
        applied.load = partial(load_adapter, peft_model)
    return applied
