"""Overhead of bench's training loop: `bench.train.fit` vs a plain PyTorch + PEFT loop.

Both arms train the same cell (real all-MiniLM-L6-v2 + LoRA r=8 on query/value, head and
pooler trained, real SST-2 tokenised by bench, batch 16, same steps, same seed, same
AdamW groups, schedule and clipping) from the same starting weights, interleaved
(bench, plain, then plain, bench, …) in one process. The plain arm builds its
model with peft's own `get_peft_model` and writes the loop out by hand; the bench arm
applies bench's `lora` method and calls `fit`.

Reported: throughput (examples/s) of each arm end to end (the whole call: optimizer,
accelerate set-up, loop, clean-up), of the loop alone, and per CPU second of the whole
call (process CPU time: far steadier than wall time when other processes share the cores,
and with one torch thread it is the work done); the per-round ratios bench/plain and their
median (target >= 0.98); and whether the arms ended with the same training loss (they do
the same arithmetic, so on CPU it is bit-identical), and `fit`'s own set-up and clean-up
time (its wall time minus its loop time). This is the script that found accelerate's
`free_memory()` costing 0.8 s of `gc.collect()` per trial (see docs/performance.md).

    python benchmarks/overhead.py [--steps 24] [--repeats 8] [--out FILE]
"""
from __future__ import annotations

import math
import time

import _common as C

BATCH, MAX_LENGTH, LR, SEED = 16, 64, 5e-4, 0


def build(steps: int):
    """The cell, its cache (base model + tokenised SST-2), and the spec both arms use."""
    from bench.trial import load_cell

    suite, cells = C.minilm_suite(
        "[methods.lora]\nr = 8\nlr = 5e-4\n",
        train=f"max_train_samples = {steps * BATCH}\nmax_eval_samples = 64\n"
              f"max_length = {MAX_LENGTH}\nbatch_size = {BATCH}\nmax_steps = {steps}\n"
              f"precision = \"fp32\"\neval_points = 1\n")
    cell = cells[0]
    cache = load_cell(cell, data_dir=suite.data_dir, base_dir=suite.base_dir, seed=SEED)
    return cell, cache


def bench_arm(cell, cache) -> dict:
    """bench's method + `fit`, timed around the whole call."""
    from bench.methods import METHODS
    from bench.methods._base import Context
    from bench.train import fit
    from bench.trial import fresh_model

    spec = cell.train
    model = fresh_model(cache, SEED)
    applied = METHODS["lora"](model, Context(kind="seq_cls", total_steps=spec.max_steps,
                                             seed=SEED), **cell.options)
    t0, c0 = time.perf_counter(), time.process_time()
    result = fit(applied, cache.prepared.train, [], spec, collate=cache.prepared.collate,
                 seed=SEED)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {"wall_s": wall, "cpu_s": cpu, "loop_s": result.train_s,
            "samples": result.train_samples, "loss": result.loss_last,
            "trainable": _trainable(applied.model)}


def plain_arm(cell, cache) -> dict:
    """peft's get_peft_model and a hand-written loop doing the same arithmetic."""
    import torch
    from peft import LoraConfig, get_peft_model

    from bench.trial import fresh_model

    spec, data = cell.train, cache.prepared
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model = fresh_model(cache, SEED)
    config = LoraConfig(r=8, lora_alpha=16, lora_dropout=0.1, target_modules=["query", "value"],
                        task_type="SEQ_CLS", modules_to_save=["classifier", "pooler"])
    model = get_peft_model(model, config).to(device)
    t0, c0 = time.perf_counter(), time.process_time()
    torch.manual_seed(SEED)
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    no_decay = [p for n, p in named if n.endswith("bias") or "LayerNorm" in n]
    decay = [p for n, p in named if not (n.endswith("bias") or "LayerNorm" in n)]
    params = decay + no_decay
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": spec.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}], lr=spec.lr,
                            fused=True if device.type == "cuda" else None)
    total, warm = spec.max_steps, math.ceil(spec.warmup_ratio * spec.max_steps)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: s / max(1, warm) if s < warm
                                              else max(0.0, (total - s) / max(1, total - warm)))
    gen = torch.Generator().manual_seed(SEED)
    order: list[int] = []
    model.train()
    t1 = time.perf_counter()
    samples, loss = 0, None
    for _ in range(total):
        if len(order) < BATCH:
            order += torch.randperm(len(data.train), generator=gen).tolist()
        idx, order = order[:BATCH], order[BATCH:]
        batch = {k: v.to(device) for k, v in data.collate([data.train[i] for i in idx]).items()}
        loss = model(**batch).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, spec.max_grad_norm)
        opt.step()
        sched.step()
        opt.zero_grad(set_to_none=True)
        samples += len(idx)
    last = loss.item()
    if device.type == "cuda":
        torch.cuda.synchronize()
    t2 = time.perf_counter()
    return {"wall_s": t2 - t0, "cpu_s": time.process_time() - c0, "loop_s": t2 - t1,
            "samples": samples, "loss": last,
            "trainable": _trainable(model)}


