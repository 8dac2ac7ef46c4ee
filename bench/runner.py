"""`bench run`: validate a suite, pick its run folder, and work through every cell.

A run folder `<output>/<suite>/<run id>/` holds a copy of the suite, the Optuna storage
(a journal file unless `--storage` names a database) and the records. Running the same
suite again continues its latest run: finished trials are not re-run, interrupted ones are
retried, and records missing from the JSONL (a crash between storage and file) are
restored from the storage.
"""
from __future__ import annotations

import os
import shutil
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Iterator

from bench.errors import UsageError


def main(args) -> int:
    from bench import grid, suite as suite_mod

    suite = suite_mod.load(args.suite)
    cells = grid.expand(suite)
    if args.baseline and not os.path.isfile(args.baseline) and not os.path.isdir(
            args.baseline):  # fail before hours of training, not after
        raise UsageError(f"--baseline {args.baseline}: no such file",)
    if args.dry_run:
        from bench.plan import print_plan

        print_plan(suite, cells)
        return 0
    if args.storage and not (args.run_id or args.resume):
        raise UsageError(f"--storage {_hide_password(args.storage)} needs --run-id NAME: the "
                         "name every worker of the run shares (without it each machine "
                         "would start a run of its own); fix: bench run SUITE --storage URL "
                         "--run-id NAME --worker")
    with sigterm_interrupts():
        team = join_team(suite)
        try:
            return _run(suite, cells, args, team)
        finally:
            if team is not None:
                team.close()


@contextmanager
def sigterm_interrupts() -> Iterator[None]:
    """Turn SIGTERM into `Terminated` (a KeyboardInterrupt) inside the block.

    By default SIGTERM ends the process between any two instructions, possibly in the
    middle of a storage write; raised as an exception it takes the Ctrl-C path instead
    (the running trial is failed without a record and re-queued, files are flushed, locks
    released). torchrun sends SIGTERM to the surviving ranks when one rank fails.
    """
    import signal
    import threading

    from bench.errors import Terminated

    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be set from the main thread
        return

    def terminate(signum, frame):
        raise Terminated()

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _run(suite, cells, args, team) -> int:
    if team is not None and not team.leader:  # rank > 0: train what rank 0 orders
        from bench.follow import follow

        return follow(suite, cells, team)
    run_dir = run_folder(suite, args)
    rc = execute(suite, cells, run_dir, storage_url=args.storage, quiet=args.quiet,
                 worker=args.worker or bool(args.storage), team=team)
    if args.baseline:
        rc = max(rc, _compare(args.baseline, run_dir))
    return rc


def join_team(suite):
    """The Team of a torchrun / `accelerate launch` run (data-parallel trials, bench/team.py),
    or None in a plain process. Regimes train several tasks per trial and do not run
    data-parallel: such a suite is refused before any rank starts work."""
    from bench.team import join, launched

    if not launched():
        return None
    if suite.regimes:
        raise UsageError(
            f"{suite.path}: [regimes] cannot run data-parallel (WORLD_SIZE="
            f"{os.environ.get('WORLD_SIZE')}): only single-task cells train over several "
            "devices; fix: run this suite with a plain `bench run` (one worker per GPU, "
            "docs/scale-out.md) or move its regimes to a suite of their own")
    return join()


