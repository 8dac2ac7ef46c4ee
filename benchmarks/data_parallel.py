"""Data-parallel trials: the same fit on 1 rank vs N ranks of a torchrun launch.

Each arm is a real launch (`torchrun --standalone --nproc_per_node N` of this file) that
trains one cell (real all-MiniLM-L6-v2 on real SST-2, tokenised by bench; full fine-tuning
and LoRA; micro-batch 32 of the whole launch, so each of N ranks takes 32/N examples; the
same steps and seed) with `bench.train.fit(team=…)` under bench's Monitor. Rank 0 reports
the loop's throughput, the final loss and the meter merged over the ranks.

Reported per method and N: examples/s of the training loop, the speed-up over 1 rank
(median over repeats, arms interleaved), and whether N ranks ended at the same loss as one
(without dropout they would be equal up to float reduction order, tests/test_team.py; the
models here keep their dropout, drawn per rank, so the losses differ a little). On CPU
each rank is one core (one torch thread), as each rank is one GPU on a GPU box
(`--ranks 1,2,4,8`, the case data parallelism is for): N ranks on N cores vs one on one.
Two torch threads in one process are not the baseline: on a shared VM their spin-waits
make them slower than one.

    python benchmarks/data_parallel.py [--ranks 1,2] [--steps 16] [--repeats 3] [--out FILE]
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _common as C

BATCH, MAX_LENGTH, SEED = 32, 64, 0
METHODS = {"full": "[methods.full]\nlr = 5e-5\n", "lora": "[methods.lora]\nr = 8\nlr = 5e-4\n"}


def rank_main(method: str, steps: int, out: str) -> None:
    """One rank of a launch: train the cell, rank 0 writes what it measured."""
    from bench.methods import METHODS as REGISTRY
    from bench.methods._base import Context
    from bench.monitor import Monitor
    from bench.team import join, merge_meters
    from bench.train import fit
    from bench.trial import fresh_model, load_cell

    C.quiet()
    team = join()
    suite, cells = C.minilm_suite(
        METHODS[method], train=f"max_train_samples = {steps * BATCH}\nmax_eval_samples = 64\n"
        f"max_length = {MAX_LENGTH}\nbatch_size = {BATCH}\nmax_steps = {steps}\n"
        "precision = \"fp32\"\neval_points = 1\n")
    cell = cells[0]
    cache = load_cell(cell, data_dir=suite.data_dir, base_dir=suite.base_dir, seed=SEED)
    applied = REGISTRY[method](fresh_model(cache, SEED), Context(
        kind="seq_cls", total_steps=steps, seed=SEED), **cell.options)
    with Monitor(hz=20) as mon:
        result = fit(applied, cache.prepared.train, [], cell.train, seed=SEED, team=team,
                     collate=cache.prepared.collate)
    meters = team.gather(mon.stats()) if team else [mon.stats()]
    if team is None or team.leader:
        Path(out).write_text(json.dumps({
            "samples": result.train_samples, "tokens": result.train_tokens,
            "loop_s": result.train_s, "loss": result.loss_last,
            "meter": merge_meters(meters)}, default=float))
    if team is not None:
        team.close()


def launch(method: str, ranks: int, steps: int) -> dict:
    """One torchrun launch of `ranks` processes; rank 0's measurements."""
    env = dict(os.environ, OMP_NUM_THREADS="1" if _gpus() == 0 else "4")
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
        out = f.name
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone",
           "--nproc_per_node", str(ranks), __file__, "--as-rank", method, str(steps), out]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"launch of {ranks} ranks failed:\n{proc.stdout[-2000:]}"
                         f"{proc.stderr[-4000:]}")
    data = json.loads(Path(out).read_text())
    os.unlink(out)
    data["launch_s"] = time.perf_counter() - t0
    data["per_s"] = data["samples"] / data["loop_s"]
    return data


def _gpus() -> int:
    import torch

    return torch.cuda.device_count()


def main() -> None:
    ap = C.parser("data_parallel", __doc__, repeats=3)
    ap.add_argument("--ranks", default="1,2")
    ap.add_argument("--steps", type=int, default=16)
    ap.add_argument("--methods", default="full,lora")
    args = ap.parse_args()
    ranks = [int(r) for r in args.ranks.split(",")]
    rows, summary = [], {}
    for method in args.methods.split(","):
        runs: dict[int, list[dict]] = {n: [] for n in ranks}
        for _ in range(args.repeats):  # interleaved: 1, 2, …, 1, 2, …
            for n in ranks:
                runs[n].append(launch(method, n, args.steps))
        base = C.median([r["per_s"] for r in runs[ranks[0]]])
        for n in ranks:
            per_s = C.median([r["per_s"] for r in runs[n]])
            loss_gap = max(abs(r["loss"] - runs[ranks[0]][0]["loss"]) for r in runs[n])
            meter = runs[n][0]["meter"]
            rows.append([method, n, per_s, per_s / base, loss_gap, meter.get("ranks", 1),
                         meter.get("device"), meter.get("peak_rss_bytes")])
            summary[f"{method}/{n}"] = {"examples_per_s": per_s, "speedup": per_s / base,
                                        "loss_gap_vs_first": loss_gap, "runs": runs[n]}
    print(C.table(rows, ["method", "ranks", "examples/s", "speed-up", "|Δ loss|",
                         "meter ranks", "device", "rss sum (B)"]))
    C.write_summary("data_parallel", args.out, {
        "setup": {"model": "all-MiniLM-L6-v2", "task": "SST-2", "batch": BATCH,
                  "max_length": MAX_LENGTH, "steps": args.steps, "ranks": ranks,
                  "repeats": args.repeats}, "results": summary})


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--as-rank":
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        rank_main(sys.argv[2], int(sys.argv[3]), sys.argv[4])
    else:
        main()
