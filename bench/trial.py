"""One training run of a cell: fresh model from the cell cache, method applied, trained,
evaluated and metered. Returns the record fields it measured; the tuner decides the rest.

The base model and the tokenised data are loaded once per cell (`CellCache`) and reused by
every trial: a trial deep-copies the cached base and re-draws only the newly initialised
task head with its own seed, so no trial re-reads weights or data from disk.
"""
from __future__ import annotations

import copy
import os
import time
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from typing import Any, Callable

from bench.defaults import DATA_DIR_ENV, MONITOR_HZ, PER_METHOD_TRAIN_KEYS
from bench.grid import Cell
from bench.team import Team, merge_meters, ready


@dataclass
class CellCache:
    """What every trial of a cell shares: the loaded base model and the tokenised splits."""

    cell: Cell
    base: Any  # the base model as loaded (never trained); None when it cannot be copied
    tokenizer: Any
    prepared: Any  # bench.tasks.prepare.Prepared
    load_s: float
    data_dir: str | None
    base_dir: str
    counts: dict = field(default_factory=dict)  # method options -> parameter accounting


def data_dir_for(suite_data_dir: str | None) -> str | None:
    """BENCH_DATA_DIR wins over the suite's data_dir (the environment is the override)."""
    return os.environ.get(DATA_DIR_ENV) or suite_data_dir


def _load_model(cell: Cell, seed: int, num_labels: int):
    from bench.models import load

    return load(cell.model.ref, kind=cell.model.kind,  # causal LMs have no task head
                num_labels=num_labels if cell.model.kind == "seq_cls" else None,
                dtype=cell.model.dtype, quantization=cell.quantization, seed=seed,
                revision=cell.model.revision, compute_dtype=compute_dtype(cell))


def compute_dtype(cell: Cell) -> str | None:
    """What a 4-bit base dequantises to: the autocast dtype when training runs in bf16/fp16
    (on a GPU), else the model dtype. With fp32 compute under bf16 autocast every 4-bit layer
    casts its input up and its output down again (bitsandbytes warns that this is slow): on
    an H100, QLoRA on BERT-base ran 1.5x slower in bf16 than in fp32 that way; with the
    compute dtype following, bf16 is 1.5-2.4x faster than fp32 (benchmarks/gpu.py)."""
    if cell.quantization != "nf4":
        return None
    from bench.accel import mixed_precision_here

    return {"bf16": "bfloat16", "fp16": "float16"}.get(mixed_precision_here(cell.train.precision))


def load_cell(cell: Cell, *, data_dir: str | None, base_dir: str, seed: int) -> CellCache:
    """Load the base model and tokenise the task once for all trials of `cell`."""
    from bench.tasks.load import resolve_labels
    from bench.tasks.prepare import prepare

    t0 = time.perf_counter()
    task = resolve_labels(cell.task, data_dir=data_dir, base_dir=base_dir)  # inline: infer
    model, tokenizer = _load_model(cell, seed, task.num_labels)
    spec = cell.train
    prepared = prepare(cell.task, tokenizer, max_length=spec.max_length, data_dir=data_dir,
                       base_dir=base_dir, max_train_samples=spec.max_train_samples,
                       max_eval_samples=spec.max_eval_samples,
                       val_fraction=spec.val_fraction, seed=0)
    # Quantised weights cannot be deep-copied reliably: such cells reload per trial.
    base = None if cell.quantization else model
    return CellCache(cell, base, tokenizer, prepared, time.perf_counter() - t0, data_dir,
                     base_dir)


def fresh_model(cache: CellCache, seed: int):
    """A pristine base model whose new task head is initialised from `seed`."""
    if cache.base is None:
        return _load_model(cache.cell, seed, cache.prepared.num_labels)[0]
    import torch
    from transformers import set_seed

    model = copy.deepcopy(cache.base)
    set_seed(seed)
    for name in getattr(cache.base, "_bench_new_modules", ()):
        module = model.get_submodule(name)
        with torch.no_grad():
            model._init_weights(module)
    return model


def split_params(params: dict[str, Any]) -> tuple[dict, dict]:
    """Sampled params -> (train overrides, method options)."""
    train = {k: v for k, v in params.items() if k in PER_METHOD_TRAIN_KEYS}
    return train, {k: v for k, v in params.items() if k not in PER_METHOD_TRAIN_KEYS}


