"""Every default in one visible place, with what changing it does.

A suite's `[train]` and `[tune]` tables override these field by field; a method table may
override (fix, grid or tune) the keys in `PER_METHOD_TRAIN_KEYS`.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TrainSpec:
    """Fixed training settings of every trial in a cell."""

    epochs: float = 1.0  # passes over the (subsampled) train split; more = slower, often better
    max_steps: int | None = None  # optimizer steps; overrides epochs when set
    batch_size: int = 16  # examples per optimizer step (before accumulation)
    eval_batch_size: int = 64  # only affects evaluation speed/memory
    grad_accum: int = 1  # micro-batches per optimizer step: same result, less memory
    max_length: int = 128  # tokens per example after truncation; longer = slower
    lr: float = 2e-5  # used only when a method table neither fixes nor tunes lr
    warmup_ratio: float = 0.06  # share of steps with linear warm-up (RoBERTa/LoRA papers: 0.06)
    weight_decay: float = 0.01  # AdamW decoupled weight decay
    max_grad_norm: float = 1.0  # gradient clipping; 0 disables it
    precision: str = "auto"  # auto = bf16 on GPUs that support it, fp32 on CPU; fp32|bf16|fp16
    max_train_samples: int | None = None  # stratified seeded subsample of train; None = all
    max_eval_samples: int | None = None  # cap on validation and test examples; None = all
    val_fraction: float = 0.1  # share of train carved out (stratified, seeded) for tuning
    eval_points: int = 4  # validation evaluations per trial, reported to the pruner


@dataclass(frozen=True)
class TuneSpec:
    """The tuning budget: identical for every method, which is what makes the comparison fair."""

    trials: int = 2  # Optuna trials per cell; more = better-tuned methods, linear cost
    sampler: str = "tpe"  # tpe | random | qmc | cmaes | grid (see bench/tune.py)
    pruner: str = "median"  # median | successive_halving | hyperband | none
    metric: str | None = None  # tuned metric; None = the task's primary metric
    direction: str = "maximize"  # maximize | minimize (e.g. for metric = "loss")
    seed: int = 0  # sampler seed: same seed = same proposals = reproducible studies


# Train keys a method table may set (fixed, a grid axis, or a search dimension): methods
# differ in what learning rate or schedule they need, so fairness is the same budget, not
# the same values.
PER_METHOD_TRAIN_KEYS = ("lr", "weight_decay", "warmup_ratio", "batch_size", "grad_accum",
                         "epochs", "max_steps", "max_grad_norm")

SEEDS = (0,)  # seeds of the final re-runs of each cell's best configuration
OUTPUT_DIR = "results"  # runs land in <output>/<suite name>/<run id>/
MONITOR_HZ = 20.0  # metering sampler rate; 0 = only start/end samples
# NVML reads are capped at this rate whatever MONITOR_HZ is: NVML's utilisation and power are
# themselves averages over ~1/6-1 s windows, so faster reads add no information, only GIL
# hand-offs that slow a launch-bound GPU loop (7.7% per step at 20 Hz on an H100, bf16
# BERT-base, batch 32; benchmarks/gpu_overhead.py). Raising it costs step time there.
NVML_MAX_HZ = 4.0
DATA_DIR_ENV = "BENCH_DATA_DIR"  # env var naming a local data folder (GLUE layout)
