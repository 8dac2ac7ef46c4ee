"""`bench baseline` and `bench compare` on run folders written with the real record writer:
baseline contents, seed/run noise, bootstrap, exit codes, outputs, [compare] tables, errors."""
from __future__ import annotations

import json
import random
from argparse import Namespace

import pytest

from bench.compare import baseline_main, compare_paths, main
from bench.compare.bootstrap import VECTORISED, half_width
from bench.errors import DataError, SuiteError, UsageError
from bench.records import Recorder, new_record

CPU_HW = {"cpu": "Intel Xeon", "cores": 2, "ram_bytes": 8 << 30, "gpus": []}
GPU_HW = {"cpu": "AMD EPYC", "cores": 16, "ram_bytes": 128 << 30,
          "gpus": [{"name": "NVIDIA H100 80GB HBM3", "memory_bytes": 80 << 30}]}


def rec(cid, seed, acc, *, method="lora", phase="final", status="complete", reason=None,
        rss=1e9, wall=10.0, tps=1000.0, preds=None, hw=CPU_HW, meter=None):
    env = {"git_commit": "0123456789abcdef", "git_dirty": False, "versions": {},
           "hardware": hw, "python": "3.11.7", "platform": "linux", "hostname": "box"}
    cell = {"cell_id": cid, "model": "minilm", "task": "sst2", "method": method,
            "label": method, "options": {"r": 8}}
    return new_record(
        run_id="r", suite="nightly", cell=cell, phase=phase, trial=0, seed=seed, status=status,
        split="test" if phase == "final" else "validation", metrics={"accuracy": acc},
        primary="accuracy", objective=acc, predictions=preds, reason=reason, env=env,
        meter={"device": "cpu", "peak_rss_bytes": rss, "wall_train_s": wall, "tokens_per_s": tps,
               **(meter or {})})


def toml_value(value):
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + " }"
    return json.dumps(value)


def write_run(path, records, compare=None):
    rec_file = Recorder(path)
    for r in records:
        rec_file.append(r)
    if compare is not None:
        lines = ["[suite]", 'name = "nightly"', "[compare]"]
        lines += [f"{k} = {toml_value(v)}" for k, v in compare.items()]
        (path / "suite.toml").write_text("\n".join(lines) + "\n")
    return str(path)


def nightly(path, accs=(0.80, 0.82, 0.84), **kw):
    """A run with a tuning trial and one final record per seed for cell c1 (lora)."""
    records = [rec("c1", 0, 0.5, phase="tune")]
    records += [rec("c1", seed, acc, **kw) for seed, acc in enumerate(accs)]
    return write_run(path, records)


def args(baseline, current, **kw):
    return Namespace(baseline=str(baseline), current=str(current), tolerance=kw.get("tolerance"),
                     format=kw.get("format", "md"), fail_on=kw.get("fail_on"), out=kw.get("out"))


def test_baseline_summarises_seeds_and_runs(tmp_path, capsys):
    r1 = nightly(tmp_path / "r1", (0.80, 0.82, 0.84))
    r2 = nightly(tmp_path / "r2", (0.81, 0.83, 0.85), wall=14.0)
    out = tmp_path / "baselines" / "nightly.json"
    assert baseline_main(Namespace(runs=[r1, r2], out=str(out))) == 0
    assert "wrote" in capsys.readouterr().err
    doc = json.loads(out.read_text())
    assert doc["kind"] == "bench-baseline" and doc["suite"] == "nightly"
    assert doc["hardware"] == {"cpu": "Intel Xeon", "gpus": [], "device": "cpu"}
    assert [r["run_dir"] for r in doc["runs"]] == [r1, r2] and doc["bench_version"]
    cell = doc["cells"]["c1"]
    assert (cell["model"], cell["task"], cell["method"], cell["options"]) == ("minilm", "sst2", "lora", {"r": 8})
    acc = cell["metrics"]["accuracy"]
    assert acc["mean"] == pytest.approx(0.825) and acc["n"] == 6 and acc["runs"] == 2
    assert acc["run_spread"] == pytest.approx(0.00707, abs=1e-4)  # std of run means .82, .83
    assert acc["values"] == [[0.8, 0.82, 0.84], [0.81, 0.83, 0.85]]
    assert cell["metrics"]["wall_train_s"]["mean"] == pytest.approx(12.0)
    assert cell["metrics"]["peak_rss_bytes"]["family"] == "memory"
    assert "energy_j" not in cell["metrics"]  # null on CPU: not a zero


