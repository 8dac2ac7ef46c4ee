"""One Optuna study per cell, shared safely by any number of workers.

Work is claimed through the study's storage, never a home-made scheduler: a worker asks
the study for a trial, and the trial's rank among the study's *live* trials (by trial
number, which the storage hands out atomically) decides whether it is inside the budget;
a trial beyond it is told FAIL at once and never trained ("surplus"). Live = running,
waiting, complete, pruned, or failed *with a record* (an OOM or a divergence is a result);
a failed trial without a record was interrupted (its worker died) and is retried with the
same parameters. Every finished trial carries its full record as the user attribute
`record`, written before the trial is told, so the JSONL files can always be completed from
the storage: nothing is lost and, keyed by (cell, phase, trial, seed), nothing doubles.
"""
from __future__ import annotations

import os
import socket
import threading
import warnings
from contextlib import contextmanager
from typing import Any, Callable, Iterator

from bench.samplers import pruner, sampler  # noqa: F401  (re-exported)
from bench.storage import make_storage  # noqa: F401  (re-exported)
from bench.suite.spec import Dim

WORKER = f"{socket.gethostname()}:{os.getpid()}"
RECORD = "record"  # user attr: the trial's full record
OWNER = "worker"  # user attr: host:pid of the worker that claimed the trial


def open_study(storage, name: str, tune, search: dict[str, Dim]):
    """Create or load the study `name` (creating concurrently is safe: one wins)."""
    import optuna

    kwargs = dict(storage=storage, study_name=name, direction=tune.direction,
                  sampler=sampler(tune.sampler, tune.seed, search), pruner=pruner(tune.pruner))
    try:
        return optuna.create_study(load_if_exists=True, **kwargs)
    except optuna.exceptions.DuplicatedStudyError:
        return optuna.load_study(**{k: v for k, v in kwargs.items() if k != "direction"})


def suggest(trial, search: dict[str, Dim]) -> dict[str, Any]:
    """Sample every search dimension of the cell."""
    out = {}
    for name, d in search.items():
        if d.kind == "categorical":
            out[name] = trial.suggest_categorical(name, list(d.choices))
        elif d.kind == "int":
            out[name] = trial.suggest_int(name, d.low, d.high, log=d.log, step=d.step or 1)
        else:
            out[name] = trial.suggest_float(name, d.low, d.high, log=d.log, step=d.step)
    return out


def is_live(t) -> bool:
    from optuna.trial import TrialState

    return t.state != TrialState.FAIL or RECORD in t.user_attrs


def is_done(t) -> bool:
    return t.state.is_finished() and is_live(t)


def claim(study, budget: int):
    """Ask for a trial inside the budget, or None (budget taken by live trials)."""
    from optuna.trial import TrialState

    reap_dead(study)
    fail_stale(study)
    # WAITING trials (retries) are popped by ask(), so they do not block the pre-check.
    taken = [t for t in study.get_trials(deepcopy=False)
             if is_live(t) and t.state != TrialState.WAITING]
    if len(taken) >= budget:
        return None
    with warnings.catch_warnings():  # "heartbeat is supposed to be used with optimize":
        warnings.simplefilter("ignore", UserWarning)  # we beat ourselves (`heartbeat`)
        trial = study.ask()
    # Owner and a first beat at once: a worker that dies from here on, even before it
    # gives a surplus slot back, leaves a trial that the reapers can see is dead.
    trial.set_user_attr(OWNER, WORKER)
    if _beat_every(study._storage):
        study._storage.record_heartbeat(trial._trial_id)
    before = [t for t in study.get_trials(deepcopy=False)
              if t.number < trial.number and is_live(t)]
    if len(before) >= budget:  # another worker got there first: give the slot back
        study.tell(trial, state=TrialState.FAIL)
        return None
    return trial


def _beat_every(storage) -> int | None:
    """The storage's heartbeat interval in seconds (RDB storages), else None."""
    get = getattr(storage, "get_heartbeat_interval", None)
    return get() if callable(get) else None


def fail_stale(study) -> None:
    """Fail RUNNING trials whose heartbeat went silent (their worker died on any machine);
    the storage's stale-trial callback (`retry_interrupted`) enqueues their retries."""
    import optuna

    if _beat_every(study._storage):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            optuna.storages.fail_stale_trials(study)


@contextmanager
def heartbeat(study, trial) -> Iterator[None]:
    """Keep a claimed trial's heartbeat fresh while it trains (RDB storages; Optuna beats
    only inside `study.optimize`, and bench asks and tells)."""
    every = _beat_every(study._storage)
    if not every:
        yield
        return
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(every):
            try:
                study._storage.record_heartbeat(trial._trial_id)
            except Exception:  # a missed beat is survivable: the grace period spans several
                pass

    thread = threading.Thread(target=beat, name="bench-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def _alive(owner: str) -> bool:
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return True  # another machine's trial: RDB heartbeats judge it, not us
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def reap_dead(study) -> None:
    """Fail and retry RUNNING trials whose worker process on this host is gone."""
    from optuna.trial import TrialState

    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        owner = t.user_attrs.get(OWNER)
        if owner and owner != WORKER and not _alive(owner):
            try:
                study._storage.set_trial_state_values(t._trial_id, TrialState.FAIL)
            except Exception:  # already finished by someone else
                continue
            retry_interrupted(study, t)


def retry_interrupted(study, trial) -> None:
    """Enqueue a fresh trial with the interrupted trial's parameters (RDB callback too)."""
    if RECORD not in trial.user_attrs:
        study.enqueue_trial(dict(trial.params), user_attrs={"retry_of": trial.number},
                            skip_if_exists=False)


def finish(study, trial, record: dict[str, Any],
           save: Callable[[dict[str, Any]], None] | None = None) -> bool:
    """Store the record on the trial, `save` it (the JSONL), then tell the study its outcome.

    Saving before telling means a trial is finished in the storage only once its record is
    on disk, so a worker restoring records from the storage (`bench.runner`) never copies
    one that its owner is about to write. False, and nothing saved, when another worker
    already failed the trial (its heartbeat looked stale): the retry will record it.
    """
    import optuna
    from optuna.trial import TrialState

    try:
        trial.set_user_attr(RECORD, record)
    except optuna.exceptions.UpdateFinishedTrialError:
        return False
    if save is not None:
        save(record)
    status = record["status"]
    if status == "complete" and record.get("objective") is not None:
        study.tell(trial, record["objective"], skip_if_finished=True)
    elif status == "pruned":
        study.tell(trial, state=TrialState.PRUNED, skip_if_finished=True)
    else:
        study.tell(trial, state=TrialState.FAIL, skip_if_finished=True)
    return True


def interrupted(study, trial) -> None:
    """Ctrl-C: fail the running trial without a record so that it is retried later."""
    from optuna.trial import TrialState

    try:
        study.tell(trial, state=TrialState.FAIL)
        retry_interrupted(study, study._storage.get_trial(trial._trial_id))
    except Exception:
        pass
