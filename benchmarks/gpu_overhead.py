"""bench's training loop vs a plain PyTorch loop on a GPU, where a small batch leaves the
step bound by the CPU launching kernels (the regime in which per-step overhead shows).

Arms, interleaved (order flipped every round), full fine-tuning of a random BERT-base-
shaped classifier, batch 32 × 128 tokens, bf16 autocast, fused AdamW, clipping:
  plain        hand-written loop, one batch already on the GPU (benchmarks/_gpu_plain.py)
  plain+data   the same loop, drawing and collating bench's tokenised examples each step
               and copying them to the GPU (the data path every real loop has)
  bench        `bench.train.fit` (accelerate, lr schedule, deferred loss checks)
  bench+meter  `fit` inside `bench.monitor.Monitor` at 20 Hz, as every trial runs
Reported: ms per optimizer step (median over rounds) and throughput ratios to `plain`.

    python benchmarks/gpu_overhead.py [--steps 60] [--repeats 3] [--precision bf16]
"""
from __future__ import annotations

import tempfile
from pathlib import Path

import _common as C
import gpu as G
from _gpu_plain import plain_step_ms, timed_ms, train_step


def bench_ms(cache, precision: str, monitored: bool) -> float:
    """ms per step of `fit`'s loop (its own CUDA-synchronised train_s) on a fresh copy."""
    from contextlib import nullcontext

    from bench.methods import METHODS
    from bench.methods._base import Context
    from bench.monitor import Monitor
    from bench.train import fit
    from bench.trial import fresh_model

    spec = cache.cell.train
    applied = METHODS["full"](fresh_model(cache, 0), Context(total_steps=spec.max_steps))
    with Monitor(hz=20) if monitored else nullcontext():
        result = fit(applied, cache.prepared.train, [], spec, collate=cache.prepared.collate,
                     seed=0)
    return 1000 * result.train_s / result.steps


def plain_data_ms(cache, precision: str, steps: int) -> float:
    """The plain loop fed like a real one: examples drawn, collated and copied each step."""
    import torch

    model = G.unquantized(cache.cell).cuda().train()
    opt = torch.optim.AdamW(model.parameters(), lr=2e-5, fused=True)
    train, collate = cache.prepared.train, cache.prepared.collate
    order = torch.randperm(len(train), generator=torch.Generator().manual_seed(0)).tolist()

    def batch(i: int) -> dict:
        idx = order[(i * G.BATCH) % (len(order) - G.BATCH):][:G.BATCH]
        return {k: v.to("cuda", non_blocking=True)
                for k, v in collate([train[j] for j in idx]).items()}

    return timed_ms(lambda i: train_step(model, opt, batch(i), precision), steps)


def main() -> None:
    p = C.parser("gpu_overhead", __doc__, repeats=3)
    p.add_argument("--steps", type=int, default=60)
    p.add_argument("--precision", default="bf16", choices=["bf16", "fp32"])
    args = p.parse_args()
    import torch

    if not torch.cuda.is_available():
        print("gpu_overhead.py skipped: no CUDA device visible (run it on a GPU machine)")
        C.write_summary("gpu_overhead", args.out, {"skipped": True, "reason": "no CUDA"})
        return
    C.quiet()
    from bench.modelref import resolve
    from bench.trial import load_cell

    folder = Path(tempfile.mkdtemp(prefix="bench-gpu-overhead-"))
    G.write_task(folder, int(args.steps * G.BATCH / 0.85) + 64, 0)
    G.write_task(folder, 64, 1)
    refs = G.models(folder, False, ["bert-base"])
    s, cells = G.suite(folder, refs, args.precision, args.steps)
    cell = next(c for c in cells if c.method == "full")
    cache = load_cell(cell, data_dir=None, base_dir=s.base_dir, seed=0)
    ref = resolve(cell.model.ref)
    arms = {"plain": lambda: plain_step_ms(ref, args.precision, G.BATCH, G.LENGTH, args.steps),
            "plain+data": lambda: plain_data_ms(cache, args.precision, args.steps),
            "bench": lambda: bench_ms(cache, args.precision, False),
            "bench+meter": lambda: bench_ms(cache, args.precision, True)}
    ms = C.interleave(arms, args.repeats)
    med = {k: C.median(v) for k, v in ms.items()}
    ratios = {k: med["plain"] / v for k, v in med.items()}
    print(C.table([[k, med[k], ratios[k], v] for k, v in ms.items()],
                  ["arm", "median ms/step", "throughput vs plain", "rounds"]))
    C.write_summary("gpu_overhead", args.out, {
        "setup": {"model": "bert-base-shape (random init)", "method": "full",
                  "precision": args.precision, "batch": G.BATCH, "max_length": G.LENGTH,
                  "steps": args.steps, "repeats": args.repeats},
        "ms_per_step": ms, "median_ms": med, "throughput_vs_plain": ratios})


if __name__ == "__main__":
    main()