def test_rerun_seed_keeps_the_last_complete_and_failed_cells_keep_their_reason(tmp_path, capsys):
    run = write_run(tmp_path / "r", [
        rec("c1", 0, 0.10, status="interrupted"), rec("c1", 0, 0.80), rec("c1", 0, 0.82),
        rec("c2", 0, 0.0, method="full", status="failed", reason="oom: CUDA out of memory")])
    out = tmp_path / "b.json"
    assert baseline_main(Namespace(runs=[run], out=str(out))) == 0
    assert "c2 has no result (failed: oom" in capsys.readouterr().err
    cells = json.loads(out.read_text())["cells"]
    assert cells["c1"]["metrics"]["accuracy"]["values"] == [[0.82]]
    assert cells["c2"]["metrics"] == {} and "oom" in cells["c2"]["reason"]


def test_bootstrap_half_width_from_predictions(tmp_path):
    rng = random.Random(0)
    labels = [rng.randint(0, 1) for _ in range(400)]
    preds = [y if rng.random() < 0.8 else 1 - y for y in labels]
    run = write_run(tmp_path / "r", [rec("c1", 0, 0.8, preds={"preds": preds, "labels": labels})])
    acc = compare_paths(run, run).changes[0].baseline
    # normal approximation: 1.96 * sqrt(0.8 * 0.2 / 400) = 0.039
    assert acc["ci_half"] == pytest.approx(0.039, abs=0.008)


def test_vectorised_bootstrap_metrics_match_bench_metrics():
    import numpy as np
    from bench.tasks.metrics import METRICS

    rng = random.Random(1)
    y = [rng.randint(0, 1) for _ in range(60)]
    p = [v if rng.random() < 0.7 else 1 - v for v in y]
    for name in ("accuracy", "f1", "matthews_correlation"):
        got = VECTORISED[name][0](np.array([p]), np.array([y]))[0]
        assert got == pytest.approx(METRICS[name](p, y)), name
    y3 = [rng.randint(0, 2) for _ in range(60)]
    p3 = [v if rng.random() < 0.6 else rng.randint(0, 1) for v in y3]  # class 2 rarely predicted
    assert VECTORISED["f1_macro"][0](np.array([p3]), np.array([y3]))[0] == pytest.approx(
        METRICS["f1_macro"](p3, y3))
    yf = [round(rng.random(), 1) for _ in range(60)]  # rounded: ties for Spearman's ranks
    pf = [round(v + rng.gauss(0, 0.3), 1) for v in yf]
    for name in ("pearson", "spearmanr"):
        got = VECTORISED[name][0](np.array([pf]), np.array([yf]))[0]
        assert got == pytest.approx(METRICS[name](pf, yf)), name
    assert half_width([1, 1], [1, 1], "no_such_metric") is None


def test_identical_run_passes_and_a_perturbed_one_fails_naming_the_cell(tmp_path, capsys):
    base = tmp_path / "b.json"
    baseline_main(Namespace(runs=[nightly(tmp_path / "r1")], out=str(base)))
    same = nightly(tmp_path / "r2")
    assert main(args(base, same)) == 0
    assert capsys.readouterr().out.startswith("## bench compare: PASS")
    worse = nightly(tmp_path / "r3", (0.70, 0.72, 0.74))  # -10 points, seed std 0.02
    assert main(args(base, worse)) == 1
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if "`c1`" in line)
    assert "**FAIL**" in row and "accuracy" in row and "minilm" in row and "lora" in row
    assert main(args(base, worse, fail_on="memory")) == 0  # quality no longer gates


def test_memory_regression_and_the_out_folder(tmp_path, capsys):
    base = tmp_path / "b.json"
    baseline_main(Namespace(runs=[nightly(tmp_path / "r1")], out=str(base)))
    fat = nightly(tmp_path / "r2", rss=1.5e9)
    assert main(args(base, fat, format="json", out=str(tmp_path / "cmp"))) == 1
    printed = json.loads(capsys.readouterr().out)
    written = json.loads((tmp_path / "cmp" / "compare.json").read_text())
    assert printed == written and printed["status"] == "fail"
    assert printed["changes"][0]["metric"] == "peak_rss_bytes"
    assert printed["changes"][0]["relative"] == pytest.approx(0.5)
    assert "`c1`" in (tmp_path / "cmp" / "compare.md").read_text()
    assert main(args(base, fat, tolerance=["memory=0.6"])) == 0