def _trainable(model) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def main() -> None:
    p = C.parser("overhead", __doc__, repeats=8)
    p.add_argument("--steps", type=int, default=24, help="optimizer steps per fit")
    args = p.parse_args()
    p_steps = 8 if args.quick else args.steps
    repeats = 2 if args.quick else args.repeats
    C.quiet()
    cell, cache = build(p_steps)
    runs: dict[str, list[dict]] = {"bench": [], "plain": []}
    fns = {"bench": bench_arm, "plain": plain_arm}

    def arm(name):
        def go():
            r = fns[name](cell, cache)
            runs[name].append(r)
            return r["wall_s"]
        return go

    C.interleave({name: arm(name) for name in runs}, repeats)
    # [0] is the untimed warm-up round
    summary = summarise(runs["bench"][1:], runs["plain"][1:], p_steps)
    print_summary(summary)
    C.write_summary("overhead", args.out, summary)


def summarise(b: list[dict], p: list[dict], steps: int) -> dict:
    kinds = ("wall", "loop", "cpu")
    tput = {name: {"wall": [r["samples"] / r["wall_s"] for r in rs],
                   "loop": [r["samples"] / r["loop_s"] for r in rs],
                   "cpu": [r["samples"] / r["cpu_s"] for r in rs]}
            for name, rs in (("bench", b), ("plain", p))}
    ratios = {k: C.paired_ratios(tput["bench"][k], tput["plain"][k]) for k in kinds}
    return {
        "cell": {"model": "all-MiniLM-L6-v2", "method": "lora r=8 (query, value) + head",
                 "task": "SST-2", "batch_size": BATCH, "max_length": MAX_LENGTH,
                 "steps": steps, "precision": "fp32"},
        "throughput_examples_per_s": {a: {k: C.spread(v) for k, v in d.items()}
                                      for a, d in tput.items()},
        "ratio_bench_over_plain": {k: C.spread(v) for k, v in ratios.items()},
        "ratio_of_medians": {k: C.median(tput["bench"][k]) / C.median(tput["plain"][k])
                             for k in kinds},
        "cleanup_s_per_fit": C.spread([x["wall_s"] - x["loop_s"] for x in b]),
        "same_final_loss": all(x["loss"] == y["loss"] for x, y in zip(b, p)),
        "final_loss": {"bench": [x["loss"] for x in b], "plain": [y["loss"] for y in p]},
        "trainable_params": {"bench": b[0]["trainable"], "plain": p[0]["trainable"]},
        "target": "ratio_bench_over_plain median >= 0.98 (wall and CPU time)",
        "met": C.median(ratios["wall"]) >= 0.98 and C.median(ratios["cpu"]) >= 0.98,
    }


def print_summary(s: dict) -> None:
    t, r = s["throughput_examples_per_s"], s["ratio_bench_over_plain"]
    rows = [[k, t["bench"][k]["median"], t["plain"][k]["median"], r[k]["median"],
             f"{r[k]['min']:.3f}–{r[k]['max']:.3f}", r[k]["n"]] for k in ("wall", "loop", "cpu")]
    print(C.table(rows, ["timed", "bench ex/s", "plain ex/s", "ratio (median of paired)",
                         "ratio range", "rounds"]))
    print(f"fit set-up + clean-up: {s['cleanup_s_per_fit']['median']:.3f} s per call")
    print(f"same final loss in every round: {s['same_final_loss']}  "
          f"trainable params bench/plain: {s['trainable_params']}")
    print("target bench/plain >= 0.98 end to end (wall and CPU): "
          + ("met" if s["met"] else "NOT met"))


if __name__ == "__main__":
    main()
