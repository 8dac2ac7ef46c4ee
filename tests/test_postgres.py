"""Workers sharing one suite through a real PostgreSQL server (`--storage URL`): four at
once split the budget exactly, a worker killed mid-trial loses nothing, a silent worker on
another machine is failed by its stale heartbeat and its trial retried, and every
machine's run folder ends up with every record.

Needs BENCH_TEST_POSTGRES_URL (`.ci/postgres.sh` starts a throwaway server and sets it);
each test gets a fresh database, dropped afterwards.
"""
from __future__ import annotations

import os
import signal
import uuid
from collections import Counter
from pathlib import Path

import pytest

from bench import records
from test_workers import (assert_budget, finish_all, run_dir, small_suite, start,
                          wait_for, worker_cmd)

pytestmark = pytest.mark.postgres
URL = os.environ.get("BENCH_TEST_POSTGRES_URL")


@pytest.fixture
def pg_url():
    """The URL of a fresh, empty database on the test server."""
    if not URL:
        pytest.skip("BENCH_TEST_POSTGRES_URL is not set (source .ci/postgres.sh to start a "
                    "throwaway PostgreSQL)")
    import psycopg
    from sqlalchemy.engine import make_url

    url = make_url(URL)
    admin = url.set(drivername="postgresql").render_as_string(hide_password=False)
    name = f"bench_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield url.set(database=name).render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def machine(tmp_path: Path, suite: str, name: str) -> tuple[str, str]:
    """A "machine": its own working folder and a suite whose output is relative to it."""
    folder = tmp_path / name
    folder.mkdir(exist_ok=True)
    text = Path(suite).read_text()
    local = tmp_path / f"{name}.toml"
    local.write_text(text.replace(f'output = "{tmp_path / "results"}"', 'output = "results"'))
    return str(local), str(folder)


def stored_trials(url: str, suite_path: str) -> dict[str, list]:
    """Every trial of every study of the suite, by study name."""
    import optuna

    out = {}
    for s in optuna.get_all_study_summaries(url, include_best_trial=False):
        out[s.study_name] = optuna.load_study(study_name=s.study_name,
                                              storage=url).get_trials()
    return out


def assert_storage_settled(url: str) -> None:
    """Nothing left running or waiting in the database once the workers have exited."""
    from optuna.trial import TrialState

    open_ = [(name, t.number, t.state.name) for name, ts in stored_trials(url, "").items()
             for t in ts if t.state in (TrialState.RUNNING, TrialState.WAITING)]
    assert not open_, open_


def test_four_workers_on_two_machines_share_the_suite_exactly(tmp_path, pg_url,
                                                              monkeypatch):
    """Two workers per "machine" folder, all four started together on an empty database
    (which they race to create); then a reporting run on a third folder gathers all."""
    from bench.cli import main

    suite = small_suite(tmp_path, trials=3, seeds="[0, 1]")
    procs, logs = [], []
    for m in ("m1", "m1", "m2", "m2"):
        local, cwd = machine(tmp_path, suite, m)
        logs.append(tmp_path / f"{m}-{len(logs)}.log")
        procs.append(start(worker_cmd(local, "pg", "--storage", pg_url), logs[-1], cwd=cwd))
    finish_all(procs, logs)
    assert_storage_settled(pg_url)
    folders = [tmp_path / m / "results" / "tiny" / "pg" for m in ("m1", "m2")]
    for folder in folders:  # each machine's folder holds every record by the time it exits
        assert_budget(suite, records.load(folder))
    by_worker = Counter(r["worker"] for r in records.load(folders[0]))
    assert len(by_worker) >= 3 and by_worker.keys() <= {f"{os.uname().nodename}:{p.pid}"
                                                         for p in procs}, by_worker
    local, cwd = machine(tmp_path, suite, "reporter")
    monkeypatch.chdir(cwd)
    assert main(["run", local, "--storage", pg_url, "--run-id", "pg", "-q"]) == 0
    gathered = records.load(tmp_path / "reporter" / "results" / "tiny" / "pg")
    assert_budget(suite, gathered)
    assert Counter(r["worker"] for r in gathered) == by_worker  # restored, not re-run


