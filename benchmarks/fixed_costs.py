"""Fixed costs of a trial: loading the model and tokenising the data, with and without the
per-cell caches, as a share of the trial's wall time.

The cell is CPU-smoke sized: real MiniLM + LoRA on real SST-2, 320 training and 200
validation examples, batch 16, max_length 64, two evaluation points (20 steps). Two kinds
of trial are interleaved in one process:

- cached (what `bench run` does): the cell's base model and tokenised splits are loaded
  once (`bench.trial.load_cell`, timed apart) and each trial deep-copies the base and
  applies the method (`meter.wall_load_s`); the load is also shown amortised over a
  10-trial budget;
- uncached: every trial loads the model and tokeniser from disk, reads the TSV and
  tokenises (`load_cell` after `bench.tasks.prepare.clear_cache()`), then trains.

Reported per kind: load + tokenise seconds, trial seconds, their share (target <= 5% with
the caches), and the rest of a trial's fixed cost (set-up and clean-up outside training,
evaluation and loading).

    python benchmarks/fixed_costs.py [--repeats 3] [--out FILE]
"""
from __future__ import annotations

import time

import _common as C

BUDGET = 10  # trials per cell to amortise the one-off cell load over (a typical suite)
TRAIN = ("max_train_samples = {n}\nmax_eval_samples = 200\nmax_length = 64\nbatch_size = 16\n"
         "epochs = 1\neval_points = 2\nprecision = \"fp32\"\n")


def trial(suite, cell, cache, cached: bool, seed: int) -> dict:
    """One tuning trial as the runner runs it; returns its timings."""
    from bench.tasks.prepare import clear_cache
    from bench.trial import execute, load_cell

    t0 = time.perf_counter()
    cell_load = 0.0
    if not cached:
        clear_cache()
        cache = load_cell(cell, data_dir=suite.data_dir, base_dir=suite.base_dir, seed=0)
        cell_load = time.perf_counter() - t0
    out = execute(cache, {"lr": 5e-4}, seed=seed, split="validation", metric="accuracy")
    wall = time.perf_counter() - t0
    m = out["meter"]
    return {"wall_s": wall, "cell_load_s": cell_load, "trial_load_s": m["wall_load_s"],
            "train_s": m["wall_train_s"], "eval_s": m["wall_eval_s"],
            "other_s": wall - cell_load - m["wall_load_s"] - m["wall_train_s"] - m["wall_eval_s"]}


def main() -> None:
    from bench.trial import load_cell

    args = C.parser("fixed_costs", __doc__, repeats=3).parse_args()
    n = 96 if args.quick else 320
    repeats = 1 if args.quick else args.repeats
    C.quiet()
    suite, cells = C.minilm_suite("[methods.lora]\nr = 8\n", train=TRAIN.format(n=n))
    cell = cells[0]
    t0 = time.perf_counter()
    cache = load_cell(cell, data_dir=suite.data_dir, base_dir=suite.base_dir, seed=0)
    first_load = time.perf_counter() - t0  # includes importing transformers' model code
    runs: dict[str, list[dict]] = {"cached": [], "uncached": []}

    def arm(kind):
        def go():
            r = trial(suite, cell, cache, kind == "cached", seed=len(runs[kind]))
            runs[kind].append(r)
            return r["wall_s"]
        return go

    C.interleave({k: arm(k) for k in runs}, repeats)
    summary = summarise({k: v[1:] for k, v in runs.items()}, first_load, n)
    print_summary(summary)
    C.write_summary("fixed_costs", args.out, summary)


def summarise(runs: dict[str, list[dict]], first_load: float, n: int) -> dict:
    cached, uncached = runs["cached"], runs["uncached"]
    cell_load = C.median([r["cell_load_s"] for r in uncached])  # a load with warm imports
    out = {}
    for kind, rs in runs.items():
        load = [r["cell_load_s"] + r["trial_load_s"] for r in rs]
        share = [x / r["wall_s"] for x, r in zip(load, rs)]
        out[kind] = {"load_s": C.spread(load), "trial_s": C.spread([r["wall_s"] for r in rs]),
                     "share": C.spread(share),
                     "train_s": C.median([r["train_s"] for r in rs]),
                     "eval_s": C.median([r["eval_s"] for r in rs]),
                     "other_fixed_s": C.spread([r["other_s"] for r in rs])}
    amortised = [(r["trial_load_s"] + cell_load / BUDGET) / (r["wall_s"] + cell_load / BUDGET)
                 for r in cached]
    out["cached"]["share_amortised_over_budget"] = C.spread(amortised)
    return {"cell": {"model": "all-MiniLM-L6-v2", "method": "lora r=8", "task": "SST-2",
                     "train_examples": n, "validation_examples": 200, "eval_points": 2,
                     "budget_for_amortising": BUDGET},
            "cell_load_s": cell_load, "first_cell_load_s_cold_imports": first_load,
            "kinds": out, "target": "load + tokenise <= 5% of trial time (cached)",
            "met": out["cached"]["share_amortised_over_budget"]["median"] <= 0.05}


def print_summary(s: dict) -> None:
    rows = []
    for kind, r in s["kinds"].items():
        rows.append([kind, r["load_s"]["median"], r["trial_s"]["median"],
                     f"{100 * r['share']['median']:.1f}%", r["train_s"], r["eval_s"],
                     r["other_fixed_s"]["median"]])
    print(C.table(rows, ["trials", "load+tokenise s", "trial s", "share", "train s",
                         "eval s", "other fixed s"]))
    am = s["kinds"]["cached"]["share_amortised_over_budget"]["median"]
    print(f"cell load (model + tokeniser + SST-2 read + tokenise): {s['cell_load_s']:.2f} s "
          f"(first, with cold imports: {s['first_cell_load_s_cold_imports']:.2f} s); cached "
          f"share with that load amortised over {BUDGET} trials: {100 * am:.1f}%")
    print(f"target <= 5% with caches: {'met' if s['met'] else 'NOT met'}")


if __name__ == "__main__":
    main()
