"""Running the regimes of a suite: one Optuna study per regime cell, then finals per seed.

The same budget rules as single-task cells (bench/work.py): trials are claimed through the
cell's study (`bench.tune.claim`/`finish`, so several workers share the work and a killed
worker's trial is retried), each trial's objective is the regime's `average` (the mean
primary score over its tasks on validation, after the last stage), and the best parameters
are re-run once per seed, scored on the test splits. The study maximises (regimes accept
higher-is-better metrics only) with the suite's sampler; `trials` in a regime table
overrides [tune] trials for that regime's cells (the same number for every method).

Records are schema-1 records (`cell` = the regime cell, `task` = the regime's title) with a
`regime` block: the regime, then `evals` (stage, train task, eval task, metrics) and
`general` (general-text losses). They go to `<run>/regimes.jsonl` (or
`regimes-<worker>.jsonl`), not `records*.jsonl`: the single-task sections and the nightly
gate read those, and a regime run is not a single-task cell.

Studies are named as the single-task runner names them (`bench.work.tune_study_name`,
`final_study_name`): the bare cell id in the run's own journal, "<suite>/<run id>/<cell id>"
in a shared database (`--storage URL`), so regime runs of different suites or run ids
sharing one database never mix. Lost records come back through `bench.regimes.restore`.
"""
from __future__ import annotations

import dataclasses
import time
import traceback
from typing import Any

from bench import tune
from bench.errors import BenchError
from bench.records import Recorder
from bench.regimes.cells import RegimeCell
from bench.regimes.restore import restore
from bench.work import RunContext, final_study_name, tune_study_name

PRIMARY = "average"


class RegimeRecorder(Recorder):
    """A Recorder writing `regimes.jsonl` / `regimes-<worker>.jsonl` in the run folder."""

    def __init__(self, run_dir: Any, worker: str | None = None):
        super().__init__(run_dir, worker)
        self.path = self.path.with_name(self.path.name.replace("records", "regimes", 1))


def study_tune(suite: Any, cell: RegimeCell) -> Any:
    """The study settings of a regime cell: maximise `average`, the regime's trials."""
    return dataclasses.replace(suite.tune, direction="maximize", metric=PRIMARY,
                               trials=cell.regime.trials or suite.tune.trials)


def execute(ctx: RunContext, cells: list[RegimeCell]) -> None:
    """Work through every regime cell (tuning, then finals) until all are done."""
    recorder = RegimeRecorder(ctx.run_dir, worker=ctx.recorder.path.stem.partition("-")[2]
                              or None)
    restore(ctx, cells, recorder)
    while True:
        did_any, all_done = False, True
        for cell in cells:
            did, tuned = tune_cell(ctx, cell, recorder)
            if tuned:
                did_f, finished = final_cell(ctx, cell, recorder)
                did, tuned = did or did_f, finished
            did_any |= did
            all_done &= tuned
        if all_done:
            break
        if not did_any:  # other workers hold the remaining trials
            time.sleep(2.0)
    restore(ctx, cells, recorder)
    ctx.caches.clear()


def tune_cell(ctx: RunContext, cell: RegimeCell, recorder: Recorder) -> tuple[bool, bool]:
    """Run this worker's share of a regime cell's tuning trials: (did work, tuned)."""
    spec = study_tune(ctx.suite, cell)
    study = tune.open_study(ctx.storage, tune_study_name(ctx, cell), spec, dict(cell.search))
    did = False
    while (trial := tune.claim(study, spec.trials)) is not None:
        params = tune.suggest(trial, dict(cell.search))
        run_one(ctx, cell, study, trial, recorder, phase="tune", seed=spec.seed,
                params=params)
        did = True
    done = sum(tune.is_done(t) for t in study.get_trials(deepcopy=False))
    return did, done >= spec.trials