def _hide_password(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not a database URL: nothing to hide
        return url


def run_folder(suite, args) -> str:
    """--resume DIR, else --run-id, else the suite's latest run (unless --new), else new."""
    root = os.path.join(suite.output, suite.name)
    if args.resume:
        if not os.path.isfile(os.path.join(args.resume, "suite.toml")):
            raise UsageError(f"--resume {args.resume}: not a run folder (no suite.toml)")
        return args.resume
    latest = os.path.join(root, "latest")
    if args.run_id:
        run_id = args.run_id
    elif os.path.isdir(latest) and not args.new:
        return os.path.realpath(latest)
    else:
        run_id = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    run_dir = os.path.join(root, run_id)
    os.makedirs(run_dir, exist_ok=True)
    if not os.path.exists(os.path.join(run_dir, "suite.toml")):
        shutil.copyfile(suite.path, os.path.join(run_dir, "suite.toml"))
    tmp = f"{latest}.{os.getpid()}"
    os.symlink(run_id, tmp)
    os.replace(tmp, latest)
    return run_dir


def execute(suite, cells, run_dir: str, *, storage_url: str | None = None,
            quiet: bool = False, worker: bool = False, poll_s: float = 2.0,
            team=None) -> int:
    """Work until every cell is tuned and re-run per seed; 1 if any trial hit a bug.
    With a `team` this process leads a data-parallel launch (bench/team.py)."""
    from bench import tune
    from bench.progress import make_progress
    from bench.records import Recorder, export_parquet
    from bench.trial import data_dir_for
    from bench.work import RunContext, final_cell, study_namespace, tune_cell

    quiet_libraries()
    storage = tune.make_storage(storage_url, run_dir)
    recorder = Recorder(run_dir, worker=tune.WORKER.replace(":", "-") if worker else None)
    run_id = os.path.basename(os.path.abspath(run_dir))
    ctx = RunContext(suite=suite, run_id=run_id,
                     run_dir=run_dir, storage=storage, recorder=recorder,
                     progress=make_progress(suite, cells, quiet), data_dir=data_dir_for(
                         suite.data_dir), worker=tune.WORKER,
                     namespace=study_namespace(suite.name, run_id, bool(storage_url)),
                     team=team)
    restore_records(ctx, cells)
    with ctx.progress:
        while True:
            did_any, all_done = False, True
            for cell in cells:
                did, tuned = tune_cell(ctx, cell)
                if tuned:
                    did_f, finished = final_cell(ctx, cell)
                    did, tuned = did or did_f, finished
                did_any |= did
                all_done &= tuned
            if all_done:
                break
            if not did_any:  # other workers hold the remaining trials: wait for them
                time.sleep(poll_s)
        if team is not None:
            team.broadcast(None)  # the followers' loop ends
        if suite.regimes:  # multi-task and sequential regimes, after the cells
            from bench.regimes import execute as run_regimes

            run_regimes(ctx)
    restore_records(ctx, cells)  # what other machines' workers finished meanwhile
    ctx.caches.clear()
    export_parquet(run_dir)
    ctx.progress.summary(run_dir)
    return 1 if ctx.errors else 0


def quiet_libraries() -> None:
    """Silence per-trial chatter (Optuna study notices, weight-loading bars, warnings)."""
    import logging
    import warnings

    import optuna
    import transformers

    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    for name in ("accelerate", "bitsandbytes", "peft"):
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", message=".*TypedStorage.*")


def restore_records(ctx, cells) -> int:
    """Append records that the storage holds but no JSONL file in the run folder does: a
    crash between storage and file, or other machines' workers (a shared database). The
    storage is read before the files: a worker saves a record before it tells the trial
    finished, so a finished trial's record is never copied while its owner writes it."""
    import optuna

    from bench import tune
    from bench.records import finished_keys, load
    from bench.work import final_study_name, tune_study_name

    names = {tune_study_name(ctx, c) for c in cells} | {
        final_study_name(c, s, ctx.namespace) for c in cells for s in ctx.suite.seeds}
    stored = []
    for summary in optuna.get_all_study_summaries(ctx.storage, include_best_trial=False):
        if summary.study_name in names:
            study = optuna.load_study(study_name=summary.study_name, storage=ctx.storage)
            stored += [t.user_attrs[tune.RECORD] for t in study.get_trials(deepcopy=False)
                       if tune.RECORD in t.user_attrs and tune.is_done(t)]
    restored = 0
    with _folder_lock(ctx.run_dir):  # workers sharing the folder restore one at a time
        have = finished_keys(load(ctx.run_dir))
        for rec in stored:
            if _key(rec) not in have:
                ctx.recorder.append(rec)
                have.add(_key(rec))
                restored += 1
    return restored


@contextmanager
def _folder_lock(run_dir: str) -> Iterator[None]:
    """An exclusive lock on the run folder (a lock file), released on exit."""
    import fcntl

    os.makedirs(run_dir, exist_ok=True)
    with open(os.path.join(run_dir, ".lock"), "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        yield


def _key(rec: dict) -> tuple:
    return (rec["cell"]["cell_id"], rec["phase"], rec["trial"], rec["seed"])


def _compare(baseline: str, run_dir: str) -> int:
    from bench.compare import compare_paths

    comparison = compare_paths(baseline, run_dir)
    print(comparison.markdown())
    return comparison.exit_code
