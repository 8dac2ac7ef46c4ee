"""Shared plumbing of the methods built on peft: target modules, wrapping, save and load.

`wrap` gives every peft method the same task head (`_common.head_names`, trained as a
`modules_to_save` copy), the same save format (peft's adapter folder, minus the model card)
and a `load` that puts a saved folder back into a freshly applied model.
"""
from __future__ import annotations

import os
from functools import partial
from typing import Any

from bench.errors import ModelError, UsageError

TASK_TYPES = {"seq_cls": "SEQ_CLS", "causal_lm": "CAUSAL_LM"}
# Architectures peft's own target tables lack (peft covers bert, roberta, llama, ...).
EXTRA_TARGETS: dict[str, dict[str, list[str]]] = {
    "mpnet": {"LORA": ["q", "v"], "VERA": ["q", "v"], "LOHA": ["q", "v"], "LOKR": ["q", "v"],
              "ADALORA": ["q", "v"], "IA3": ["k", "v", "output.dense"],
              "IA3_FEEDFORWARD": ["output.dense"]},
}


def model_type(model: Any) -> str:
    return getattr(getattr(model, "config", None), "model_type", "") or ""


def auto_targets(model: Any, table: str, value: Any, *, method: str,
                 head: tuple[str, ...]) -> Any:
    """Target modules for `value`: "auto" (the method's usual targets for this
    architecture, from peft's tables), "all-linear" (every linear layer of the backbone), or
    the user's list of module-name suffixes / regex.
    """
    if value == "all-linear":
        return linear_modules(model, head)
    if value != "auto":
        if not isinstance(value, (str, list)) or not value:
            raise UsageError(f"{method}: target_modules must be 'auto', 'all-linear', a "
                             f"regex or a list of module names (got {value!r})")
        return value
    from peft.utils import constants

    kind = model_type(model)
    name = (f"TRANSFORMERS_MODELS_TO_{table}_MODULES_MAPPING" if table.endswith("FEEDFORWARD")
            else f"TRANSFORMERS_MODELS_TO_{table}_TARGET_MODULES_MAPPING")
    found = getattr(constants, name, {}).get(kind) or EXTRA_TARGETS.get(kind, {}).get(table)
    if not found:
        sample = sorted({n.rsplit(".", 1)[-1] for n in linear_modules(model, head)})
        raise UsageError(f"{method}: no default target modules for model type {kind!r}; "
                         f"fix: set target_modules to a list of its linear layers, e.g. {sample}")
    return list(found)


def linear_modules(model: Any, head: tuple[str, ...]) -> list[str]:
    """Full names of the backbone's linear layers (not the task head, not the LM head)."""
    from bench.methods._common import in_modules

    skip = (*head, "lm_head")
    return [name for name, module in model.named_modules()
            if type(module).__name__ in ("Linear", "Linear4bit", "Linear8bitLt")
            and not in_modules(name, skip)]


def wrap(model: Any, ctx: Any, config: Any, *, head: tuple[str, ...]) -> Any:
    """Apply a peft `config` to `model` and return the `Applied` (head trained as a copy)."""
    from peft import get_peft_model

    from bench.methods._base import Applied

    config.task_type = TASK_TYPES[ctx.kind]
    if head:
        config.modules_to_save = list(head)
    try:
        peft_model = get_peft_model(model, config)
    except ValueError as exc:
        if "target" not in str(exc).lower():
            raise
        raise UsageError(f"{type(config).__name__}: {exc}; fix: set target_modules to "
                         f"module names of {type(model).__name__}") from exc
    return Applied(model=peft_model, save=partial(save_adapter, peft_model),
                   load=partial(load_adapter, peft_model), head_names=head)


def save_adapter(peft_model: Any, folder: str) -> None:
    """peft's adapter folder (weights + config) without the generated model card."""
    peft_model.save_pretrained(folder)
    card = os.path.join(folder, "README.md")
    if os.path.exists(card):  # boilerplate, not something needed to reproduce the model
        os.remove(card)


def load_adapter(peft_model: Any, folder: str) -> None:
    """Load a folder written by `save_adapter` into a model with the same method applied.

    Prompt methods store the prompt encoder's *output* (peft's format: the re-parameterising
    MLP/LSTM of P-tuning or projected prefix tuning is not needed after training), so the
    loaded model switches to using those stored embeddings as they are (peft's inference mode).
    """
    from peft.utils import load_peft_weights, set_peft_model_state_dict

    if not os.path.isdir(folder):
        raise ModelError(f"adapter folder {folder!r} does not exist")
    weights = load_peft_weights(folder, device="cpu")
    config = peft_model.active_peft_config
    if config.is_prompt_learning:
        _fit_prompt_embedding(peft_model, weights["prompt_embeddings"])
    result = set_peft_model_state_dict(peft_model, weights)
    # peft loads a prompt method's "prompt_embeddings" into the prompt encoder itself
    unexpected = [k for k in result.unexpected_keys if k != "prompt_embeddings"]
    if unexpected:
        raise ModelError(f"{folder}: holds weights this model lacks: {unexpected[:3]} "
                         "(saved from another model or method?)")
    if config.is_prompt_learning:
        config.inference_mode = True  # use the stored embeddings, not the encoder over them


def _fit_prompt_embedding(peft_model: Any, saved: Any) -> None:
    """Give the prompt encoder an embedding of the saved shape (projected prefixes are wider)."""
    import torch

    encoder = peft_model.prompt_encoder[peft_model.active_adapter]
    if tuple(encoder.embedding.weight.shape) != tuple(saved.shape):
        old = encoder.embedding.weight
        encoder.embedding = torch.nn.Embedding(*saved.shape, device=old.device, dtype=old.dtype)
        encoder.embedding.weight.requires_grad_(old.requires_grad)