def execute(cache: CellCache, params: dict[str, Any], *, seed: int, split: str,
            on_eval: Callable[[int, dict], None] | None = None, metric: str | None = None,
            monitor_hz: float = MONITOR_HZ, team: Team | None = None) -> dict[str, Any]:
    """Train once with `params` and evaluate on `split`; return the measured record fields.

    Raises what the loop raises (optuna.TrialPruned, train.Diverged, OOM, Unavailable):
    classifying failures is the tuner's job. With a `team` (a data-parallel launch, see
    bench/team.py) every rank calls this for the same trial; the leader alone evaluates
    and gets the record fields (its meter sums the ranks'), the followers get {}.
    """
    from bench.monitor import Monitor
    from bench.train import evaluate, fit, make_evaluate_fn

    cell, data = cache.cell, cache.prepared
    lead = team is None or team.leader
    # a rank meters the GPU it trains on (cuda:LOCAL_RANK), not the process's device 0
    gpu = team.device if team is not None and getattr(team.device, "type", "") == "cuda" \
        else None
    with Monitor(hz=monitor_hz, device_index=None if gpu is None else gpu.index) as mon:
        t0 = time.perf_counter()
        applied, spec, counts = ready(team, lambda: _build(cache, params, seed))
        load_s = time.perf_counter() - t0
        # Tuning evaluates on validation at the eval points (the last one is the trial's
        # result); a final run trains without looking at validation and is scored once on
        # the held-out split.
        tuning = split == "validation"
        eval_fn = make_evaluate_fn(cell.task, data.collate, spec.eval_batch_size) if tuning \
            else None
        result = fit(applied, data.train, data.validation, spec, collate=data.collate,
                     evaluate_fn=eval_fn, on_eval=on_eval, seed=seed, metric=metric,
                     team=team)
        with team.section() if team is not None else nullcontext():
            final = None if tuning or not lead else evaluate(
                applied.model, getattr(data, split), collate=data.collate,
                batch_size=spec.eval_batch_size, task=cell.task)
    stats = mon.stats()
    if team is not None:
        with team.section():
            stats = merge_meters(team.gather(stats))
        if not lead:
            return {}
    meter = _meter(stats, result, final, load_s, counts, spec,
                   _flop_params(cache, applied.model))
    metrics = dict(result.final_metrics if final is None else final.metrics)
    out = {"metrics": metrics, "counts": counts, "meter": meter,
           "history": [{"step": h["step"], "value": h.get("value")} for h in result.history]}
    if final is not None:
        out["predictions"] = {"preds": list(final.preds), "labels": list(final.labels)}
    return out


def _build(cache: CellCache, params: dict[str, Any], seed: int) -> tuple[Any, Any, dict]:
    """A fresh model with the method applied: (applied, train spec, parameter counts)."""
    from bench.count import count
    from bench.methods import METHODS
    from bench.methods._base import Context
    from bench.train import total_steps

    cell = cache.cell
    train_over, opt_over = split_params(params)
    spec = replace(cell.train, **train_over)
    model = fresh_model(cache, seed)
    steps = total_steps(len(cache.prepared.train), spec)
    applied = METHODS[cell.method](model, Context(kind=cell.model.kind, total_steps=steps,
                                                  seed=seed), **cell.options, **opt_over)
    # Counting saves the method's weights to measure stored bytes: once per options.
    key = repr(sorted(opt_over.items()))
    if key not in cache.counts:
        cache.counts[key] = count(applied).as_dict()
    return applied, spec, cache.counts[key]


def _flop_params(cache: CellCache, model) -> int:
    """N of the 6N/4N FLOPs convention (no embedding tables), once per cell."""
    from bench.flops import flop_params

    if "flop_params" not in cache.counts:
        cache.counts["flop_params"] = flop_params(model)
    return cache.counts["flop_params"]


def _dtype(precision: str, gpu: bool) -> str:
    """The compute dtype a TrainSpec precision resolves to (for the peak-FLOPs lookup)."""
    import torch

    from bench.train import resolve_precision

    mode = resolve_precision(precision, gpu, gpu and torch.cuda.is_bf16_supported())
    return {"no": "fp32"}.get(mode, mode)


def _meter(stats: dict, result, final, load_s: float, counts: dict, spec,
           n_flop: int) -> dict:
    from bench.flops import mfu, peak_flops, train_flops

    train_s = max(result.train_s, 1e-9)
    meter = dict(stats) | {
        "wall_load_s": load_s, "wall_train_s": result.train_s,
        "wall_eval_s": result.eval_s + (final.seconds if final else 0.0),
        "train_steps": result.steps, "train_samples": result.train_samples,
        "train_tokens": result.train_tokens,
        "samples_per_s": result.train_samples / train_s,
        "tokens_per_s": result.train_tokens / train_s,
    }
    # Frozen base: 4N per token (forward + activation gradients) plus 2 per trainable param.
    flops = train_flops(n_flop, min(counts["trainable"], n_flop), result.train_tokens)
    meter["flops"] = flops
    gpu = stats.get("gpu_name")
    peak = peak_flops(gpu, _dtype(spec.precision, True)) if gpu else None
    meter["mfu"] = mfu(flops, result.train_s, peak, n_devices=stats.get("gpu_count") or 1)
    return meter
