"""Model FLOPs utilisation (MFU): training FLOPs by the 6N/4N rule over a GPU's dense peak.

Convention (Kaplan et al. 2020, arXiv:2001.08361; Chowdhery et al. 2022, arXiv:2204.02311,
appendix B): a dense transformer with N matmul parameters spends 2N FLOPs per token in the
forward pass, 2N in the backward pass for gradients w.r.t. activations, and 2N for gradients
w.r.t. weights. Full fine-tuning therefore costs 6N per token. When the base is frozen
(LoRA, adapters, prompt tuning...) the weight-gradient matmuls of frozen weights are skipped
but activation gradients still flow through every layer, so the cost is 4N + 2T per token,
T = trainable parameters (which gives 6N when T = N). Attention's sequence-length term
(2·layers·seq·width per token) is left out, as is usual for short sequences; methods whose
trainable parameters sit only at the top (head-only, BitFit on the last layer) need less
backward work than 4N, so their MFU is slightly overstated.

N counts parameters that take part in a matmul for every token: embedding tables are
lookups and are excluded, an output projection onto the vocabulary is included even when
its weight is tied to the input embedding (see `flop_params`).
"""
from __future__ import annotations

import re
from typing import Any

# Dense (no 2:4 sparsity) peak throughput in TFLOP/s per GPU, from NVIDIA's spec sheets; the
# sheets print tensor-core figures "with sparsity", which are twice the dense ones used here.
# fp32 is the non-tensor (CUDA core) rate: torch runs float32 matmuls without TF32 unless
# torch.backends.cuda.matmul.allow_tf32 (or set_float32_matmul_precision) is set.
# Patterns are tried in order, so specific names come before the families they contain.
_PEAKS: list[tuple[str, dict[str, float]]] = [
    # GH200 (Grace Hopper) datasheet: H100-class GPU, 989 TF bf16 dense
    (r"GH200", {"bf16": 989.4, "fp16": 989.4, "tf32": 494.7, "fp32": 66.9}),
    # H200 NVL datasheet: bf16 1671*, tf32 835*, fp32 60 (* sparse)
    (r"H200 NVL", {"bf16": 835.5, "fp16": 835.5, "tf32": 417.5, "fp32": 60.0}),
    # H200 SXM datasheet (nvidia.com/en-us/data-center/h200): bf16 1979*, tf32 989*, fp32 67
    (r"H200", {"bf16": 989.4, "fp16": 989.4, "tf32": 494.7, "fp32": 66.9}),
    # H100 datasheet (resources.nvidia.com/en-us-tensor-core): NVL bf16 1671*, tf32 835*, fp32 60
    (r"H100 NVL", {"bf16": 835.5, "fp16": 835.5, "tf32": 417.5, "fp32": 60.0}),
    # H100 PCIe: bf16 1513*, tf32 756*, fp32 51
    (r"H100 PCIe", {"bf16": 756.5, "fp16": 756.5, "tf32": 378.0, "fp32": 51.2}),
    # H100 SXM5 ("H100 80GB HBM3"): bf16 1979*, tf32 989*, fp32 67
    (r"H100", {"bf16": 989.4, "fp16": 989.4, "tf32": 494.7, "fp32": 66.9}),
    # A100 datasheet (SXM4 and PCIe, 40/80 GB): bf16 312, tf32 156, fp32 19.5
    (r"A100", {"bf16": 312.0, "fp16": 312.0, "tf32": 156.0, "fp32": 19.5}),
    # L40S datasheet: bf16 733*, tf32 366*, fp32 91.6
    (r"L40S", {"bf16": 362.1, "fp16": 362.1, "tf32": 183.0, "fp32": 91.6}),
    # L4 datasheet: bf16 242*, tf32 120*, fp32 30.3
    (r"\bL4\b", {"bf16": 121.0, "fp16": 121.0, "tf32": 60.0, "fp32": 30.3}),
    # A10 datasheet: bf16 125 (250*), tf32 62.5 (125*), fp32 31.2. AWS publishes no sheet for
    # its A10G variant; the A10's figures are used as its upper bound.
    (r"\bA10G?\b", {"bf16": 125.0, "fp16": 125.0, "tf32": 62.5, "fp32": 31.2}),
    # V100 datasheet: SXM2 fp16 tensor 125, fp32 15.7; PCIe 112 / 14. No bf16, no tf32.
    (r"V100.*PCIE", {"fp16": 112.0, "fp32": 14.0}),
    (r"V100", {"fp16": 125.0, "fp32": 15.7}),
    # T4 datasheet: fp16 (mixed) 65, fp32 8.1. No bf16, no tf32.
    (r"\bT4\b", {"fp16": 65.0, "fp32": 8.1}),
]

