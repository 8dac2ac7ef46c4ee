"""Prefix tuning for sequence classifiers under transformers 5: the prefix goes in as `cache`.

peft's own prefix path for SEQ_CLS checks the model's forward for a `past_key_values`
argument, which transformers 5 moved into `**kwargs` (and later renamed to `cache`), and
refuses ("Model does not support past key values"). `PrefixClassifier` calls the base model
itself with the prefix key/value cache from `peft_model.get_prompt` and an attention mask
extended by the virtual tokens: every attention layer then attends to the trainable prefix.
The keyword is read off the backbone's signature: a wrong one would vanish into `**kwargs`
and silently train nothing. Imported only inside
`bench.methods.prefix.apply` (it imports torch at module level).
"""
from __future__ import annotations

from typing import Any

import torch
from torch import nn


class PrefixClassifier(nn.Module):
    """forward(**batch) of a prefix-tuned sequence classifier (peft model inside)."""

    def __init__(self, peft_model: Any):
        super().__init__()
        self.peft_model = peft_model
        self.num_virtual_tokens = peft_model.active_peft_config.num_virtual_tokens
        self.config = peft_model.get_base_model().config
        self.cache_kwarg = cache_keyword(peft_model.get_base_model())

    def forward(self, input_ids: torch.Tensor | None = None,
                attention_mask: torch.Tensor | None = None, **kwargs: Any) -> Any:
        kwargs.pop("cache", None)
        kwargs.pop("past_key_values", None)
        kwargs.pop("use_cache", None)
        ref = input_ids if input_ids is not None else kwargs["inputs_embeds"]
        batch, length = ref.shape[:2]
        if attention_mask is None:
            attention_mask = torch.ones(batch, length, dtype=torch.long, device=ref.device)
        prefix_mask = attention_mask.new_ones(batch, self.num_virtual_tokens)
        mask = torch.cat([prefix_mask, attention_mask], dim=1)
        cache = self.peft_model.get_prompt(batch_size=batch)
        # the base model with its modules_to_save head copies in place
        kwargs[self.cache_kwarg] = cache
        return self.peft_model.base_model(input_ids=input_ids, attention_mask=mask, **kwargs)


def cache_keyword(model: Any) -> str:
    """The backbone's key/value-cache keyword: `cache` (transformers >= 5.2x) or
    `past_key_values`; Unavailable when it takes neither."""
    import inspect

    from bench.errors import Unavailable

    backbone = getattr(model, "base_model", model)
    params = inspect.signature(backbone.forward).parameters
    for name in ("cache", "past_key_values"):
        if name in params:
            return name
    raise Unavailable(f"prefix: {type(backbone).__name__}.forward takes no key/value cache "
                      "(neither `cache` nor `past_key_values`), so a prefix cannot be passed")
