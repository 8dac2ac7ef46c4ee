"""Data-parallel trials (bench/team.py): `bench run` under torchrun trains each trial over
every rank. Real launches on CPU with gloo (the same code path as NCCL on GPUs): the
trained weights equal a single process's, pruning and divergence stop every rank at the
same step, a suite's budget is run exactly once, and a rank that fails ends the launch
without losing the trial."""
from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace

import pytest

from bench import records
from bench.errors import UsageError
from bench.team import Team, merge_meters
from test_workers import assert_budget, key, run_dir, small_suite

HERE = Path(__file__).parent


def torchrun(args: list[str], log: Path, nproc: int = 2, timeout: float = 300) -> int:
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", str(nproc),
           "--standalone", *args]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    with log.open("w") as out:  # own session: a hung launch is killed with its ranks
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
        try:
            return proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            raise AssertionError(f"launch timed out:\n{log.read_text()[-3000:]}")


@pytest.mark.parametrize("size", [2, 3, 4])
@pytest.mark.parametrize("n", [1, 2, 3, 5, 8, 9])
def test_shards_cover_the_batch_and_weights_give_its_mean(size, n):
    """Averaging the ranks' weighted mean losses (what DDP does to their gradients) is the
    mean over the whole micro-batch, also when a rank gets no example."""
    values = [float(3 * i + 1) for i in range(n)]
    shards = [Team(rank=r, size=size).shard(list(range(n))) for r in range(size)]
    real = [idx for idx, w in shards if w]
    assert sorted(i for idx in real for i in idx) == list(range(n))
    averaged = sum(w * sum(values[i] for i in idx) / len(idx) for idx, w in shards) / size
    assert math.isclose(averaged, sum(values) / n)
    assert all(idx for idx, _ in shards)  # an empty rank still runs one (weight-0) example


def test_meters_of_the_ranks_are_summed_and_utilisation_averaged():
    a = {"device": "cuda:0", "gpu_name": "H100", "gpu_count": 1, "nvml_peak_bytes": 10,
         "alloc_peak_bytes": 6, "reserved_peak_bytes": 8, "energy_j": 100.0,
         "power_mean_w": 50.0, "gpu_util_mean": 40.0, "peak_rss_bytes": 5, "cpu_s": 2.0,
         "samples_taken": 3, "sample_hz": 20.0}
    b = a | {"device": "cuda:1", "nvml_peak_bytes": 12, "energy_j": 120.0,
             "gpu_util_mean": 60.0, "power_mean_w": 60.0}
    m = merge_meters([a, b])
    assert m["device"] == "cuda:0,1" and m["gpu_count"] == 2 and m["ranks"] == 2
    assert (m["nvml_peak_bytes"], m["energy_j"], m["power_mean_w"]) == (22, 220.0, 110.0)
    assert m["gpu_util_mean"] == 50.0 and m["cpu_s"] == 4.0 and m["gpu_name"] == "H100"
    assert merge_meters([a | {"energy_j": None}, b])["energy_j"] is None
    assert merge_meters([a]) == a


def test_data_parallel_fit_trains_the_same_weights_as_one_process(tmp_path):
    """21 examples in micro-batches of 8 (the last of 5: shards of 3 and 2), accumulation
    2, fp32 without dropout: two ranks end bit-close to one process (they once differed
    by 23% of the update: accelerate stepped the lr schedule once per rank)."""
    torch = pytest.importorskip("torch")
    worker = str(HERE / "team_worker.py")
    subprocess.run([sys.executable, worker, "train", str(tmp_path)], check=True,
                   env=dict(os.environ, OMP_NUM_THREADS="1"))
    assert torchrun([worker, "train", str(tmp_path)], tmp_path / "log") == 0, \
        (tmp_path / "log").read_text()[-3000:]
    one, two = torch.load(tmp_path / "1.pt"), torch.load(tmp_path / "2.pt")
    assert (one["samples"], one["tokens"], one["steps"]) == \
        (two["samples"], two["tokens"], two["steps"])
    for name, w in one["state"].items():
        torch.testing.assert_close(two["state"][name], w, rtol=0, atol=1e-6, msg=name)


def test_pruning_and_divergence_stop_every_rank_at_the_same_step(tmp_path):
    worker = str(HERE / "team_worker.py")
    for mode in ("prune", "nan"):
        assert torchrun([worker, mode, str(tmp_path)], tmp_path / "log") == 0, \
            (tmp_path / "log").read_text()[-3000:]
    seen = {p.name: p.read_text() for p in tmp_path.glob("*.txt")}
    assert seen["prune-0.txt"] == "RuntimeError: pruned at step 2"
    assert seen["prune-1.txt"].startswith("Stop: the leader stopped the trial: RuntimeError")
    # the NaN came from rank 1's loss only; both ranks stop at its optimizer step
    assert seen["nan-0.txt"] == seen["nan-1.txt"] == \
        "Diverged: training loss became nan at optimizer step 2"