def final_cell(ctx: RunContext, cell: RegimeCell, recorder: Recorder) -> tuple[bool, bool]:
    """Re-run the best parameters once per seed on the test splits: (did work, finished)."""
    spec = study_tune(ctx.suite, cell)
    study = tune.open_study(ctx.storage, tune_study_name(ctx, cell), spec, dict(cell.search))
    try:
        best = dict(study.best_trial.params) | {"_trial": study.best_trial.number}
    except ValueError:
        best = None
    did, finished = False, True
    for seed in ctx.suite.seeds:
        final = tune.open_study(ctx.storage, final_study_name(cell, seed, ctx.namespace),
                                spec, {})
        trial = tune.claim(final, 1)
        if trial is not None:
            did = True
            if best is None:
                rec = _record(ctx, cell, phase="final", trial=None, seed=seed, params={},
                              status="skipped", started=time.time(),
                              reason="skipped: no tuning trial completed")
                tune.finish(final, trial, rec, save=recorder.append)
            else:
                run_one(ctx, cell, final, trial, recorder, phase="final", seed=seed,
                        params=best)
        finished &= any(tune.is_done(t) for t in final.get_trials(deepcopy=False))
    return did, finished


def run_one(ctx: RunContext, cell: RegimeCell, study: Any, trial: Any, recorder: Recorder, *,
            phase: str, seed: int, params: dict) -> dict:
    """Train one claimed trial and finish it with its record (never raises but Ctrl-C)."""
    from bench.work import _classify

    started = time.time()
    public = {k: v for k, v in params.items() if not k.startswith("_")}
    number = trial.number if phase == "tune" else params.get("_trial")
    try:
        with tune.heartbeat(study, trial):
            fields = _train(ctx, cell, public, seed, "validation" if phase == "tune" else "test")
        rec = _record(ctx, cell, phase=phase, trial=number, seed=seed, params=public,
                      status="complete", started=started, fields=fields)
    except KeyboardInterrupt:
        tune.interrupted(study, trial)
        raise
    except (Exception, BenchError) as exc:  # failures are data, not crashes
        status, reason = _classify(exc)
        ctx.errors += reason.startswith("error")
        rec = _record(ctx, cell, phase=phase, trial=number, seed=seed, params=public,
                      status=status, reason=reason, started=started)
        if reason.startswith("error"):
            rec["traceback"] = traceback.format_exc(limit=8)
    if tune.finish(study, trial, rec, save=recorder.append):
        ctx.progress.trial_done(cell, rec)
    return rec


def _train(ctx: RunContext, cell: RegimeCell, params: dict, seed: int, split: str) -> dict:
    from bench.regimes.train import execute, load_regime

    if cell.cell_id not in ctx.caches:
        ctx.caches.clear()  # one model in memory at a time
        ctx.progress.note(f"loading {cell.model.name} / {cell.regime.title} for {cell.label}")
        ctx.caches[cell.cell_id] = load_regime(cell, data_dir=ctx.data_dir,
                                               base_dir=ctx.suite.base_dir,
                                               seed=ctx.suite.tune.seed)
    return execute(ctx.caches[cell.cell_id], params, seed=seed, split=split)


def _record(ctx: RunContext, cell: RegimeCell, *, phase: str, trial: int | None, seed: int,
            params: dict, status: str, started: float, reason: str | None = None,
            fields: dict | None = None) -> dict:
    from bench.records import new_record

    f = fields or {}
    metrics = f.get("metrics") or {}
    rec = new_record(
        run_id=ctx.run_id, suite=ctx.suite.name, suite_path=ctx.suite.path, cell=cell,
        phase=phase, trial=trial, seed=seed, params=params, status=status, reason=reason,
        split="validation" if phase == "tune" else "test", primary=PRIMARY,
        objective=metrics.get(PRIMARY) if status == "complete" else None, metrics=metrics,
        counts=f.get("counts"), meter=f.get("meter"), started_at=started,
        trials_budget=study_tune(ctx.suite, cell).trials, worker=ctx.worker)
    rec["cell"]["metric"], rec["cell"]["direction"] = PRIMARY, "maximize"  # as bench.work
    rec["regime"] = cell.regime.describe() | {"evals": f.get("evals", []),
                                              "general_loss": f.get("general", [])}
    return rec

