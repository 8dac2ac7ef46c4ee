"""Records: schema-1 dicts, crash-safe append (two processes at once), torn lines, Parquet,
resume keys, JSON-safe values."""
from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import textwrap
import warnings
from dataclasses import dataclass
from pathlib import Path

import pytest

from bench.errors import DataError
from bench.records import (COUNT_KEYS, METER_KEYS, Recorder, export_parquet, finished_keys,
                           json_safe, load, new_record, records_file, to_frame, validate)

ROOT = Path(__file__).resolve().parents[1]
ENV = {"git_commit": "abc", "git_dirty": False, "versions": {"torch": "2.13.0"},
       "hardware": {"cpu": "x", "cores": 2, "ram_bytes": 1, "gpus": []},
       "python": "3.11.7", "platform": "linux", "hostname": "h"}


def cell(cell_id="c1", **options):
    return {"cell_id": cell_id, "model": "minilm", "model_ref": "package:x", "dtype": "float32",
            "quantization": None, "task": "sst2", "task_kind": "classification",
            "method": "lora", "label": "lora", "options": options or {"r": 8},
            "train": {"lr": 1e-4, "batch_size": 16}, "search": {"lr": {"low": 1e-4,
                                                                      "high": 3e-3, "log": True}}}


def rec(trial=0, status="complete", phase="tune", seed=0, cell_id="c1", **kw):
    kw.setdefault("env", ENV)
    return new_record(run_id="r1", suite="smoke", cell=kw.pop("cell", cell(cell_id)),
                      phase=phase, trial=trial, seed=seed, status=status,
                      split="validation", **kw)


def test_new_record_fills_the_schema():
    r = rec(params={"lr": 3e-4}, metrics={"accuracy": 0.8}, primary="accuracy",
            objective=0.8, meter={"cpu_s": 1.5}, counts={"trainable": 10},
            started_at=0.0, trials_budget=2)
    assert r["schema"] == 1 and r["cell"]["trials_budget"] == 2
    assert set(r["meter"]) == set(METER_KEYS) and r["meter"]["cpu_s"] == 1.5
    assert r["meter"]["energy_j"] is None
    assert set(r["counts"]) == set(COUNT_KEYS) and r["counts"]["trainable"] == 10
    assert r["started_at"] == "1970-01-01T00:00:00+00:00"
    assert r["finished_at"].endswith("+00:00")
    assert r["worker"] == f"{os.uname().nodename}:{os.getpid()}"
    with pytest.raises(ValueError, match="status='done'"):
        rec(status="done")
    with pytest.raises(ValueError, match="cell.cell_id"):
        validate({**r, "cell": {}})


def test_new_record_takes_a_cell_object_and_stamps_env():
    class Cell:
        def describe(self):
            return cell("c9")

    r = new_record(run_id="r", suite="s", cell=Cell(), phase="final", trial=3, seed=1,
                   status="complete", split="test", trials_budget=5)
    assert r["cell"]["cell_id"] == "c9" and r["cell"]["trials_budget"] == 5
    assert {"git_commit", "git_dirty", "versions", "hardware"} <= set(r["env"])


def test_json_safe_unwraps_numpy_torch_and_non_finite():
    np = pytest.importorskip("numpy")
    torch = pytest.importorskip("torch")

    @dataclass(frozen=True)
    class Dim:
        low: float
        high: float

    value = {"a": np.float32(0.5), "b": np.int64(3), "c": float("nan"), "d": np.bool_(True),
             "e": torch.tensor(2.5), "f": torch.tensor([1, 2]), "g": np.array([1.0, np.inf]),
             "h": (1, 2), "i": Dim(0.1, 0.2), "j": Path("/x"), "k": float("-inf"),
             3: object.__new__(type("Odd", (), {"__str__": lambda s: "odd"}))}
    out = json_safe(value)
    assert out == {"a": 0.5, "b": 3, "c": None, "d": True, "e": 2.5, "f": [1, 2],
                   "g": [1.0, None], "h": [1, 2], "i": {"low": 0.1, "high": 0.2}, "j": "/x",
                   "k": None, "3": "odd"}
    json.dumps(out, allow_nan=False)  # strict JSON


def test_round_trip_writes_nan_as_null(tmp_path):
    import numpy as np

    r = rec(metrics={"accuracy": np.float64(0.75), "loss": float("nan")},
            history=[{"step": 1, "value": np.float32(0.5)}],
            predictions={"preds": np.array([1, 0]), "labels": [1, 1]})
    Recorder(tmp_path).append(r)
    Recorder(tmp_path, worker="host:42").append(rec(trial=1))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["records-host_42.jsonl",
                                                          "records.jsonl"]
    text = (tmp_path / "records.jsonl").read_text()
    assert text.count("\n") == 1 and "NaN" not in text
    got = load(tmp_path)
    assert [g["trial"] for g in got] == [1, 0]  # files in name order
    back = got[1]
    assert back["metrics"] == {"accuracy": 0.75, "loss": None}
    assert back["predictions"] == {"preds": [1, 0], "labels": [1, 1]}
    assert back["history"] == [{"step": 1, "value": 0.5}]
    assert back == json.loads(json.dumps(json_safe(r)))
    assert load(tmp_path / "records.jsonl") == [back]


