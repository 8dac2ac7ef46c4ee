"""The method plug-in contract.

A method is one module with one decorated function::

    @method(family="reparameterization", paper="Hu et al. 2021, arXiv:2106.09685",
            lr=(1e-4, 3e-3))
    def apply(model, ctx: Context, *, r: int = 8, alpha: int | None = None) -> Applied:
        ...

`apply` receives a freshly loaded (and, for quantised methods, quantised) Hugging Face
model and returns an `Applied` whose `model` trains exactly the parameters the method
claims. Its keyword-only parameters are the method's options: their names, defaults and
annotations are the schema that `bench validate` checks suite tables against (it binds the
options with `inspect.signature` and never calls the function), so method modules must
not import torch/peft at module level.
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Any, Callable, Literal

Kind = Literal["seq_cls", "causal_lm"]


@dataclass(frozen=True)
class Context:
    """What a method may need to know besides the model."""

    kind: Kind = "seq_cls"  # the model's task kind
    total_steps: int = 1000  # optimizer steps of the trial (AdaLoRA's schedule needs it)
    seed: int = 0


@dataclass
class Applied:
    """A model with a method applied.

    model: forward(**batch) returns an output with `.loss` (when labels are given) and
        `.logits`; only the method's parameters (and the task head) require grad.
    on_step: called with the step number after every optimizer step, before the
        gradients are zeroed (AdaLoRA's budget reads them).
    save: writes what must be stored to reproduce the fine-tuned model into a folder
        (adapter weights for PEFT methods, the full state dict for `full`); its total size
        is the record's `stored_bytes`.
    load: reads a folder written by `save` back into this (freshly applied) model, so
        base model + method + saved folder reproduces the fine-tuned model.
    head_names: names of the task-head modules (counted apart from method parameters);
        a parameter belongs to the head when one of the dotted components of its name is
        one of these (e.g. "classifier", "pooler", "score").
    """

    model: Any
    save: Callable[[str], None]
    on_step: Callable[[int], None] | None = None
    head_names: tuple[str, ...] = ()
    extras: dict[str, Any] = field(default_factory=dict)
    load: Callable[[str], None] | None = None


@dataclass(frozen=True)
class MethodInfo:
    """What `bench ls methods` shows and what the runner needs before loading the model."""

    name: str
    family: str  # full | selective | additive | reparameterization | prompt | quantized
    paper: str  # "Author et al. YEAR, arXiv:XXXX.XXXXX" (empty for plain baselines)
    kinds: tuple[str, ...]  # task kinds it supports: seq_cls, causal_lm
    lr: tuple[float, float]  # default lr search range (log scale) when a suite gives none
    quantization: str | None  # "nf4" / "int8": the base is loaded quantised
    options: dict[str, Any]  # option name -> default
    summary: str  # first line of the module docstring
    identity: bool = False  # the applied model computes exactly the base model at init


def method(*, family: str, paper: str = "", kinds: tuple[str, ...] = ("seq_cls", "causal_lm"),
           lr: tuple[float, float] = (1e-4, 3e-3), quantization: str | None = None,
           identity: bool = False):
    """Decorate a method's `apply` function with its metadata (read by `info`).

    identity: the method promises that the model computes exactly what the base model
    computes until the first optimizer step (zero-initialised updates); the contract tests
    hold it to that.
    """

    def wrap(fn: Callable[..., Applied]) -> Callable[..., Applied]:
        fn.__bench_method__ = dict(family=family, paper=paper, kinds=kinds, lr=lr,
                                   quantization=quantization, identity=identity)
        return fn

    return wrap


def options_of(fn: Callable[..., Any]) -> dict[str, inspect.Parameter]:
    """The keyword-only options of a method's apply function."""
    params = inspect.signature(fn).parameters.values()
    return {p.name: p for p in params if p.kind is inspect.Parameter.KEYWORD_ONLY}


def info(name: str, fn: Callable[..., Any]) -> MethodInfo:
    """The `MethodInfo` of a registered apply function."""
    meta = fn.__bench_method__
    module = inspect.getmodule(fn)
    doc = (module.__doc__ if module else "") or ""
    return MethodInfo(name=name, options={k: p.default for k, p in options_of(fn).items()},
                      summary=doc.strip().splitlines()[0] if doc.strip() else "", **meta)