_DTYPES = {
    "bf16": "bf16", "bfloat16": "bf16", "bf16-mixed": "bf16", "bf16_mixed": "bf16",
    "fp16": "fp16", "float16": "fp16", "half": "fp16", "fp16-mixed": "fp16",
    "fp16_mixed": "fp16", "tf32": "tf32",
    "fp32": "fp32", "float32": "fp32", "float": "fp32", "no": "fp32", "32": "fp32",
}


def train_flops(n_params: int, trainable: int, tokens: int) -> float:
    """Training FLOPs for `tokens` tokens: (4N + 2T) per token, 6N when T = N.

    n_params: matmul parameters N of the whole model (`flop_params`); trainable: T, the
    parameters that receive weight gradients (capped at N); tokens: tokens trained on (the
    meter's non-padding `train_tokens`, so padding counts as waste).
    """
    if n_params < 0 or trainable < 0 or tokens < 0:
        raise ValueError(f"train_flops needs non-negative counts, got "
                         f"n_params={n_params}, trainable={trainable}, tokens={tokens}")
    return float(tokens) * (4.0 * n_params + 2.0 * min(trainable, n_params))


def peak_flops(device_name: str | None, dtype: str | None) -> float | None:
    """Dense peak FLOP/s of one GPU called `device_name` (NVML's or torch's name) at `dtype`.

    None for unknown GPUs, CPUs and dtypes a GPU has no fast path for (bf16 on a T4).
    """
    if not device_name or not dtype:
        return None
    key = _DTYPES.get(str(dtype).lower().removeprefix("torch."))
    if key is None:
        return None
    for pattern, table in _PEAKS:
        if re.search(pattern, device_name, flags=re.IGNORECASE):
            tflops = table.get(key)
            return None if tflops is None else tflops * 1e12
    return None


def mfu(flops: float | None, seconds: float | None, peak: float | None,
        n_devices: int = 1) -> float | None:
    """Achieved FLOP/s over the peak of `n_devices` GPUs (0..1); None when anything is unknown."""
    if flops is None or peak is None or not seconds or seconds <= 0 or peak <= 0:
        return None
    return flops / seconds / (peak * max(n_devices, 1))


def flop_params(model: Any) -> int:
    """N for `train_flops`: parameters used in matmuls per token (torch model).

    Embedding tables are excluded (lookups); an output layer onto the vocabulary counts even
    when tied to the input embedding. 4-bit bitsandbytes weights count by their logical
    shape, not their packed storage.
    """
    import torch

    def count(p: Any) -> int:
        shape = getattr(getattr(p, "quant_state", None), "shape", None)
        return int(torch.Size(shape).numel()) if shape is not None else p.numel()

    total = sum(count(p) for p in model.parameters())  # parameters() skips tied duplicates
    embedded = {id(m.weight) for m in model.modules() if isinstance(m, torch.nn.Embedding)}
    total -= sum(count(p) for p in model.parameters() if id(p) in embedded)
    out = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
    weight = getattr(out, "weight", None)
    if weight is not None and id(weight) in embedded:  # tied head: still a matmul per token
        total += count(weight)
    return total
