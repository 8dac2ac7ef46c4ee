"""The work loop of one worker: tune every cell, then re-run each cell's best config per seed.

Each trial is claimed through the cell's Optuna study (see bench/tune.py), trained by
bench/trial.py, and recorded twice: on the trial in the storage (the source of truth) and
as a JSON line in the run folder. Failures are data: an OOM or a NaN loss becomes a failed
record with its reason, a method this machine cannot run becomes a skipped record, and the
study goes on.
"""
from __future__ import annotations

import time
import traceback
from dataclasses import dataclass, field
from typing import Any

from bench import tune
from bench.errors import BenchError, Unavailable
from bench.grid import Cell
from bench.team import Broken, peer_failed


@dataclass
class RunContext:
    """Everything a worker needs besides the cell."""

    suite: Any
    run_id: str
    run_dir: str
    storage: Any
    recorder: Any
    progress: Any
    data_dir: str | None
    worker: str | None = None
    caches: dict[str, Any] = field(default_factory=dict)
    errors: int = 0
    # Prefix of study names: "" when the storage is the run's own journal, "<suite>/<run
    # id>/" in a shared database, so that runs there never mix (see `study_namespace`).
    namespace: str = ""
    team: Any = None  # bench.team.Team when this worker leads a data-parallel launch


def study_namespace(suite_name: str, run_id: str, shared: bool) -> str:
    return f"{suite_name}/{run_id}/" if shared else ""


def tune_study_name(ctx: RunContext, cell: Cell) -> str:
    return ctx.namespace + cell.cell_id


def final_study_name(cell: Cell, seed: int, namespace: str = "") -> str:
    return f"{namespace}{cell.cell_id}-final-seed{seed}"


def _record(ctx: RunContext, cell: Cell, *, phase: str, trial: int | None, seed: int,
            params: dict, status: str, started: float, reason: str | None = None,
            fields: dict | None = None) -> dict:
    from bench.records import new_record

    f = fields or {}
    metric = ctx.suite.tune.metric or cell.task.primary
    objective = f.get("metrics", {}).get(metric) if status == "complete" else None
    rec = new_record(
        run_id=ctx.run_id, suite=ctx.suite.name, suite_path=ctx.suite.path, cell=cell,
        phase=phase, trial=trial, seed=seed, params=params, status=status, reason=reason,
        split="validation" if phase == "tune" else "test", primary=cell.task.primary,
        objective=objective, metrics=f.get("metrics"), history=f.get("history"),
        predictions=f.get("predictions"), counts=f.get("counts"), meter=f.get("meter"),
        started_at=started, trials_budget=ctx.suite.tune.trials, worker=ctx.worker)
    # What "best" means for this cell, so readers never guess it from the metric's name.
    rec["cell"]["metric"], rec["cell"]["direction"] = metric, ctx.suite.tune.direction
    return rec


def _classify(exc: BaseException) -> tuple[str, str]:
    """(status, reason) for an exception raised by a trial."""
    from bench.train import Diverged

    text = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, Unavailable):
        return "skipped", f"unavailable: {exc}"
    if isinstance(exc, Diverged):
        return "failed", f"diverged: {exc}"
    if "out of memory" in str(exc).lower() or type(exc).__name__ == "OutOfMemoryError":
        return "failed", f"oom: {text}"
    return "failed", f"error: {text}"


def run_one(ctx: RunContext, cell: Cell, study, trial, *, phase: str, seed: int,
            params: dict) -> dict | None:
    """Train one claimed trial and finish it with its record (never raises but Ctrl-C);
    None when another worker failed the trial meanwhile (nothing recorded here)."""
    import optuna

    started = time.time()
    metric = ctx.suite.tune.metric or cell.task.primary
    split = "validation" if phase == "tune" else "test"

    def on_eval(step: int, metrics: dict) -> None:
        if phase == "tune":
            trial.report(metrics[metric], step)
            if trial.should_prune():
                raise optuna.TrialPruned(f"pruned at step {step}")
        ctx.progress.step(cell, step)

    try:
        with tune.heartbeat(study, trial):  # RDB storages: others see this worker alive
            cache = _cache(ctx, cell)
            if ctx.team is not None:  # the other ranks of the launch train it with us
                ctx.team.broadcast({"cell": cell.cell_id, "params": _public(params),
                                    "seed": seed, "split": split})
            fields = _execute(cache, params, seed, split, on_eval, metric, ctx.team)
        rec = _record(ctx, cell, phase=phase, trial=trial.number if phase == "tune" else
                      params.get("_trial"), seed=seed, params=_public(params),
                      status="complete", started=started, fields=fields)
    except KeyboardInterrupt:
        tune.interrupted(study, trial)
        raise
    except optuna.TrialPruned as exc:
        rec = _record(ctx, cell, phase=phase, trial=trial.number, seed=seed,
                      params=_public(params), status="pruned", reason=str(exc),
                      started=started, fields={"history": _history(trial)})
    except optuna.exceptions.UpdateFinishedTrialError:  # reporting to a trial that another
        return None  # worker failed as stale (this one stalled): its retry records it
    except (Exception, BenchError) as exc:  # failures are data, not crashes
        if ctx.team is not None and ctx.team.broken and peer_failed(exc):
            tune.interrupted(study, trial)  # not this trial's fault: retried on relaunch
            raise Broken(f"another rank of the launch failed during trial {trial.number} of "
                         f"{cell.label} (see its log); the trial is given back for a "
                         "retry: relaunch with the same --run-id to go on") from exc
        status, reason = _classify(exc)
        ctx.errors += reason.startswith("error")
        rec = _record(ctx, cell, phase=phase, trial=trial.number if phase == "tune" else
                      params.get("_trial"), seed=seed, params=_public(params),
                      status=status, reason=reason, started=started)
        if reason.startswith("error"):
            rec["traceback"] = traceback.format_exc(limit=8)
        if reason.startswith("oom"):
            _release_memory()
    if tune.finish(study, trial, rec, save=ctx.recorder.append):
        ctx.progress.trial_done(cell, rec)
    if ctx.team is not None and ctx.team.broken:
        raise Broken(f"trial {trial.number} of {cell.label} failed on the leader outside a "
                     f"coordination point ({rec.get('reason')}): the other ranks cannot go "
                     "on; relaunch with the same --run-id to continue with the next trial")
    return rec


