"""Search efficiency: the pruned Optuna study vs exhaustive training of the same trials.

A small grid of cells (real all-MiniLM-L6-v2 on real SST-2; LoRA, BitFit and full
fine-tuning, each tuned over bench's default lr range for the method; TPE, seed 0) is tuned
by bench's own runner path (`bench.work.tune_cell`) with pruning off, every trial trained to
the end and evaluated at 6 points. Those learning curves then replay any pruner exactly
(see benchmarks/_replay.py): the same sampler seed proposes the same trials, and a pruned
trial's reports are the start of its full curve. Reported per pruner: train steps used as a
share of the exhaustive study's, and the best validation accuracy reached vs the
exhaustive best (target: within 0.5 point at <= 35% of the steps), for the study's own trial
order and averaged over random orders of the same trials (the pruner's luck), at 6, 3 and 2
evaluation points. Finally one cell is tuned for real with bench's default pruner and its
pruning decisions are compared with the replay's.

    python benchmarks/search.py [--trials 10] [--train-samples 384] [--eval-samples 200]
                               [--from RUN_DIR] [--no-validate] [--out FILE]
"""
from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

import _common as C
import _replay as R

METHODS = "[methods.lora]\n[methods.bitfit]\n[methods.full]\n"
TRAIN = ("max_train_samples = {n}\nmax_eval_samples = {e}\nmax_length = 64\nbatch_size = 16\n"
         "epochs = 1\neval_points = 6\nprecision = \"fp32\"\n")
TUNE = "trials = {trials}\nsampler = \"tpe\"\nseed = 0\npruner = \"{pruner}\"\n"
POINTS = (6, 3, 2)  # subsets of the 6 recorded evaluation points
HALF_POINT = 0.005


def candidates() -> dict:
    """Pruners to compare: bench's default first, then the alternatives."""
    import optuna

    from bench.samplers import PRUNE_AFTER, _after_share, pruner as bench_pruner

    p = optuna.pruners
    out = {f"bench default (median from {PRUNE_AFTER:g} of the trial)":
           lambda: bench_pruner("median"), "none": p.NopPruner}
    for k in (1, 2, 3):
        out[f"median startup={k}"] = lambda k=k: p.MedianPruner(n_startup_trials=k)
        out[f"percentile keep 33% startup={k}"] = \
            lambda k=k: p.PercentilePruner(33.0, n_startup_trials=k)
    for share in (0.25, 0.5):
        for k in (1, 2, 3):
            out[f"median from {share:g} startup={k}"] = \
                lambda s=share, k=k: _after_share(p.MedianPruner(n_startup_trials=k), s)
            out[f"percentile 33% from {share:g} startup={k}"] = \
                lambda s=share, k=k: _after_share(p.PercentilePruner(33.0, n_startup_trials=k), s)
    for rf in (2, 3, 4):
        out[f"successive halving rf={rf}"] = \
            lambda rf=rf: p.SuccessiveHalvingPruner(reduction_factor=rf)
    out["hyperband"] = p.HyperbandPruner
    return out


def tune_cells(suite, cells, run_dir: str) -> float:
    """Tune every cell through bench's runner path; wall seconds."""
    from bench import tune
    from bench.progress import make_progress
    from bench.records import Recorder
    from bench.work import RunContext, tune_cell

    ctx = RunContext(suite=suite, run_id=Path(run_dir).name, run_dir=run_dir,
                     storage=_storage(run_dir), recorder=Recorder(run_dir),
                     progress=make_progress(suite, cells, True), data_dir=suite.data_dir,
                     worker=tune.WORKER)
    Path(run_dir).mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    for cell in cells:
        tune_cell(ctx, cell)
    return time.perf_counter() - t0


def _storage(run_dir: str):
    from bench import tune

    Path(run_dir).mkdir(parents=True, exist_ok=True)
    return tune.make_storage(None, run_dir)


