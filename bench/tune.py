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

from bench.errors import UsageError
from bench.suite.spec import Dim

WORKER = f"{socket.gethostname()}:{os.getpid()}"
RECORD = "record"  # user attr: the trial's full record
OWNER = "worker"  # user attr: host:pid of the worker that claimed the trial


def make_storage(url: str | None, run_dir: str):
    """An Optuna storage: the URL given (RDB with heartbeat) or a journal file in the run."""
    import optuna

    if url:
        if url.startswith(("sqlite", "postgresql", "mysql", "oracle", "mssql")):
            return _rdb_storage(url)
        return url
    from optuna.storages.journal import JournalFileBackend

    return optuna.storages.JournalStorage(
        JournalFileBackend(os.path.join(run_dir, "optuna.journal")))


def _rdb_storage(url: str, attempts: int = 6):
    """RDBStorage with heartbeats; retried while workers race to create a fresh schema.

    Workers started together on an empty database all create Optuna's tables, enum types,
    version row and alembic stamp; the losers fail with an integrity or "already exists"
    error, and a retry finds the winner's schema committed.
    """
    import random
    import time

    import optuna
    from sqlalchemy import exc as sa_exc
    from sqlalchemy.engine import make_url

    attempt = 0
    while True:
        attempt += 1
        try:
            with warnings.catch_warnings():  # heartbeats are "experimental" since 2.9
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                return optuna.storages.RDBStorage(
                    url, heartbeat_interval=5, grace_period=20,
                    heartbeat_stale_trial_callback=retry_interrupted,
                    engine_kwargs={} if url.startswith("sqlite") else {"pool_pre_ping": True})
        except (sa_exc.IntegrityError, sa_exc.ProgrammingError,
                sa_exc.OperationalError) as exc:
            if attempt < attempts and not _unreachable(exc):
                time.sleep(random.uniform(0.2, 1.0) * attempt)
                continue
            raise UsageError(_storage_problem(make_url(url), exc)) from exc
        except ImportError as exc:
            raise UsageError(_storage_problem(make_url(url), exc)) from exc


def _unreachable(exc: Exception) -> bool:
    """A connection that cannot be made (retrying a schema race will not help)."""
    from sqlalchemy import exc as sa_exc

    text = str(exc).lower()
    return isinstance(exc, sa_exc.OperationalError) and any(s in text for s in (
        "connection refused", "could not translate host", "password authentication failed",
        "does not exist", "no such host", "timeout expired"))


def _storage_problem(url, exc: Exception) -> str:
    return (f"--storage {url.render_as_string(hide_password=True)}: cannot open the Optuna "
            f"storage ({type(exc).__name__}: {str(exc).splitlines()[0]}); fix: check that "
            f"the database server is up and the URL is right "
            f"(postgresql+psycopg://user:password@host:5432/dbname), and install the driver "
            f"(pip install 'bench[postgres]')")

def sampler(name: str, seed: int, search: dict[str, Dim]):
    import optuna

    s = optuna.samplers
    if name == "grid":
        space = {k: list(d.choices) for k, d in search.items() if d.kind == "categorical"}
        return s.GridSampler(space, seed=seed)
    return {"tpe": lambda: s.TPESampler(seed=seed), "random": lambda: s.RandomSampler(seed),
            "qmc": lambda: s.QMCSampler(seed=seed),
            "cmaes": lambda: s.CmaEsSampler(seed=seed)}[name]()


# Share of a trial's steps before `median` may prune it (see `pruner`).
PRUNE_AFTER = 0.5


def pruner(name: str):
    """The pruner of a study.

    `median` stops a trial whose best value so far is below the median of the completed
    trials' values at the same step, once 2 trials have completed, and only from half-way
    through the trial (PRUNE_AFTER of the longest completed trial's steps). Measured by
    benchmarks/search.py (MiniLM on SST-2, LoRA/BitFit/full, 10 TPE trials per cell, 6
    evaluation points, docs/performance.md): pruning from the first point as well (Optuna's
    plain MedianPruner) used 59% of the exhaustive steps but cut the best full fine-tuning
    trial, which learns late (17 accuracy points lost; best within 0.5 point in only 74% of
    random trial orders); waiting half-way used 77% and kept the best in every order.
    """
    import optuna

    p = optuna.pruners
    return {"median": lambda: _after_share(p.MedianPruner(n_startup_trials=2), PRUNE_AFTER),
            "successive_halving": lambda: p.SuccessiveHalvingPruner(),
            "hyperband": lambda: p.HyperbandPruner(),
            "none": lambda: p.NopPruner()}[name]()


def _after_share(inner, share: float):
    """`inner`, consulted only once a trial reached `share` of the longest completed
    trial's last step (a share, not a step count: cells differ in steps per trial)."""
    import optuna
    from optuna.trial import TrialState

    class AfterShare(optuna.pruners.BasePruner):
        def prune(self, study, trial) -> bool:
            done = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
            total = max((t.last_step or 0 for t in done), default=0)
            if trial.last_step is None or trial.last_step < share * total:
                return False
            return inner.prune(study, trial)

    return AfterShare()


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
    from optuna.trial import TrialState

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
