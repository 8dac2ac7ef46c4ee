"""The runner end to end on a tiny model: records, resume, failures as data, SIGKILL."""
from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter

from bench import records
from bench.cli import main
from run_helpers import tiny_suite


def run_dir_of(tmp_path):
    return os.path.realpath(tmp_path / "results" / "tiny" / "latest")


def keys(recs):
    return [(r["cell"]["cell_id"], r["phase"], r["trial"], r["seed"]) for r in recs]


def test_run_records_everything_and_a_second_run_reruns_nothing(tmp_path):
    suite = tiny_suite(tmp_path)
    assert main(["run", suite, "-q"]) == 0
    recs = records.load(run_dir_of(tmp_path))
    assert len(recs) == 2 * (2 + 2)  # 2 cells × (2 trials + 2 seeds)
    for r in recs:
        assert r["status"] == "complete", r.get("reason")
        assert r["split"] == ("validation" if r["phase"] == "tune" else "test")
        assert 0 <= r["metrics"]["accuracy"] <= 1
        assert r["counts"]["trainable"] > 0 and r["counts"]["total"] > 0
        m = r["meter"]
        assert m["wall_train_s"] > 0 and m["tokens_per_s"] > 0 and m["peak_rss_bytes"] > 0
        assert r["env"]["versions"]["torch"] and "git_dirty" in r["env"]
    finals = [r for r in recs if r["phase"] == "final"]
    assert all(len(r["predictions"]["preds"]) == 40 for r in finals)
    assert {r["seed"] for r in finals} == {0, 1}
    lora = [r for r in recs if r["cell"]["method"] == "lora"]
    assert lora[0]["counts"]["trainable"] < recs[0]["counts"]["trainable"]
    assert os.path.exists(os.path.join(run_dir_of(tmp_path), "records.parquet"))
    before = os.path.getsize(os.path.join(run_dir_of(tmp_path), "records.jsonl"))
    assert main(["run", suite, "-q"]) == 0
    assert os.path.getsize(os.path.join(run_dir_of(tmp_path), "records.jsonl")) == before


def test_oom_and_nan_become_failed_records_and_the_study_goes_on(tmp_path, monkeypatch):
    import torch

    from bench import trial as trial_mod
    from bench.train import Diverged

    real = trial_mod.execute
    calls = Counter()

    def faulty(cache, params, **kw):
        calls["n"] += 1
        if calls["n"] == 1:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2 GiB")
        if calls["n"] == 2:
            raise Diverged(step=3, loss=float("nan"))
        return real(cache, params, **kw)

    monkeypatch.setattr(trial_mod, "execute", faulty)
    suite = tiny_suite(tmp_path, methods="[methods.full]\nlr = { low = 1e-4, high = 1e-3 }\n",
                       trials=3, seeds="[0]")
    assert main(["run", suite, "-q"]) == 0
    recs = records.load(run_dir_of(tmp_path))
    tune = [r for r in recs if r["phase"] == "tune"]
    assert [r["status"] for r in tune] == ["failed", "failed", "complete"]
    assert tune[0]["reason"].startswith("oom:") and tune[1]["reason"].startswith("diverged:")
    final = [r for r in recs if r["phase"] == "final"]
    assert final[0]["status"] == "complete" and final[0]["trial"] == tune[2]["trial"]


def test_unavailable_method_is_skipped_with_its_reason(tmp_path, monkeypatch):
    from bench import trial as trial_mod
    from bench.errors import Unavailable

    def unavailable(*a, **kw):
        raise Unavailable("bitsandbytes has no backend for this device")

    monkeypatch.setattr(trial_mod, "load_cell", unavailable)
    suite = tiny_suite(tmp_path, methods="[methods.full]\nlr = 1e-3\n", trials=2, seeds="[0]")
    assert main(["run", suite, "-q"]) == 0
    recs = records.load(run_dir_of(tmp_path))
    assert [r["status"] for r in recs] == ["skipped"] * 3
    assert "bitsandbytes" in recs[0]["reason"] and "no tuning trial" in recs[2]["reason"]


SLOW_SECOND_TRIAL = """
import os, sys, time
import bench.trial as T
real, calls = T.execute, []
def slow(*args, **kwargs):
    calls.append(1)
    if len(calls) == 2:  # inside the second trial: say so, then wait to be terminated
        open(os.environ["BENCH_TEST_MARK"], "w").close()
        time.sleep(120)
    return real(*args, **kwargs)
T.execute = slow
from bench.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_sigterm_mid_trial_gives_the_trial_back_and_a_rerun_finishes(tmp_path):
    # torchrun stops the surviving ranks of a failed launch with SIGTERM, and so do
    # schedulers on preemption: it takes the Ctrl-C path (exit 143), not a hard death
    # that could leave the storage half-written
    suite = tiny_suite(tmp_path, trials=2, seeds="[0]")
    wrapper, mark = tmp_path / "wrapper.py", tmp_path / "in-trial"
    wrapper.write_text(SLOW_SECOND_TRIAL)
    env = dict(os.environ, OMP_NUM_THREADS="1", BENCH_TEST_MARK=str(mark))
    proc = subprocess.Popen([sys.executable, str(wrapper), "run", suite, "-q"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    while not mark.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert mark.exists(), proc.stderr.read() if proc.poll() is not None else "no 2nd trial"
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143 and "terminated (SIGTERM)" in err, (proc.returncode, err)
    assert len(records.load(run_dir_of(tmp_path))) == 1  # the interrupted trial: no record
    cmd = [sys.executable, "-m", "bench.cli", "run", suite, "-q"]
    last = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert last.returncode == 0, last.stderr[-3000:]
    recs = records.load(run_dir_of(tmp_path))
    assert len(set(keys(recs))) == len(recs) == 2 * (2 + 1)  # 2 cells × (2 trials, 1 seed)
    assert all(r["status"] == "complete" for r in recs)


def test_sigkill_at_random_points_then_resume_loses_and_duplicates_nothing(tmp_path):
    suite = tiny_suite(tmp_path, trials=3, seeds="[0, 1]")
    cmd = [sys.executable, "-m", "bench.cli", "run", suite, "-q"]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    rng = random.Random(7)
    kills = 0
    for _ in range(8):  # up to 4 kills at random points; a fast machine may finish first
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(3.0, 9.0))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        if proc.wait() == 0 or kills == 4:
            break
    assert kills >= 2  # the test must really interrupt runs
    last = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert last.returncode == 0, last.stderr[-3000:]
    recs = records.load(run_dir_of(tmp_path))
    ks = keys(recs)
    assert len(ks) == len(set(ks)), f"duplicated records: {sorted(ks)}"
    phases = Counter((k[0], k[1]) for k in ks)
    assert sorted(phases.values()) == [2, 2, 3, 3], phases  # 2 cells × (3 trials, 2 seeds)
    assert all(r["status"] == "complete" for r in recs), \
        [(k, r["status"], r.get("reason")) for k, r in zip(ks, recs) if r["status"] != "complete"]