def study_replays(cells, curves, make) -> dict:
    """Every candidate on each cell's real study order (TPE proposals), at each POINTS."""
    from bench import tune

    out = {}
    for name, factory in make.items():
        per = {}
        for points in POINTS:
            runs = [R.replay(curves[c.cell_id], factory(), points=points,
                             sampler=tune.sampler("tpe", 0, dict(c.search)),
                             search=dict(c.search)) for c in cells]
            steps = sum(r["steps"] for r in runs)
            total = sum(r["steps_exhaustive"] for r in runs)
            per[points] = {"step_share": steps / total,
                           "regret_max": max(r["regret"] for r in runs),
                           "pruned": sum(r["pruned"] for r in runs),
                           "matched": all(r["matched"] for r in runs),
                           "cells": {c.label: {k: r[k] for k in ("steps", "best",
                                                                 "best_exhaustive", "pruned")}
                                     for c, r in zip(cells, runs)}}
        out[name] = per
    return out


def order_replays(cells, curves, make, orders: int) -> dict:
    """Every candidate over random orders of each cell's trials (mean over cells)."""
    out = {}
    for name, factory in make.items():
        out[name] = {}
        for points in POINTS:
            rs = [R.replay_orders(curves[c.cell_id], factory, orders=orders, points=points,
                                  seed=i) for i, c in enumerate(cells)]
            out[name][points] = {k: sum(r[k] for r in rs) / len(rs) for k in rs[0]}
            out[name][points]["regret_max"] = max(r["regret_max"] for r in rs)
    return out


def curves_commits(run_dir: str) -> list[str]:
    """The git commits the exhaustive run's records were written by."""
    found = set()
    for path in Path(run_dir).glob("records*.jsonl"):
        for line in path.read_text().splitlines():
            found.add((json.loads(line).get("env") or {}).get("git_commit"))
    return sorted(c for c in found if c)


def validate(suite_args: dict, curves, curves_dir: str, folder: str) -> dict:
    """Tune the first cell for real with bench's default pruner; compare with the replay."""
    from bench import tune

    suite, cells = C.minilm_suite(METHODS, train=TRAIN.format(**suite_args["train"]),
                                  tune=TUNE.format(trials=suite_args["trials"],
                                                   pruner="median"), folder=folder)
    cell = cells[0]
    run_dir = str(Path(folder) / "pruned")
    wall = tune_cells(suite, [cell], run_dir)
    real, commits = {}, set()
    for line in sorted(Path(run_dir).glob("records*.jsonl"))[0].read_text().splitlines():
        rec = json.loads(line)
        commits.add((rec.get("env") or {}).get("git_commit"))
        hist = rec.get("history") or []
        real[rec["trial"]] = hist[-1]["step"] if rec["status"] == "pruned" else None
    replayed = R.replay(curves[cell.cell_id], tune.pruner("median"),
                        sampler=tune.sampler("tpe", 0, dict(cell.search)),
                        search=dict(cell.search))
    predicted = {o["trial"]: o["pruned_at"] for o in replayed["outcomes"]}
    # curves are reproducible for the same code: a replay of curves recorded by another
    # commit can disagree because the training itself changed
    return {"cell": cell.label, "wall_s": wall, "real_pruned_at": real,
            "replay_pruned_at": predicted, "agree": real == predicted,
            "commits": {"real": sorted(c for c in commits if c),
                        "exhaustive": curves_commits(curves_dir)}}


