"""Search efficiency: the pruned Optuna study vs exhaustive training of the same trials.

A small grid of cells (real all-MiniLM-L6-v2 on real SST-2; LoRA and full fine-tuning, the
late learner a pruner must not cut, each tuned over bench's default lr range for the
method; TPE, seed 0) is tuned by bench's own runner path (`bench.work.tune_cell`) with
pruning off, every trial trained to the end and evaluated at 8 points. The regime is meant
to look like a suite's: trials long enough (2048 examples, 256 steps) for the learning
curves to flatten, a 300-example validation carve-out, 12 trials per cell so TPE's guided
trials (after its 10 random ones) crowd round the best lr. Those curves then replay any
pruner exactly (see benchmarks/_replay.py). Reported per pruner: train steps used as a
share of the exhaustive study's, the same counting evaluations too (the exhaustive study
needing only each trial's final one), and the best validation accuracy reached vs the
exhaustive best (target: within 0.5 point at <= 35% of the steps), for the study's own
trial order and over random orders of the same trials (the pruner's luck), at 8, 4 and 2
evaluation points; `--stress` replays the same pruners on an earlier search.json's curves
too. Finally one cell is tuned for real with bench's default pruner (its 10 TPE start-up
trials: proposals that do not depend on results) and its pruning decisions are compared
with the replay's. Exhaustive run ~32 min on 2 shared CPU cores; `--from` reuses one.

    python benchmarks/search.py [--trials 12] [--train-samples 2048] [--eval-samples 300]
        [--batch-size 8] [--points 8] [--methods lora,full] [--from RUN_DIR]
        [--exhaustive-only] [--no-validate] [--stress OLD_SEARCH_JSON]
"""
from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

import _common as C
import _candidates as K
import _replay as R

METHODS = ("lora", "full")  # full fine-tuning: the late learner a pruner must not cut
TRAIN = ("max_train_samples = {n}\nmax_eval_samples = {e}\nmax_length = 64\n"
         "batch_size = {bs}\neval_batch_size = 16\nepochs = 1\neval_points = {pts}\n"
         "precision = \"fp32\"\n")
TUNE = "trials = {trials}\nsampler = \"tpe\"\nseed = 0\npruner = \"{pruner}\"\n"
STARTUP = 10  # TPESampler's random start-up trials (Optuna's default)