def test_compare_table_of_the_current_run_is_used(tmp_path, capsys):
    base = nightly(tmp_path / "r1", wall=10.0)
    slow = write_run(tmp_path / "r2", [rec("c1", s, a, wall=20.0) for s, a in enumerate((.8, .82, .84))],
                     compare={"fail_on": ["time"], "tolerance": {"time": 0.5}})
    assert main(args(base, slow)) == 1  # +100% time > 50%, and time gates
    assert "fails on time" in capsys.readouterr().out
    assert main(args(base, slow, tolerance=["time=2"])) == 0  # the flag beats the table
    bad = write_run(tmp_path / "r3", [rec("c1", 0, 0.8)], compare={"fial_on": ["time"]})
    with pytest.raises(SuiteError, match="did you mean 'fail_on'"):
        main(args(base, bad))


def test_gpu_memory_and_hardware_mismatch_from_records(tmp_path):
    gpu = {"device": "cuda:0", "gpu_count": 1, "nvml_peak_bytes": 3e9, "alloc_peak_bytes": 2e9,
           "energy_j": 500.0}
    base = write_run(tmp_path / "g", [rec("c1", 0, 0.8, hw=GPU_HW, meter=gpu)])
    cur = write_run(tmp_path / "c", [rec("c1", 0, 0.8)])
    cmp = compare_paths(base, cur)
    by = {ch.metric: ch.status for ch in cmp.changes}
    assert by["nvml_peak_bytes"] == "missing" and by["peak_rss_bytes"] == "new"
    assert by["energy_j"] == "missing" and by["accuracy"] == "unchanged"
    assert cmp.hardware_mismatch and cmp.exit_code == 0
    assert "H100" in cmp.warnings[0]


def test_bad_inputs_are_user_errors(tmp_path):
    run = nightly(tmp_path / "results" / "nightly" / "20261125-101500")
    with pytest.raises(DataError, match="no such baseline file"):
        compare_paths(str(tmp_path / "nope.json"), run)
    (tmp_path / "x.json").write_text('{"a": 1}')
    with pytest.raises(DataError, match="not a bench baseline"):
        compare_paths(str(tmp_path / "x.json"), run)
    with pytest.raises(DataError, match="did you mean its newest run"):
        compare_paths(run, str(tmp_path / "results" / "nightly"))
    with pytest.raises(UsageError, match="--format"):
        main(args(run, run, format="html"))
    with pytest.raises(UsageError, match="--tolerance"):
        main(args(run, run, tolerance=["quality:0.1"]))
    failed = write_run(tmp_path / "f", [rec("c1", 0, 0.0, status="failed", reason="error: x")])
    with pytest.raises(DataError, match="no complete final result"):
        baseline_main(Namespace(runs=[failed], out=str(tmp_path / "b.json")))


def test_paired_bootstrap_sees_a_small_real_drop_that_unpaired_noise_hides(tmp_path):
    rng = random.Random(2)
    labels = [rng.randint(0, 1) for _ in range(300)]
    wrong = [set(rng.sample(range(300), 60)) for _ in range(2)]  # 80% on both seeds: no seed noise
    seeds = [[1 - y if i in w else y for i, y in enumerate(labels)] for w in wrong]

    def run(name, rows):
        accs = [sum(p == y for p, y in zip(row, labels)) / len(labels) for row in rows]
        return write_run(tmp_path / name, [
            rec("c1", s, acc, preds={"preds": row, "labels": labels})
            for s, (row, acc) in enumerate(zip(rows, accs))])

    def worse(row):  # 8 right answers of 300 turned wrong: -2.7 points on each seed
        hits = [i for i, (p, y) in enumerate(zip(row, labels)) if p == y][:8]
        return [1 - p if i in hits else p for i, p in enumerate(row)]

    base, cur = run("base", seeds), run("cur", [worse(r) for r in seeds])
    ch = next(c for c in compare_paths(base, cur).changes if c.metric == "accuracy")
    assert ch.delta == pytest.approx(-8 / 300)
    assert ch.noise_from == "paired bootstrap" and ch.noise < 0.02
    assert ch.status == "regressed" and ch.fails
    # each side's own interval (about +-0.045 on 300 examples) would call it noise
    unpaired = (ch.baseline["ci_half"] ** 2 + ch.current["ci_half"] ** 2) ** 0.5 / 1.96 * 2
    assert unpaired > abs(ch.delta)
    out = tmp_path / "b.json"
    baseline_main(Namespace(runs=[base], out=str(out)))
    saved = json.loads(out.read_text())["cells"]["c1"]["predictions"]
    assert saved["labels"] == labels and saved["seeds"]["1"] == seeds[1]
    again = compare_paths(str(out), cur)
    assert again.regressed and again.failures[0].noise == pytest.approx(ch.noise)
    assert "predictions" not in again.to_json()["changes"][0]
    assert "`c1`" in again.markdown()