def test_records_file_names():
    assert records_file("d").name == "records.jsonl"
    assert records_file("d", "w1").name == "records-w1.jsonl"
    assert records_file("d", "a/b c").name == "records-a_b_c.jsonl"
    with pytest.raises(ValueError):
        records_file("d", "..")


def test_load_names_a_missing_path():
    with pytest.raises(DataError, match="no such run folder"):
        load("/nonexistent/run")


WRITER = textwrap.dedent("""
    import sys
    from bench.records import Recorder, new_record
    run_dir, name, same_file, n = sys.argv[1], sys.argv[2], sys.argv[3] == "1", int(sys.argv[4])
    rec = Recorder(run_dir, worker=None if same_file else name)
    blob = name * 5000  # lines of ~20 KB: interleaved writes would show
    env = {"git_commit": None}
    for i in range(n):
        rec.append(new_record(run_id="r", suite="s", cell={"cell_id": name}, phase="tune",
                              trial=i, seed=0, status="complete", split="validation",
                              params={"blob": blob}, env=env))
""")


@pytest.mark.parametrize("same_file", [True, False], ids=["one-file", "file-per-worker"])
def test_two_processes_append_without_interleaving(tmp_path, same_file):
    n = 60
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path), name,
                               "1" if same_file else "0", str(n)], env=env)
             for name in ("wa", "wb")]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    files = sorted(p.name for p in tmp_path.glob("records*.jsonl"))
    assert files == (["records.jsonl"] if same_file else ["records-wa.jsonl",
                                                           "records-wb.jsonl"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no torn line anywhere
        got = load(tmp_path)
    assert len(got) == 2 * n
    for name in ("wa", "wb"):
        mine = [r for r in got if r["cell"]["cell_id"] == name]
        assert [r["trial"] for r in mine] == list(range(n))  # in order, none lost or doubled
        assert all(r["params"]["blob"] == name * 5000 for r in mine)


def test_torn_last_line_is_skipped_then_repaired(tmp_path):
    rc = Recorder(tmp_path)
    rc.append(rec(trial=0))
    rc.append(rec(trial=1))
    with open(tmp_path / "records.jsonl", "a") as f:
        f.write('{"schema":1,"run_id":"r1","cell":{"cell_')  # a crash mid-write
    with pytest.warns(UserWarning, match=r"records.jsonl:3: skipping a torn"):
        assert [r["trial"] for r in load(tmp_path)] == [0, 1]
    Recorder(tmp_path).append(rec(trial=2))  # the resumed run starts a fresh line
    with pytest.warns(UserWarning, match=r"records.jsonl:3"):
        assert [r["trial"] for r in load(tmp_path)] == [0, 1, 2]


def test_finished_keys_for_resume():
    records = [rec(trial=0, status="complete"), rec(trial=1, status="pruned"),
               rec(trial=2, status="failed", reason="oom: CUDA out of memory"),
               rec(trial=3, status="interrupted"), rec(trial=0, status="skipped",
                                                       phase="final", seed=2, cell_id="c2")]
    assert finished_keys(records) == {("c1", "tune", 0, 0), ("c1", "tune", 1, 0),
                                      ("c1", "tune", 2, 0), ("c2", "final", 0, 2)}


def test_to_frame_and_parquet_export(tmp_path):
    pd = pytest.importorskip("pandas")
    rc = Recorder(tmp_path)
    rc.append(rec(trial=0, metrics={"accuracy": 0.5}, counts={"trainable": 7},
                  meter={"peak_rss_bytes": 123, "device": "cpu"},
                  history=[{"step": 5, "value": 0.4}], predictions={"preds": [1]}))
    # option types differ across cells: Arrow needs one type per column
    rc.append(rec(trial=1, cell=cell("c2", r=16, target_modules=["query", "value"]),
                  metrics={"accuracy": 0.7, "f1": 0.6}))
    rc.append(rec(trial=2, cell=cell("c3", r="auto", dropout=math.pi), status="failed",
                  reason="diverged: loss is nan"))
    df = to_frame(load(tmp_path))
    assert len(df) == 3
    for col in ("cell.cell_id", "cell.options.r", "cell.search.lr.low", "meter.peak_rss_bytes",
                "metrics.accuracy", "metrics.f1", "counts.trainable", "env.versions.torch"):
        assert col in df.columns, col
    assert "predictions" not in df.columns
    assert json.loads(df.loc[0, "history"]) == [{"step": 5, "value": 0.4}]
    assert json.loads(df.loc[1, "cell.options.target_modules"]) == ["query", "value"]
    assert "predictions" in to_frame(load(tmp_path), predictions=True).columns

    out = export_parquet(tmp_path)
    assert out == tmp_path / "records.parquet"
    back = pd.read_parquet(out)
    assert list(back["cell.cell_id"]) == ["c1", "c2", "c3"]
    assert list(back["metrics.accuracy"]) == [0.5, 0.7, None] or \
        back["metrics.accuracy"].isna().tolist() == [False, False, True]
    assert list(back["cell.options.r"]) == ["8", "16", "auto"]
    assert back.loc[2, "reason"] == "diverged: loss is nan"
    assert not list(tmp_path.glob(".records.parquet.*"))  # no temp file left behind
