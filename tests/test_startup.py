"""The start-up rule: `bench --help`, `validate` and `ls` import no heavy library and start
in under half a second (benchmarks/startup.py measures the wall times in full).

Imports are read from `python -X importtime`, which lists every module a process imported,
however indirectly. Time is the child's CPU time (user + system), the best of three runs:
unlike wall time it barely moves when other processes share the cores, so the test stays
strict (0.5 s, the target) without flaking on a busy machine; importing torch alone costs
seconds of CPU, so that regression shows twice.
"""
from __future__ import annotations

import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
HEAVY = ("torch", "transformers", "peft", "optuna", "datasets", "pandas", "accelerate",
         "sklearn", "scipy", "plotly", "pyarrow")
LIGHT = [["--help"], ["validate", "suites/glue.toml"], ["validate", "suites/smoke.toml"],
         ["ls", "methods"], ["ls", "tasks"]]
CODE = ("import sys; sys.argv = ['bench'] + sys.argv[1:]; from bench.cli import main; "
        "sys.exit(main(sys.argv[1:]))")
TARGET_S = 0.5


def bench(*args: str, importtime: bool = False) -> tuple[subprocess.CompletedProcess, float]:
    """Run `bench args` in a fresh interpreter; (process, its CPU seconds)."""
    flags = ["-X", "importtime"] if importtime else []
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run([sys.executable, *flags, "-c", CODE, *args], cwd=REPO,
                          capture_output=True, text=True, timeout=60,
                          env=os.environ | {"PYTHONDONTWRITEBYTECODE": "1"})
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return proc, cpu


def imported(stderr: str) -> set[str]:
    """Top-level package names of every module listed by -X importtime."""
    names = set()
    for line in stderr.splitlines():
        parts = line.split("|")
        if line.startswith("import time:") and len(parts) == 3:
            names.add(parts[2].strip().split(".")[0])
    return names


def test_imported_parses_importtime_lines():
    sample = ("import time: self [us] | cumulative | imported package\n"
              "import time:       120 |        120 |   torch._C\n"
              "import time:        80 |        200 | torch\n")
    assert imported(sample) == {"imported package", "torch"}  # header row is harmless


@pytest.mark.parametrize("args", LIGHT, ids=" ".join)
def test_light_command_imports_nothing_heavy(args):
    proc, _ = bench(*args, importtime=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    names = imported(proc.stderr)
    assert "bench" in names  # the probe really saw bench's imports
    assert not names & set(HEAVY), f"bench {' '.join(args)} imported {names & set(HEAVY)}"


@pytest.mark.parametrize("args", [["--help"], ["validate", "suites/glue.toml"],
                                  ["ls", "methods"]], ids=" ".join)
def test_light_command_starts_within_target(args):
    best = min(bench(*args)[1] for _ in range(3))
    assert best <= TARGET_S, f"bench {' '.join(args)} took {best:.2f} s of CPU (> {TARGET_S})"


def test_cpu_timer_fails_a_slow_start():
    """The timing check can fail: a child burning 0.6 s of CPU is measured over target."""
    burn = "import time\nt = time.process_time()\nwhile time.process_time() - t < 0.6: pass"
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run([sys.executable, "-c", burn], check=True, timeout=60)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    assert (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime) > TARGET_S