def main() -> None:
    p = C.parser("search", __doc__, repeats=1)
    p.add_argument("--trials", type=int, default=10, help="trials per cell")
    p.add_argument("--orders", type=int, default=100, help="random orders per cell")
    p.add_argument("--from", dest="source", help="reuse this exhaustive run folder")
    p.add_argument("--no-validate", action="store_true", help="skip the real pruned run")
    p.add_argument("--train-samples", type=int, default=384, help="SST-2 training examples "
                   "per trial (batch 16: steps = this / 16)")
    p.add_argument("--eval-samples", type=int, default=200, help="validation examples")
    args = p.parse_args()
    sizes = ({"n": 96, "e": 48} if args.quick else
             {"n": args.train_samples, "e": args.eval_samples})
    trials = 3 if args.quick else args.trials
    C.quiet()
    folder = tempfile.mkdtemp(prefix="bench-search-")
    suite, cells = C.minilm_suite(METHODS, train=TRAIN.format(**sizes),
                                  tune=TUNE.format(trials=trials, pruner="none"), folder=folder)
    run_dir = args.source or str(Path(folder) / "exhaustive")
    wall = 0.0 if args.source else tune_cells(suite, cells, run_dir)
    curves = R.load_curves(run_dir)
    make = candidates()
    t0 = time.perf_counter()
    study = study_replays(cells, curves, make)
    orders = order_replays(cells, curves, make, 10 if args.quick else args.orders)
    replay_s = time.perf_counter() - t0
    check = None if args.no_validate else validate(
        {"train": sizes, "trials": trials}, curves, run_dir, folder)
    summary = summarise(cells, curves, study, orders, check, wall, replay_s, run_dir)
    print_summary(summary)
    C.write_summary("search", args.out, summary)


def summarise(cells, curves, study, orders, check, wall, replay_s, run_dir) -> dict:
    trials = {c.label: [{"trial": x.number, "params": x.params, "final": x.final,
                         "curve": x.points} for x in curves[c.cell_id]] for c in cells}
    default = next(iter(study.values()))[6]
    return {"grid": {"model": "all-MiniLM-L6-v2", "task": "SST-2 (train subsample, "
                     "validation carve-out of train)", "methods": [c.label for c in cells],
                     "train_examples": cells[0].train.max_train_samples,
                     "validation_examples": cells[0].train.max_eval_samples,
                     "trials_per_cell": len(next(iter(curves.values()))),
                     "steps_per_trial": next(iter(curves.values()))[0].total,
                     "eval_points_recorded": 6, "sampler": "tpe seed 0"},
            "exhaustive_run": run_dir, "exhaustive_commits": curves_commits(run_dir),
            "exhaustive_wall_s": wall, "replay_wall_s": replay_s,
            "trials": trials, "study_order": study, "random_orders": orders,
            "validation": check,
            "target": "best within 0.5 pt of exhaustive at <= 35% of its train steps",
            "met_by_default": default["step_share"] <= 0.35
            and default["regret_max"] <= HALF_POINT + 1e-12}


def print_summary(s: dict) -> None:
    for label, ts in s["trials"].items():
        print(f"{label}: " + "  ".join(
            f"lr={t['params'].get('lr', 0):.2e}→"
            + ("failed" if t["final"] is None else f"{t['final']:.3f}") for t in ts))
    rows = []
    for name, per in s["study_order"].items():
        row = [name]
        for points in POINTS:
            st, ro = per[points], s["random_orders"][name][points]
            row += [f"{100 * st['step_share']:.0f}% / {100 * st['regret_max']:.1f}",
                    f"{100 * ro['step_share']:.0f}% / {100 * ro['within_half_point']:.0f}%"]
        rows.append(row)
    head = ["pruner"]
    for points in POINTS:
        head += [f"{points} pts: study steps/regret pt", f"{points} pts: orders steps/≤0.5pt"]
    print(C.table(rows, head))
    v = s["validation"]
    if v:
        print(f"real pruned run of {v['cell']} ({v['wall_s']:.0f} s) agrees with the replay: "
              f"{v['agree']} (real {v['real_pruned_at']}, replay {v['replay_pruned_at']})")
    print(f"exhaustive tuning {s['exhaustive_wall_s']:.0f} s; replays {s['replay_wall_s']:.0f} s")
    print(f"target (default pruner, 6 points, study order): "
          f"{'met' if s['met_by_default'] else 'NOT met'}")


if __name__ == "__main__":
    main()