def _release_memory() -> None:
    """After an OOM, free the failed trial's tensors before the next trial allocates."""
    import gc

    import torch

    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def _execute(cache, params, seed, split, on_eval, metric, team=None) -> dict:
    from bench.trial import execute

    return execute(cache, _public(params), seed=seed, split=split, on_eval=on_eval,
                   metric=metric, team=team)


def _public(params: dict) -> dict:
    return {k: v for k, v in params.items() if not k.startswith("_")}


def _history(trial) -> list[dict]:
    frozen = trial.study._storage.get_trial(trial._trial_id)
    return [{"step": s, "value": v} for s, v in sorted(frozen.intermediate_values.items())]


def _cache(ctx: RunContext, cell: Cell):
    """The cell's cached model + data, loading it on first use (one cell cached at a time)."""
    from bench.trial import load_cell

    if cell.cell_id not in ctx.caches:
        ctx.caches.clear()  # free the previous cell's model before loading the next
        ctx.progress.note(f"loading {cell.model.name} / {cell.task.name} for {cell.label}")
        ctx.caches[cell.cell_id] = load_cell(cell, data_dir=ctx.data_dir,
                                             base_dir=ctx.suite.base_dir,
                                             seed=ctx.suite.tune.seed)
    return ctx.caches[cell.cell_id]


def tune_cell(ctx: RunContext, cell: Cell) -> tuple[bool, bool]:
    """Run this worker's share of a cell's tuning trials: (did work, tuning finished)."""
    study = tune.open_study(ctx.storage, tune_study_name(ctx, cell), ctx.suite.tune,
                            dict(cell.search))
    did = False
    while (trial := tune.claim(study, ctx.suite.tune.trials)) is not None:
        params = tune.suggest(trial, dict(cell.search))
        run_one(ctx, cell, study, trial, phase="tune", seed=ctx.suite.tune.seed,
                params=params)
        did = True
    done = sum(tune.is_done(t) for t in study.get_trials(deepcopy=False))
    return did, done >= ctx.suite.tune.trials


def best_params(ctx: RunContext, cell: Cell) -> dict | None:
    """The best complete tuning trial's params (+ its number as `_trial`), or None."""
    study = tune.open_study(ctx.storage, tune_study_name(ctx, cell), ctx.suite.tune,
                            dict(cell.search))
    try:
        best = study.best_trial
    except ValueError:
        return None
    return dict(best.params) | {"_trial": best.number}


def final_cell(ctx: RunContext, cell: Cell) -> tuple[bool, bool]:
    """Re-run the best config once per seed on the held-out split: (did work, finished)."""
    did, finished = False, True
    params = best_params(ctx, cell)
    for seed in ctx.suite.seeds:
        study = tune.open_study(ctx.storage, final_study_name(cell, seed, ctx.namespace),
                                ctx.suite.tune, {})
        trial = tune.claim(study, 1)
        if trial is not None:
            did = True
            if params is None:
                rec = _record(ctx, cell, phase="final", trial=None, seed=seed, params={},
                              status="skipped", started=time.time(),
                              reason="skipped: no tuning trial completed")
                tune.finish(study, trial, rec, save=ctx.recorder.append)
            else:
                run_one(ctx, cell, study, trial, phase="final", seed=seed, params=params)
        finished &= any(tune.is_done(t) for t in study.get_trials(deepcopy=False))
    return did, finished