def test_killing_one_of_four_workers_mid_trial_loses_nothing(tmp_path, pg_url):
    """The victim hangs inside its first trial and is SIGKILLed there; a live worker on
    the same host fails that trial (its pid is gone) and another runs it again."""
    from optuna.trial import TrialState

    suite = small_suite(tmp_path, trials=3, seeds="[0]")
    mark = tmp_path / "in-trial"
    logs = [tmp_path / f"w{i}.log" for i in range(4)]
    procs = [start(worker_cmd(suite, "kill", "--storage", pg_url, hang=i == 0), log,
                   mark=mark if i == 0 else None) for i, log in enumerate(logs)]
    victim = procs[0]
    wait_for(mark.exists, 120, "the victim's trial", procs)
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    finish_all(procs[1:], logs[1:])
    recs = records.load(run_dir(tmp_path, "kill"))
    assert_budget(suite, recs)
    assert all(not r["worker"].endswith(f":{victim.pid}") for r in recs)
    trials = [t for ts in stored_trials(pg_url, suite).values() for t in ts]
    dead = [t for t in trials if t.user_attrs.get("worker", "").endswith(f":{victim.pid}")]
    assert len(dead) == 1 and dead[0].state == TrialState.FAIL
    assert "record" not in dead[0].user_attrs
    retry = [t for t in trials if t.user_attrs.get("retry_of") == dead[0].number
             and t.params == dead[0].params]
    assert len(retry) == 1 and retry[0].state == TrialState.COMPLETE
    assert_storage_settled(pg_url)


def test_a_foreign_worker_with_a_stale_heartbeat_is_failed_and_its_trial_retried(
        tmp_path, pg_url):
    """A trial claimed by a worker on another host whose heartbeat stopped long ago: the
    pid reaper cannot judge it, Optuna's stale-heartbeat check does, and the storage's
    callback enqueues the retry that a worker here runs."""
    import sqlalchemy
    from optuna.trial import TrialState

    from bench import grid, suite as suite_mod, tune
    from bench.cli import main
    from bench.work import study_namespace

    suite_path = small_suite(tmp_path, trials=2, seeds="[0]")
    suite = suite_mod.load(suite_path)
    cell = grid.expand(suite)[0]
    storage = tune.make_storage(pg_url, str(tmp_path))
    name = study_namespace(suite.name, "stale", True) + cell.cell_id  # the run's study
    study = tune.open_study(storage, name, suite.tune, dict(cell.search))
    trial = tune.claim(study, suite.tune.trials)
    trial.set_user_attr(tune.OWNER, "another-machine:4242")
    params = tune.suggest(trial, dict(cell.search))
    tune.fail_stale(study)  # a fresh heartbeat: not stale, nothing happens
    assert study.get_trials()[0].state == TrialState.RUNNING
    engine = sqlalchemy.create_engine(pg_url)
    with engine.begin() as conn:  # the other machine went silent an hour ago
        n = conn.execute(sqlalchemy.text(
            "UPDATE trial_heartbeats SET heartbeat = heartbeat - interval '1 hour'")).rowcount
    engine.dispose()
    assert n == 1
    assert main(["run", suite_path, "--storage", pg_url, "--run-id", "stale", "-q"]) == 0
    recs = records.load(run_dir(tmp_path, "stale"))
    assert_budget(suite_path, recs)
    trials = study.get_trials()
    assert trials[0].state == TrialState.FAIL and "record" not in trials[0].user_attrs
    retry = [t for t in trials if t.user_attrs.get("retry_of") == trials[0].number]
    assert len(retry) == 1 and retry[0].params == params
    assert retry[0].state == TrialState.COMPLETE
    assert retry[0].number in {r["trial"] for r in recs if r["cell"]["cell_id"] == cell.cell_id}
    assert_storage_settled(pg_url)


def test_runs_with_different_ids_share_a_database_without_mixing(tmp_path, pg_url):
    """Studies in a shared database are named <suite>/<run id>/<cell>: a second run is a
    new run (its whole budget trained again), not a resume of the first."""
    from bench.cli import main

    suite = small_suite(tmp_path, trials=2, seeds="[0]")
    for run_id in ("monday", "tuesday"):
        assert main(["run", suite, "--storage", pg_url, "--run-id", run_id, "-q"]) == 0
        recs = records.load(run_dir(tmp_path, run_id))
        assert_budget(suite, recs)
        assert {r["run_id"] for r in recs} == {run_id}
        assert {r["worker"] for r in recs} == {f"{os.uname().nodename}:{os.getpid()}"}
    names = set(stored_trials(pg_url, suite))
    assert len(names) == 2 * 2 * 2 and all(n.startswith(("tiny/monday/", "tiny/tuesday/"))
                                           for n in names)
