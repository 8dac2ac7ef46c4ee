"""Several `bench run --worker` processes on one run's embedded journal storage: started
together or staggered, they share the work exactly (the union of their records is the
planned budget, nothing twice), and a worker killed mid-trial is reaped by a live one and
its trial retried. The helpers here are shared with tests/test_postgres.py."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter
from pathlib import Path

from bench import records
from run_helpers import tiny_suite

# A worker whose first trial never ends: it writes MARK once inside the trial, then hangs
# (a trial that is training when the worker is killed). Everything else is the real CLI.
HANG = textwrap.dedent("""
    import os, sys, time
    import bench.trial
    def hang(*args, **kwargs):
        open(os.environ["BENCH_TEST_MARK"], "w").close()
        time.sleep(3600)
    bench.trial.execute = hang
    from bench.cli import main
    sys.exit(main(sys.argv[1:]))
""")


def small_suite(tmp_path: Path, *, trials: int = 3, seeds: str = "[0, 1]",
                epochs: int = 1) -> str:
    """Two cells (full, lora) of the tiny model; `epochs` sets the time of a trial."""
    methods = (f"[methods.full]\nlr = {{ low = 1e-4, high = 1e-3, log = true }}\n"
               f"epochs = {epochs}\n[methods.lora]\n"
               f"lr = {{ low = 1e-3, high = 1e-2, log = true }}\nepochs = {epochs}\n")
    return tiny_suite(tmp_path, methods=methods, trials=trials, seeds=seeds)


def worker_cmd(suite: str, run_id: str, *extra: str, hang: bool = False) -> list[str]:
    head = [sys.executable, "-c", HANG] if hang else [sys.executable, "-m", "bench.cli"]
    return head + ["run", suite, "--run-id", run_id, "--worker", "-q", *extra]


def start(cmd: list[str], log: Path, cwd: str | None = None,
          mark: Path | None = None) -> subprocess.Popen:
    env = dict(os.environ, OMP_NUM_THREADS="1")
    if mark is not None:
        env["BENCH_TEST_MARK"] = str(mark)
    return subprocess.Popen(cmd, cwd=cwd, env=env, stdout=log.open("w"),
                            stderr=subprocess.STDOUT)


def finish_all(procs: list[subprocess.Popen], logs: list[Path], timeout: float = 300) -> None:
    """Wait for every worker; each must exit 0 (its log is shown if not)."""
    deadline = time.monotonic() + timeout
    for proc, log in zip(procs, logs):
        try:
            rc = proc.wait(timeout=max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            for p in procs:
                p.kill()
            raise AssertionError(f"worker timed out:\n{log.read_text()[-3000:]}")
        assert rc == 0, f"worker exited {rc}:\n{log.read_text()[-3000:]}"


def wait_for(check, timeout: float, what: str, procs=()) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        dead = [p for p in procs if p.poll() is not None]
        assert not dead, f"a worker exited ({dead[0].returncode}) before {what}"
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def key(r: dict) -> tuple:
    return (r["cell"]["cell_id"], r["phase"], r["trial"], r["seed"])


def assert_budget(suite_path: str, recs: list[dict]) -> None:
    """The records are exactly the planned budget: per cell `trials` tuning trials with
    distinct numbers and one final run per seed; nothing twice, every record complete."""
    from bench import grid, suite as suite_mod

    suite = suite_mod.load(suite_path)
    cells = grid.expand(suite)
    ks = [key(r) for r in recs]
    dup = [k for k, n in Counter(ks).items() if n > 1]
    assert not dup, f"duplicated records: {dup}"
    assert len(recs) == len(cells) * (suite.tune.trials + len(suite.seeds)), Counter(
        (k[0], k[1]) for k in ks)
    for cell in cells:
        mine = [r for r in recs if r["cell"]["cell_id"] == cell.cell_id]
        assert sum(r["phase"] == "tune" for r in mine) == suite.tune.trials
        assert sorted(r["seed"] for r in mine if r["phase"] == "final") == sorted(suite.seeds)
    bad = [(key(r), r["status"], r.get("reason")) for r in recs if r["status"] != "complete"]
    assert not bad, bad


def run_dir(tmp_path: Path, run_id: str) -> str:
    return str(tmp_path / "results" / "tiny" / run_id)


def test_two_workers_started_together_share_the_journal_exactly(tmp_path):
    suite = small_suite(tmp_path)
    logs = [tmp_path / f"w{i}.log" for i in range(2)]
    procs = [start(worker_cmd(suite, "shared"), log) for log in logs]
    finish_all(procs, logs)
    folder = run_dir(tmp_path, "shared")
    recs = records.load(folder)
    assert_budget(suite, recs)
    # both really worked, each in its own file: the work was shared, not run twice
    by_worker = Counter(r["worker"] for r in recs)
    assert len(by_worker) == 2, by_worker
    assert len(list(Path(folder).glob("records-*.jsonl"))) == 2
    assert os.path.exists(os.path.join(folder, "optuna.journal"))


def test_a_worker_joining_late_takes_a_share_and_duplicates_nothing(tmp_path):
    suite = small_suite(tmp_path, epochs=2)
    logs = [tmp_path / "first.log", tmp_path / "late.log"]
    first = start(worker_cmd(suite, "staggered"), logs[0])
    folder = Path(run_dir(tmp_path, "staggered"))
    wait_for(lambda: any(f.stat().st_size for f in folder.glob("records-*.jsonl")),
             120, "the first record", [first])
    late = start(worker_cmd(suite, "staggered"), logs[1])
    finish_all([first, late], logs)
    recs = records.load(folder)
    assert_budget(suite, recs)
    assert Counter(r["worker"].split(":")[1] for r in recs)[str(late.pid)] >= 1


def journal_trials(folder: str, study_name: str) -> list:
    import optuna
    from optuna.storages.journal import JournalFileBackend

    storage = optuna.storages.JournalStorage(
        JournalFileBackend(os.path.join(folder, "optuna.journal")))
    return optuna.load_study(study_name=study_name, storage=storage).get_trials()


def test_a_killed_workers_trial_is_reaped_and_retried_by_a_live_one(tmp_path):
    """SIGKILL leaves the victim's trial RUNNING in the journal; the survivor on the same
    host sees its pid gone, fails it and runs it again with the same parameters."""
    from optuna.trial import TrialState

    from bench import grid, suite as suite_mod

    suite = small_suite(tmp_path, trials=2, seeds="[0]")
    mark = tmp_path / "in-trial"
    logs = [tmp_path / "victim.log", tmp_path / "survivor.log"]
    victim = start(worker_cmd(suite, "kill", hang=True), logs[0], mark=mark)
    wait_for(mark.exists, 120, "the victim's trial", [victim])
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    folder = run_dir(tmp_path, "kill")
    first = grid.expand(suite_mod.load(suite))[0].cell_id
    stuck = [t for t in journal_trials(folder, first) if t.state == TrialState.RUNNING]
    assert [t.user_attrs["worker"].split(":")[1] for t in stuck] == [str(victim.pid)]
    survivor = start(worker_cmd(suite, "kill"), logs[1])
    finish_all([survivor], logs[1:])
    recs = records.load(folder)
    assert_budget(suite, recs)
    trials = {t.number: t for t in journal_trials(folder, first)}
    dead = trials[stuck[0].number]
    assert dead.state == TrialState.FAIL and "record" not in dead.user_attrs
    retry = [t for t in trials.values() if t.user_attrs.get("retry_of") == dead.number]
    assert len(retry) == 1 and retry[0].state == TrialState.COMPLETE
    assert retry[0].params == dead.params


def test_a_shared_storage_without_a_run_id_is_refused(tmp_path, capsys):
    """Every worker must name the same run; a timestamped default would split them."""
    from bench.cli import main

    suite = small_suite(tmp_path)
    url = "postgresql+psycopg://bench:secret@db.example:5432/bench"
    assert main(["run", suite, "--storage", url, "--worker", "-q"]) == 2
    err = capsys.readouterr().err
    assert "--run-id" in err and "secret" not in err
    assert not (tmp_path / "results").exists()


def test_finishing_a_trial_that_another_worker_failed_saves_nothing(tmp_path):
    """A worker that stalled past the heartbeat grace finds its trial failed and retried
    elsewhere: its late result is dropped (the retry records it), never saved twice."""
    import optuna
    from optuna.trial import TrialState

    from bench import tune

    storage = tune.make_storage(None, str(tmp_path))
    study = optuna.create_study(storage=storage, study_name="cell")
    trial = tune.claim(study, 2)
    storage.set_trial_state_values(trial._trial_id, TrialState.FAIL)  # "stale": failed
    saved: list = []
    assert not tune.finish(study, trial, {"status": "complete", "objective": 0.5},
                           save=saved.append)
    assert saved == []
    frozen = study.get_trials()[0]
    assert frozen.state == TrialState.FAIL and tune.RECORD not in frozen.user_attrs
    ok = tune.claim(study, 2)  # a live trial is finished normally: saved, then told
    assert tune.finish(study, ok, {"status": "complete", "objective": 0.7}, save=saved.append)
    assert saved == [{"status": "complete", "objective": 0.7}]
    assert study.get_trials()[1].state == TrialState.COMPLETE


def test_a_worker_whose_trial_was_failed_under_it_drops_its_result(tmp_path, monkeypatch):
    """Mid-training, another worker fails this worker's trial (a stale heartbeat) and
    enqueues its retry: this worker's next report to the trial is refused, it records
    nothing for it, runs the retry like any trial, and the budget comes out exact."""
    import contextlib

    from optuna.trial import TrialState

    from bench import trial as trial_mod, tune
    from bench.cli import main

    real_execute, real_heartbeat = trial_mod.execute, tune.heartbeat
    current: dict = {}
    stolen: list = []

    @contextlib.contextmanager
    def heartbeat(study, trial):
        current.update(study=study, trial=trial)
        with real_heartbeat(study, trial):
            yield

    def execute(cache, params, *, on_eval=None, **kw):
        study, trial = current["study"], current["trial"]
        if not stolen and kw["split"] == "validation":
            stolen.append(trial.number)
            study._storage.set_trial_state_values(trial._trial_id, TrialState.FAIL)
            tune.retry_interrupted(study, study._storage.get_trial(trial._trial_id))
            on_eval(1, {"accuracy": 0.5, "loss": 1.0})  # the refused report
        return real_execute(cache, params, on_eval=on_eval, **kw)

    monkeypatch.setattr(tune, "heartbeat", heartbeat)
    monkeypatch.setattr(trial_mod, "execute", execute)
    suite = tiny_suite(tmp_path, methods="[methods.full]\nlr = { low = 1e-4, high = 1e-3 }\n",
                       trials=2, seeds="[0]")
    assert main(["run", suite, "--run-id", "stolen", "-q"]) == 0
    recs = records.load(run_dir(tmp_path, "stolen"))
    assert_budget(suite, recs)
    assert stolen and stolen[0] not in {r["trial"] for r in recs}
