"""The nightly gate end to end: run a suite twice, baseline the first, compare (exit 0);
perturb one record beyond the threshold and the comparison fails (exit 1), naming the cell."""
from __future__ import annotations

import glob
import json
import os
import subprocess
import sys

import pytest

from run_helpers import tiny_suite

BENCH = [sys.executable, "-m", "bench.cli"]


def bench(*args: str, env=None) -> subprocess.CompletedProcess:
    return subprocess.run([*BENCH, *args], capture_output=True, text=True, timeout=900,
                          env=dict(os.environ, OMP_NUM_THREADS="1", **(env or {})))


def runs_of(root: str) -> list[str]:
    return sorted(d for d in glob.glob(os.path.join(root, "*")) if not d.endswith("latest"))


def perturb(run_dir: str, drop: float) -> str:
    """Lower the held-out accuracy of the first cell's final records by `drop`."""
    path = os.path.join(run_dir, "records.jsonl")
    recs = [json.loads(line) for line in open(path)]
    victim = next(r["cell"]["cell_id"] for r in recs if r["phase"] == "final")
    for r in recs:
        if r["cell"]["cell_id"] == victim and r["phase"] == "final":
            r["metrics"]["accuracy"] -= drop
            r["objective"] = r["metrics"]["accuracy"]
            r["predictions"] = None  # the perturbed numbers no longer match predictions
    with open(path, "w") as fh:
        fh.writelines(json.dumps(r) + "\n" for r in recs)
    return victim


def gate(suite: str, root: str, tmp_path) -> None:
    first = bench("run", suite, "-q", "--new")
    assert first.returncode == 0, first.stderr[-2000:]
    baseline = str(tmp_path / "baseline.json")
    made = bench("baseline", runs_of(root)[0], "--out", baseline)
    assert made.returncode == 0, made.stderr
    second = bench("run", suite, "-q", "--new", "--baseline", baseline)
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-2000:]
    assert "regress" in second.stdout.lower()  # the markdown summary was printed
    current = runs_of(root)[1]
    victim = perturb(current, drop=0.30)
    failed = bench("compare", baseline, current, "--format", "md,json",
                   "--out", str(tmp_path / "cmp"))
    assert failed.returncode == 1, failed.stdout
    assert victim in failed.stdout
    summary = json.loads((tmp_path / "cmp" / "compare.json").read_text())
    assert summary["status"] == "fail" and summary["counts"].get("regressed", 0) >= 1
    assert any(c["cell_id"] == victim and c["status"] == "regressed" for c in summary["changes"])


def test_nightly_gate_on_a_tiny_suite(tmp_path):
    suite = tiny_suite(tmp_path, trials=1, seeds="[0, 1]")
    gate(suite, str(tmp_path / "results" / "tiny"), tmp_path)


@pytest.mark.slow
def test_nightly_gate_on_the_nightly_suite(tmp_path):
    out = tmp_path / "results"
    text = open("suites/nightly.toml").read().replace(
        'data_dir = "../../shared/data"',
        f'data_dir = "{os.path.abspath("../shared/data")}"\noutput = "{out}"')
    suite = tmp_path / "nightly.toml"
    suite.write_text(text)
    gate(str(suite), str(out / "nightly"), tmp_path)