def test_closing_the_team_frees_ddp_wrappers_before_the_process_group(tmp_path):
    """A DDP wrapper kept alive by a reference cycle until interpreter exit outlived the
    destroyed process group and aborted its rank ("terminate called without an active
    exception") in about 1 launch of 4: a finished launch then failed. Team.close()
    collects such cycles first."""
    worker = str(HERE / "team_worker.py")
    assert torchrun([worker, "teardown", str(tmp_path)], tmp_path / "log") == 0, \
        (tmp_path / "log").read_text()[-3000:]
    assert {p.name: p.read_text() for p in tmp_path.glob("teardown-*.txt")} == \
        {"teardown-0.txt": "0", "teardown-1.txt": "0"}


def test_bench_run_under_torchrun_runs_the_budget_once_over_two_ranks(tmp_path):
    suite = small_suite(tmp_path, trials=2, seeds="[0]")
    log = tmp_path / "launch.log"
    assert torchrun(["-m", "bench.cli", "run", suite, "--run-id", "dp", "-q"], log) == 0, \
        log.read_text()[-3000:]
    folder = run_dir(tmp_path, "dp")
    recs = records.load(folder)
    assert_budget(suite, recs)
    assert {r["meter"]["ranks"] for r in recs} == {2}
    # the ranks' shares add up to every training example once per epoch (1 epoch; 86 of
    # the 96 examples, the rest being the validation carve-out)
    assert {r["meter"]["train_samples"] for r in recs} == {86}
    assert len({r["worker"] for r in recs}) == 1  # only the leader records
    assert [p.name for p in Path(folder).glob("records*.jsonl")] == ["records.jsonl"]


WRAPPER = textwrap.dedent("""
    import os, sys
    import bench.train as T
    real = T._accumulate
    def failing(run, *args, **kwargs):
        mark = os.environ["BENCH_TEST_MARK"]
        if os.environ["RANK"] == os.environ["BENCH_TEST_FAIL_RANK"] and not os.path.exists(mark):
            open(mark, "w").close()
            raise RuntimeError("injected failure inside a step")
        return real(run, *args, **kwargs)
    T._accumulate = failing
    from bench.cli import main
    sys.exit(main(sys.argv[1:]))
""")


@pytest.mark.parametrize("rank", ["0", "1"])
def test_a_rank_failing_inside_a_step_ends_the_launch_and_a_relaunch_finishes(
        tmp_path, monkeypatch, rank):
    """The other rank is inside DDP's all-reduce: the launch ends (exit != 0), naming the
    failure. Relaunching finishes the budget exactly: a leader's own failure is recorded
    as a failed trial; a follower's failure is not the trial's, so the leader gives it
    back and the relaunch retries it."""
    suite = small_suite(tmp_path, trials=2, seeds="[0]")
    wrapper = tmp_path / "wrapper.py"
    wrapper.write_text(WRAPPER)
    monkeypatch.setenv("BENCH_TEST_MARK", str(tmp_path / "failed"))
    monkeypatch.setenv("BENCH_TEST_FAIL_RANK", rank)
    log = tmp_path / "first.log"
    assert torchrun([str(wrapper), "run", suite, "--run-id", "dp", "-q"], log) != 0
    assert "injected failure inside a step" in log.read_text()
    assert torchrun(["-m", "bench.cli", "run", suite, "--run-id", "dp", "-q"],
                    tmp_path / "second.log") == 0, (tmp_path / "second.log").read_text()
    recs = records.load(run_dir(tmp_path, "dp"))
    failed = [r for r in recs if r["status"] != "complete"]
    if rank == "0":
        assert len(failed) == 1 and "injected failure" in failed[0]["reason"]
        ok = [r for r in recs if r["status"] == "complete"]
        assert len(ok) == len(recs) - 1 and len({key(r) for r in recs}) == len(recs)
    else:
        # the leader either saw the collective fail (and gave the trial back) or was
        # stopped by torchrun first (its trial, left running, was reaped): both retry
        assert_budget(suite, recs)


def test_a_collective_broken_by_a_dead_peer_is_told_from_a_trial_error():
    from bench.team import peer_failed

    gloo = RuntimeError("[../third_party/gloo/gloo/transport/tcp/pair.cc:534] Connection "
                        "closed by peer [127.0.0.1]:5012")
    assert peer_failed(gloo)
    assert not peer_failed(RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB"))
    assert not peer_failed(ValueError("bad"))


def test_regimes_are_refused_in_a_data_parallel_launch(monkeypatch):
    from bench.runner import join_team

    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("LOCAL_RANK", "0")
    suite = SimpleNamespace(path="suites/multitask.toml", regimes={"mix": {}})
    with pytest.raises(UsageError, match=r"\[regimes\] cannot run data-parallel"):
        join_team(suite)
