"""Restoring regime records from the Optuna storage: `bench.runner.restore_records` for the
run folder's `regimes*.jsonl` files.

An adapter, not a copy: the study names come from `bench.work` (`tune_study_name`,
`final_study_name`: "<suite>/<run id>/<cell id>" in a shared database, so runs there never
mix), the folder lock and the record key from `bench.runner`. It exists only because
`restore_records` reads the folder's `records*.jsonl` (`bench.records.load(run_dir)`) and
writes through `ctx.recorder`; given a files/recorder parameter there, this module goes.
"""
from __future__ import annotations

from typing import Any, Iterable

from bench.work import RunContext, final_study_name, tune_study_name


def study_names(ctx: RunContext, cells: Iterable[Any]) -> set[str]:
    """Every study of `cells` in this run: the tuning study and one final study per seed."""
    cells = list(cells)
    return {tune_study_name(ctx, c) for c in cells} | {
        final_study_name(c, s, ctx.namespace) for c in cells for s in ctx.suite.seeds}


def stored_records(storage: Any, names: set[str]) -> list[dict]:
    """The records of the finished trials of the studies named `names` in `storage`."""
    import optuna

    from bench import tune

    stored = []
    for summary in optuna.get_all_study_summaries(storage, include_best_trial=False):
        if summary.study_name in names:
            study = optuna.load_study(study_name=summary.study_name, storage=storage)
            stored += [t.user_attrs[tune.RECORD] for t in study.get_trials(deepcopy=False)
                       if tune.RECORD in t.user_attrs and tune.is_done(t)]
    return stored


def restore(ctx: RunContext, cells: list[Any], recorder: Any) -> int:
    """Append regime records the storage holds but no regimes*.jsonl file does (a crash
    between storage and file, or other machines' workers); the storage is read first, as
    `bench.runner.restore_records` does. Returns how many were appended."""
    from bench.records import finished_keys, load
    from bench.runner import _folder_lock, _key  # one restorer per run folder at a time

    stored = stored_records(ctx.storage, study_names(ctx, cells))
    restored = 0
    with _folder_lock(str(recorder.run_dir)):
        have = finished_keys(load(sorted(recorder.run_dir.glob("regimes*.jsonl"))))
        for rec in stored:
            if _key(rec) not in have:
                recorder.append(rec)
                have.add(_key(rec))
                restored += 1
    return restored
