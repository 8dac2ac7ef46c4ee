"""The command line: exit codes, messages without tracebacks, dry runs, and lazy imports."""
from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from bench.cli import main
from suite_helpers import compose, write_suite

PROBE = ("import sys, runpy; sys.argv = ['bench'] + sys.argv[1:]\n"
         "from bench.cli import main\n"
         "try:\n    rc = main(sys.argv[1:])\nexcept SystemExit as e:\n    rc = e.code\n"
         "heavy = [m for m in ('torch', 'transformers', 'peft', 'optuna', 'datasets', "
         "'pandas') if m in sys.modules]\n"
         "print('HEAVY=' + ','.join(heavy), file=sys.stderr); sys.exit(rc)")


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True,
                          text=True, timeout=120)


@pytest.mark.parametrize("args", [
    ["--help"], ["validate", "suites/glue.toml"], ["validate", "suites/smoke.toml"],
    ["ls", "methods"], ["ls", "tasks"], ["run", "suites/smoke.toml", "--dry-run"],
])
def test_light_commands_do_not_import_torch(args):
    proc = run_cli(*args)
    assert proc.returncode == 0, proc.stderr
    assert "HEAVY=\n" in proc.stderr or proc.stderr.rstrip().endswith("HEAVY="), proc.stderr


def test_dry_run_lists_cells_and_budget_quickly():
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "bench.cli", "run", "suites/smoke.toml",
                           "--dry-run"], capture_output=True, text=True, timeout=60)
    elapsed = time.perf_counter() - t0
    assert proc.returncode == 0, proc.stderr
    assert "budget:" in proc.stdout and "lora" in proc.stdout and "prefix" in proc.stdout
    assert elapsed < 10  # the 0.5 s target is guarded by tests/test_startup.py


def test_bad_suite_exits_2_without_traceback(tmp_path, capsys):
    path = write_suite(tmp_path, compose("[methods.lorra]\n[methods.full]\n"
                                         "lr = { low = 1e-3, high = 1e-5 }\nfoo = 1\n")
                       .replace('use = ["sst2"]', 'use = ["sst2", "nope"]'))
    assert main(["validate", path]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "4 problems" in err
    for needle in ("methods.lorra", "methods.full.lr", "methods.full.foo", "tasks.use"):
        assert needle in err


def test_run_validates_first(tmp_path, capsys):
    path = write_suite(tmp_path, compose("[methods.bogus]\n"))
    assert main(["run", path]) == 2
    assert "unknown method 'bogus'" in capsys.readouterr().err


def test_ls_methods_json_lists_every_registered_method(capsys):
    from bench.methods import METHODS

    assert main(["ls", "methods", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in rows] == list(METHODS)
    assert all(r["family"] and r["options"] is not None for r in rows)


def test_usage_errors_exit_2():
    with pytest.raises(SystemExit) as err:
        main(["frobnicate"])
    assert err.value.code == 2