def candidates() -> dict:
    """Pruners to compare, each `(first evaluation step, steps per trial) -> pruner`:
    bench's default first, then the alternatives."""
    import warnings

    import optuna

    from bench.samplers import _once_learning as guard, pruner as bench_pruner

    p = optuna.pruners
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    out = {"bench default (median once learning, startup=2)":
           lambda f, t: bench_pruner("median"),
           "former default (median from 0.5, startup=2)":
           lambda f, t: K.after_share(p.MedianPruner(n_startup_trials=2), 0.5),
           "none": lambda f, t: p.NopPruner()}
    for k in (1, 2, 3):
        out[f"median startup={k}"] = lambda f, t, k=k: p.MedianPruner(n_startup_trials=k)
    out["median from 0.25 startup=2"] = \
        lambda f, t: K.after_share(p.MedianPruner(n_startup_trials=2), 0.25)
    out["median once learning startup=1"] = \
        lambda f, t: guard(p.MedianPruner(n_startup_trials=1))
    for q in (66.7, 75.0):  # prune below the q-th percentile: keep the top (100 - q)%
        for k in (1, 2):
            out[f"percentile {q:g} startup={k}"] = \
                lambda f, t, q=q, k=k: p.PercentilePruner(q, n_startup_trials=k)
    out["percentile 75 once learning startup=2"] = \
        lambda f, t: guard(p.PercentilePruner(75.0, n_startup_trials=2))
    for rf in (2, 3, 4):
        for n in (1, 2):
            out[f"successive halving rf={rf} min=point {n}"] = lambda f, t, rf=rf, n=n: \
                p.SuccessiveHalvingPruner(min_resource=n * f, reduction_factor=rf)
    for rf in (2, 3):
        out[f"hyperband rf={rf} min=point 1"] = lambda f, t, rf=rf: p.HyperbandPruner(
            min_resource=f, max_resource=t, reduction_factor=rf)
    out["successive halving (Optuna auto)"] = lambda f, t: p.SuccessiveHalvingPruner()
    out["hyperband (Optuna auto)"] = lambda f, t: p.HyperbandPruner()
    for pt in (0.1, 0.3):
        out[f"wilcoxon p={pt:g}"] = lambda f, t, pt=pt: p.WilcoxonPruner(
            p_threshold=pt, n_startup_steps=0)
    out["patient(1) median startup=2"] = lambda f, t: p.PatientPruner(
        p.MedianPruner(n_startup_trials=2), patience=1)
    # needs the task's majority-class rate (SST-2: 56%): not a default, a reference
    out["threshold 0.6 from 0.25 (task-specific)"] = lambda f, t: p.ThresholdPruner(
        lower=0.6, n_warmup_steps=max(1, t // 4) - 1)
    # rules over the completed trials' curves (benchmarks/_candidates.py), 1 start-up trial.
    # Only-on-evidence floor: stop a trial as soon as it is behind the best completed one
    rule = K.rule_pruner
    out["behind best completed (evidence floor)"] = \
        lambda f, t: rule(K.behind_best(), K.behind_best())
    out["not ahead of best completed (prunes ties)"] = \
        lambda f, t: rule(K.behind_best(ties=True), K.behind_best(ties=True))
    out["behind best by 0.05 x (1 - progress)"] = \
        lambda f, t: rule(K.behind_best_shrinking(0.05), K.behind_best_shrinking(0.05))
    out["median patience 2 points startup=1"] = \
        lambda f, t: rule(K.median_patience(2), K.median_patience(2))
    out["median slope guard startup=1"] = \
        lambda f, t: rule(K.median_slope_guard(), K.median_slope_guard())
    # the default's guard after the first point; at the first point: far behind the best
    for name, first in (("0.04", K.behind_best(0.04)), ("0.03", K.behind_best(0.03)),
                        ("half the gain", K.behind_best_gain(0.5))):
        for m in ((0.0, 0.004, "noise") if name == "0.04" else ("noise",)):
            out[f"1st pt behind best by {name}; then once learning, margin {m}"] = \
                lambda f, t, first=first, m=m: rule(first, K.median_once_learning(m))
    return out


def _methods(sizes: dict) -> str:
    """The suite's method tables: each method over its default lr range."""
    return "".join(f"[methods.{m}]\n" for m in sizes["methods"])


def tune_cells(suite, cells, run_dir: str) -> tuple[float, float]:
    """Tune every cell through bench's runner path; (wall, process CPU) seconds."""
    from bench import tune
    from bench.progress import make_progress
    from bench.records import Recorder
    from bench.work import RunContext, tune_cell

    Path(run_dir).mkdir(parents=True, exist_ok=True)
    ctx = RunContext(suite=suite, run_id=Path(run_dir).name, run_dir=run_dir,
                     storage=tune.make_storage(None, run_dir), recorder=Recorder(run_dir),
                     progress=make_progress(suite, cells, True), data_dir=suite.data_dir,
                     worker=tune.WORKER)
    t0, c0 = time.perf_counter(), time.process_time()
    for cell in cells:
        tune_cell(ctx, cell)
    return time.perf_counter() - t0, time.process_time() - c0


def curves_commits(run_dir: str) -> list[str]:
    """The git commits the run's records were written by (+ '-dirty' when uncommitted)."""
    found = set()
    for path in Path(run_dir).glob("records*.jsonl"):
        for line in path.read_text().splitlines():
            env = json.loads(line).get("env") or {}
            if env.get("git_commit"):
                found.add(env["git_commit"] + ("-dirty" if env.get("git_dirty") else ""))
    return sorted(found)


def validate(sizes: dict, curves, curves_dir: str, folder: str) -> dict:
    """Tune the first cell for real with bench's default pruner over TPE's start-up
    trials; compare its pruning decisions with the replay of the same trials' curves."""
    from bench import tune

    trials = min(STARTUP, len(next(iter(curves.values()))))
    suite, cells = C.minilm_suite(_methods(sizes), train=TRAIN.format(**sizes),
                                  tune=TUNE.format(trials=trials, pruner="median"),
                                  folder=folder)
    cell = cells[0]
    run_dir = str(Path(folder) / "pruned")
    wall, _ = tune_cells(suite, [cell], run_dir)
    real = {}
    for line in sorted(Path(run_dir).glob("records*.jsonl"))[0].read_text().splitlines():
        rec = json.loads(line)
        hist = rec.get("history") or []
        real[rec["trial"]] = hist[-1]["step"] if rec["status"] == "pruned" else None
    replayed = R.replay(curves[cell.cell_id][:trials], tune.pruner("median"),
                        sampler=tune.sampler("tpe", 0, dict(cell.search)),
                        search=dict(cell.search))
    predicted = {o["trial"]: o["pruned_at"] for o in replayed["outcomes"]}
    # curves are reproducible for the same code: a replay of curves recorded by another
    # commit can disagree because the training itself changed
    return {"cell": cell.label, "trials": trials, "wall_s": wall, "real_pruned_at": real,
            "replay_pruned_at": predicted, "proposals_matched": replayed["matched"],
            "agree": real == predicted, "commits": {
                "real": curves_commits(run_dir), "exhaustive": curves_commits(curves_dir)}}


def carried_validation(out: str | None, run_dir: str) -> dict | None:
    """With --no-validate: the earlier summary's real pruned run, if it checked the default
    pruner against the same exhaustive run (marked with that summary's date)."""
    path = Path(out) if out else C.RESULTS / "search.json"
    try:
        old = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    v = old.get("validation")
    if not v or old.get("exhaustive_run") != run_dir:
        return None
    return {**v, "carried_over_from": v.get("carried_over_from") or old.get("date")}


def main() -> None:
    p = C.parser("search", __doc__, repeats=1)
    p.add_argument("--trials", type=int, default=12, help="trials per cell")
    p.add_argument("--orders", type=int, default=100, help="random orders per cell")
    p.add_argument("--from", dest="source", help="reuse this exhaustive run folder")
    p.add_argument("--exhaustive-only", action="store_true", help="stop after recording")
    p.add_argument("--no-validate", action="store_true",
                   help="skip the real pruned run (keeps the earlier summary's, same curves)")
    p.add_argument("--stress", help="also replay the curves of an earlier search.json")
    p.add_argument("--train-samples", type=int, default=2048, help="SST-2 training examples")
    p.add_argument("--eval-samples", type=int, default=300, help="validation examples")
    p.add_argument("--batch-size", type=int, default=8, help="steps = train samples / this")
    p.add_argument("--points", type=int, default=8, help="evaluation points recorded")
    p.add_argument("--methods", default=",".join(METHODS), help="methods, one cell each")
    args = p.parse_args()
    sizes = ({"n": 64, "e": 48, "bs": 8, "pts": 4} if args.quick else
             {"n": args.train_samples, "e": args.eval_samples, "bs": args.batch_size,
              "pts": args.points})
    sizes["methods"] = args.methods.split(",")
    trials = 3 if args.quick else args.trials
    C.quiet()
    folder = tempfile.mkdtemp(prefix="bench-search-")
    suite, cells = C.minilm_suite(_methods(sizes), train=TRAIN.format(**sizes),
                                  tune=TUNE.format(trials=trials, pruner="none"), folder=folder)
    run_dir = args.source or str(Path(folder) / "exhaustive")
    stamp = Path(run_dir) / "wall.json"
    if not args.source:
        wall, cpu = tune_cells(suite, cells, run_dir)
        stamp.write_text(json.dumps({"wall_s": wall, "cpu_s": cpu, "hardware": C.hardware()}))
        print(f"exhaustive tuning {wall:.0f} s ({cpu:.0f} s CPU), recorded in {run_dir}")
    if args.exhaustive_only:
        return
    wall = json.loads(stamp.read_text()) if stamp.exists() else {}
    curves, costs = R.load_curves(run_dir), R.eval_costs(run_dir)
    t0 = time.perf_counter()
    points = tuple(sorted({sizes["pts"], sizes["pts"] // 2, 2}, reverse=True))
    orders = 10 if args.quick else args.orders
    found = R.evaluate({c.label: curves[c.cell_id] for c in cells},
                       {c.label: costs[c.cell_id]["eval_in_steps"] for c in cells},
                       candidates(), points, orders)
    if args.stress:  # the same candidates on the curves of an earlier (shorter) grid
        old, n = R.curves_from_summary(args.stress)
        found["stress"] = {"source": args.stress, **R.evaluate(
            old, {}, candidates(), tuple(sorted({n, n // 2}, reverse=True)), orders)}
    replay_s = time.perf_counter() - t0
    check = (carried_validation(args.out, run_dir) if args.no_validate
             else validate(sizes, curves, run_dir, folder))
    summary = summarise(cells, curves, costs, found, check, wall, replay_s, run_dir, sizes)
    print_summary(summary, points)
    C.write_summary("search", args.out, summary)


def summarise(cells, curves, costs, found, check, wall, replay_s, run_dir, sizes) -> dict:
    trials = {c.label: [{"trial": x.number, "params": x.params, "final": x.final,
                         "curve": x.points} for x in curves[c.cell_id]] for c in cells}
    first = curves[cells[0].cell_id]
    return {"grid": {"model": "all-MiniLM-L6-v2", "task": "SST-2 (train subsample, "
                     "validation carve-out of train)", "methods": [c.label for c in cells],
                     "lr_ranges": {c.label: c.search["lr"].as_dict() for c in cells},
                     "train_examples": sizes["n"], "validation_examples": sizes["e"],
                     "batch_size": sizes["bs"], "trials_per_cell": len(first),
                     "steps_per_trial": first[0].total, "eval_points_recorded": sizes["pts"],
                     "sampler": "tpe seed 0", "max_length": 64},
            "exhaustive_run": run_dir, "exhaustive_commits": curves_commits(run_dir),
            "exhaustive_wall_s": wall.get("wall_s"), "exhaustive_cpu_s": wall.get("cpu_s"),
            "exhaustive_hardware": wall.get("hardware"), "replay_wall_s": replay_s,
            "eval_cost": {c.label: costs.get(c.cell_id) for c in cells},
            "trials": trials, **found, "validation": check,
            "target": "best within 0.5 pt of exhaustive at <= 35% of its train steps",
            "meeting_target": {n: [k for k in found["study_order"] if R.meets(
                found["study_order"][k][n], found["random_orders"][k][n])]
                for n in next(iter(found["study_order"].values()))}}


def print_summary(s: dict, points: tuple[int, ...]) -> None:
    for label, ts in s["trials"].items():
        print(f"{label}: " + "  ".join(
            f"lr={t['params'].get('lr', 0):.1e}→"
            + ("failed" if t["final"] is None else f"{t['final']:.3f}") for t in ts))
    print("\nstudy order: train steps (steps + evaluations) / regret in points;"
          " random orders: steps / share within 0.5 pt / within 1 pt")
    print(_table(s["study_order"], s["random_orders"], points))
    if s.get("stress"):
        st = s["stress"]
        print(f"\nthe same pruners on the curves of {st['source']} (step shares only):")
        print(_table(st["study_order"], st["random_orders"],
                     tuple(next(iter(st["study_order"].values())))))
    v = s["validation"]
    if v:
        when = f", carried over from {v['carried_over_from']}" if v.get("carried_over_from") else ""
        print(f"real pruned run of {v['cell']} ({v['trials']} trials, {v['wall_s']:.0f} s{when}) "
              f"agrees with the replay: {v['agree']} (real {v['real_pruned_at']}, "
              f"replay {v['replay_pruned_at']})")
    wall = s["exhaustive_wall_s"]
    print(f"exhaustive tuning {wall or 0:.0f} s; replays {s['replay_wall_s']:.0f} s")
    for n, names in s["meeting_target"].items():
        print(f"{n} points: meeting the target in every cell and order: {names or 'none'}")


def _table(study: dict, rand: dict, points) -> str:
    rows = []
    for name, per in study.items():
        row = [name]
        for n in points:
            st, ro = per[n], rand[name][n]
            row += [f"{100 * st['step_share']:.0f}% ({100 * st['compute_share']:.0f}%) / "
                    f"{100 * st['regret_max']:.1f}",
                    f"{100 * ro['step_share']:.0f}% / {100 * ro['within_half_point']:.0f}% / "
                    f"{100 * ro['within_one_point']:.0f}%"]
        rows.append(row)
    head = ["pruner"]
    for n in points:
        head += [f"{n} pts: study", f"{n} pts: orders"]
    return C.table(rows, head)


if __name__ == "__main__":
    main()
