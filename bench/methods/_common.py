"""Helpers shared by the method modules: the task head, freezing, saving trainable weights.

The task head of a sequence classifier is every top-level module besides the backbone
(BERT/MPNet `classifier`, RoBERTa `classifier`, Llama `score`) plus the backbone's pooler
where it has one (BERT `pooler`): the pooler is BERT's counterpart of the dense layer inside
RoBERTa's classification head, so every method trains the same head on every model.
Causal LMs have no task head (the LM head is the output embedding and stays frozen unless a
method trains it).
"""
from __future__ import annotations

import os
from typing import Any, Callable

from bench.errors import ModelError, UsageError

TRAINABLE_FILE = "trainable.safetensors"


def head_names(model: Any, kind: str) -> tuple[str, ...]:
    """Short names of the task-head modules of `model` (empty for causal LMs)."""
    if kind != "seq_cls":
        return ()
    backbone = getattr(model, getattr(model, "base_model_prefix", ""), None)
    names = [name for name, child in model.named_children()
             if child is not backbone and _has_params(child)]
    pooler = getattr(backbone, "pooler", None)
    if pooler is not None and _has_params(pooler):
        names.append("pooler")
    if not names:
        raise ModelError(f"{type(model).__name__} has no task head next to its backbone: "
                         "is it a sequence-classification model? fix: load it with "
                         "kind='seq_cls' (AutoModelForSequenceClassification)")
    return tuple(names)


def _has_params(module: Any) -> bool:
    return any(True for _ in module.parameters())


def in_modules(param_name: str, names: tuple[str, ...] | list[str]) -> bool:
    """Whether a dotted parameter name lies inside a module called one of `names`."""
    return any(part in names for part in param_name.split("."))


def train_only(model: Any, keep: Callable[[str, Any], bool]) -> list[str]:
    """Freeze every parameter of `model` except those where keep(name, param); their names."""
    kept = []
    for name, param in model.named_parameters():
        param.requires_grad_(bool(keep(name, param)))
        if param.requires_grad:
            kept.append(name)
    return kept


def check_kind(method: str, kind: str, kinds: tuple[str, ...]) -> None:
    """UsageError when a method is asked for a task kind it does not support."""
    if kind not in kinds:
        raise UsageError(f"method {method!r} does not apply to {kind} models; "
                         f"fix: use it with {' or '.join(kinds)} models only")


def layer_stack(model: Any) -> tuple[str, Any]:
    """(dotted name, ModuleList) of the transformer blocks of `model`."""
    import torch

    n_layers = getattr(getattr(model, "config", None), "num_hidden_layers", None)
    for name, module in model.named_modules():
        if isinstance(module, torch.nn.ModuleList) and len(module) == n_layers:
            return name, module
    raise ModelError(f"cannot find the {n_layers} transformer blocks of "
                     f"{type(model).__name__} (no ModuleList of that length)")


def norm_modules(model: Any) -> list[str]:
    """Dotted names of the layer-norm modules (LayerNorm, RMSNorm) of `model`."""
    return [name for name, module in model.named_modules()
            if name and type(module).__name__.endswith("Norm")
            and _has_params(module)]


def save_trainable(model: Any, folder: str) -> None:
    """Write the trainable parameters of `model` to `folder`/trainable.safetensors."""
    from safetensors.torch import save_file

    os.makedirs(folder, exist_ok=True)
    state = {name: p.detach().cpu().contiguous()
             for name, p in model.named_parameters() if p.requires_grad}
    save_file(state, os.path.join(folder, TRAINABLE_FILE))


def load_trainable(model: Any, folder: str) -> None:
    """Load a folder written by `save_trainable` into `model` (same method applied)."""
    from safetensors.torch import load_file

    path = os.path.join(folder, TRAINABLE_FILE)
    if not os.path.exists(path):
        raise ModelError(f"{path} does not exist: was the folder written by this method?")
    state = load_file(path)
    unknown = sorted(set(state) - {name for name, _ in model.named_parameters()})
    if unknown:
        raise ModelError(f"{path} holds parameters this model lacks: {unknown[:3]} "
                         "(saved from another model or method?)")
    model.load_state_dict(state, strict=False)


def plain_applied(model: Any, head: tuple[str, ...]) -> Any:
    """An `Applied` for methods that only choose which existing (or injected) weights train."""
    from functools import partial

    from bench.methods._base import Applied

    return Applied(model=model, save=partial(save_trainable, model),
                   load=partial(load_trainable, model), head_names=head)
