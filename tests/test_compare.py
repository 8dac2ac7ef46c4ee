"""Regression gate on hand-made baselines: classification, the noise rule, missing/new cells,
hardware mismatch, --fail-on gating, exit codes, markdown and JSON, [compare] validation."""
from __future__ import annotations

import json

import pytest

from bench.compare import COMPARE_KEYS, validate_compare
from bench.compare.classify import compare
from bench.compare.render import to_json, to_markdown
from bench.compare.settings import (Settings, from_table, parse_fail_on, parse_tolerance,
                                    with_overrides)
from bench.errors import SuiteError, UsageError

CPU = {"cpu": "Intel Xeon", "gpus": [], "device": "cpu"}
H100 = {"cpu": "AMD EPYC", "gpus": ["NVIDIA H100 80GB HBM3"], "device": "cuda"}
KIND = {"accuracy": ("quality", "higher"), "loss": ("quality", "lower"),
        "peak_rss_bytes": ("memory", "lower"), "wall_train_s": ("time", "lower"),
        "tokens_per_s": ("time", "higher"), "energy_j": ("energy", "lower")}


def m(name, mean, std=None, n=1, runs=1, run_spread=None, ci_half=None):
    family, direction = KIND[name]
    return {"family": family, "direction": direction, "mean": mean, "std": std, "n": n,
            "runs": runs, "run_spread": run_spread, "ci_half": ci_half, "values": [[mean]]}


def cell(*metrics, method="lora", reason=None):
    return {"model": "minilm", "task": "sst2", "method": method, "label": method,
            "options": {"r": 8}, "primary": "accuracy", "reason": reason,
            "metrics": {x["name"]: {k: v for k, v in x.items() if k != "name"} for x in metrics}}


def metric(name, mean, **kw):
    return {"name": name, **m(name, mean, **kw)}


def doc(cells, hardware=CPU, suite="nightly"):
    return {"schema": 1, "kind": "bench-baseline", "suite": suite, "hardware": hardware,
            "runs": [{"run_dir": "r", "git_commit": "abcdef123456", "git_dirty": False}],
            "cells": cells, "warnings": []}


def one(base_metric, cur_metric, settings=Settings()):
    cmp = compare(doc({"c1": cell(base_metric)}), doc({"c1": cell(cur_metric)}), settings)
    assert len(cmp.changes) == 1
    return cmp.changes[0], cmp


@pytest.mark.parametrize("name,base,cur,status", [
    ("accuracy", 0.80, 0.85, "improved"),
    ("accuracy", 0.80, 0.805, "unchanged"),       # within the 0.01 absolute tolerance
    ("accuracy", 0.80, 0.78, "regressed"),
    ("loss", 0.40, 0.30, "improved"),             # lower is better for a loss
    ("peak_rss_bytes", 1000.0, 1200.0, "regressed"),  # +20% > 10%
    ("peak_rss_bytes", 1000.0, 1050.0, "unchanged"),  # +5% < 10%
    ("peak_rss_bytes", 1000.0, 800.0, "improved"),
    ("tokens_per_s", 1000.0, 500.0, "regressed"),     # throughput: higher is better
    ("wall_train_s", 100.0, 50.0, "improved"),
    ("energy_j", 100.0, 130.0, "regressed"),
])
def test_each_classification_follows_the_metric_direction(name, base, cur, status):
    ch, _ = one(metric(name, base), metric(name, cur))
    assert ch.status == status
    assert ch.delta == pytest.approx(cur - base)


def test_beyond_tolerance_but_inside_seed_noise_is_unchanged():
    # 3 seeds with std 0.03: sigma of the difference = sqrt(2 * 0.03^2 / 3) = 0.0245; 2 sigma = 0.049
    base = metric("accuracy", 0.80, std=0.03, n=3)
    inside, _ = one(base, metric("accuracy", 0.77, std=0.03, n=3))
    assert inside.status == "unchanged" and "within noise" in inside.note
    assert inside.noise == pytest.approx(2 * (2 * 0.03**2 / 3) ** 0.5)
    beyond, _ = one(base, metric("accuracy", 0.74, std=0.03, n=3))
    assert beyond.status == "regressed" and beyond.fails


def test_a_one_seed_run_borrows_the_baseline_seed_std():
    ch, _ = one(metric("accuracy", 0.80, std=0.03, n=3), metric("accuracy", 0.77))
    assert ch.noise == pytest.approx(2 * (0.03**2 / 3 + 0.03**2) ** 0.5)
    assert ch.status == "unchanged"


def test_bootstrap_half_width_counts_as_noise():
    # half-widths 0.03 on both sides: sigma = hypot(0.03, 0.03) / 1.96 = 0.0216; 2 sigma = 0.043
    inside, _ = one(metric("accuracy", 0.80, ci_half=0.03), metric("accuracy", 0.77, ci_half=0.03))
    assert inside.status == "unchanged"
    beyond, _ = one(metric("accuracy", 0.80, ci_half=0.03), metric("accuracy", 0.75))
    assert beyond.status == "regressed"


def test_run_to_run_spread_widens_time_noise():
    # +40% time is beyond the 25% tolerance, but three baseline runs spread by 30 s
    base = metric("wall_train_s", 100.0, runs=3, run_spread=30.0)
    ch, _ = one(base, metric("wall_train_s", 140.0))
    assert ch.status == "unchanged"
    ch, _ = one(metric("wall_train_s", 100.0, runs=3, run_spread=5.0), metric("wall_train_s", 140.0))
    assert ch.status == "regressed"


def test_inside_noise_needs_tolerance_too():
    # no noise estimate at all: the tolerance alone decides
    ch, _ = one(metric("accuracy", 0.80), metric("accuracy", 0.795))
    assert ch.status == "unchanged" and ch.noise == 0


def test_per_metric_override_beats_the_family_tolerance():
    strict = from_table({"metrics": {"accuracy": 0.002}}, "s.toml")
    ch, _ = one(metric("accuracy", 0.80), metric("accuracy", 0.795), strict)
    assert ch.status == "regressed" and ch.tolerance == pytest.approx(0.002)


def test_missing_and_new_cells_and_metrics():
    base = doc({"gone": cell(metric("accuracy", 0.8)),
                "kept": cell(metric("accuracy", 0.8), metric("energy_j", 10.0))})
    cur = doc({"kept": cell(metric("accuracy", 0.8), metric("tokens_per_s", 5.0)),
               "fresh": cell(metric("accuracy", 0.9))})
    cmp = compare(base, cur, Settings())
    by = {(c.cell_id, c.metric): c for c in cmp.changes}
    assert by[("gone", None)].status == "missing" and by[("gone", None)].fails
    assert by[("fresh", None)].status == "new" and not by[("fresh", None)].fails
    assert by[("kept", "energy_j")].status == "missing" and not by[("kept", "energy_j")].fails
    assert by[("kept", "tokens_per_s")].status == "new"
    assert by[("kept", "accuracy")].status == "unchanged"
    assert cmp.exit_code == 1
    relaxed = compare(base, cur, Settings(fail_on_missing=False))
    assert relaxed.exit_code == 0 and relaxed.counts["missing"] == 2


def test_a_cell_that_failed_now_is_missing_with_its_reason():
    base = doc({"c1": cell(metric("accuracy", 0.8))})
    cur = doc({"c1": cell(reason="failed: oom: CUDA out of memory")})
    ch = compare(base, cur, Settings()).changes[0]
    assert ch.status == "missing" and "oom" in ch.note and ch.fails


def test_fail_on_chooses_the_gating_families():
    base = doc({"c1": cell(metric("accuracy", 0.8), metric("wall_train_s", 100.0))})
    cur = doc({"c1": cell(metric("accuracy", 0.8), metric("wall_train_s", 200.0))})
    default = compare(base, cur, Settings())
    assert default.counts["regressed"] == 1 and default.exit_code == 0  # time is not gated
    timed = compare(base, cur, Settings(fail_on=("time",)))
    assert timed.exit_code == 1 and timed.failures[0].metric == "wall_train_s"
    nothing = with_overrides(Settings(), {}, [], parse_fail_on("none"))
    assert compare(base, cur, nothing).exit_code == 0


def test_hardware_mismatch_warns_loudly_in_both_outputs():
    base = doc({"c1": cell(metric("accuracy", 0.8))}, hardware=H100)
    cmp = compare(base, doc({"c1": cell(metric("accuracy", 0.8))}), Settings())
    assert cmp.hardware_mismatch and cmp.exit_code == 0
    md = to_markdown(cmp)
    assert md.splitlines()[2].startswith("> **WARNING: HARDWARE MISMATCH")
    assert "H100" in md and "Intel Xeon" in md
    data = to_json(cmp)
    assert data["hardware_mismatch"] is True and "HARDWARE MISMATCH" in data["warnings"][0]
    same = compare(base, doc({"c1": cell(metric("accuracy", 0.8))}, hardware=H100), Settings())
    assert not same.hardware_mismatch and "WARNING" not in to_markdown(same)


def test_markdown_puts_regressions_first_and_names_the_cell():
    base = doc({"c_up": cell(metric("accuracy", 0.70), method="full"),
                "c_down": cell(metric("accuracy", 0.90), method="ia3")})
    cur = doc({"c_up": cell(metric("accuracy", 0.80), method="full"),
               "c_down": cell(metric("accuracy", 0.80), method="ia3")})
    md = to_markdown(compare(base, cur, Settings()))
    assert md.startswith("## bench compare: FAIL")
    assert md.index("### Regressions") < md.index("### Improvements")
    row = next(line for line in md.splitlines() if "`c_down`" in line)
    assert "**FAIL**" in row and "minilm" in row and "sst2" in row and "ia3 r=8" in row
    assert "-0.1000" in row


def test_json_summary_schema():
    base = doc({"c1": cell(metric("accuracy", 0.9), metric("peak_rss_bytes", 100.0))})
    cur = doc({"c1": cell(metric("accuracy", 0.8), metric("peak_rss_bytes", 100.0))})
    data = json.loads(json.dumps(to_json(compare(base, cur, Settings()))))
    assert {"schema", "kind", "status", "exit_code", "hardware_mismatch", "warnings", "baseline",
            "current", "settings", "counts", "changes"} <= set(data)
    assert data["status"] == "fail" and data["exit_code"] == 1
    assert data["counts"] == {"regressed": 1, "improved": 0, "missing": 0, "new": 0, "unchanged": 1}
    first = data["changes"][0]
    assert first["cell_id"] == "c1" and first["metric"] == "accuracy" and first["fails"]
    assert first["baseline"]["mean"] == 0.9 and first["current"]["mean"] == 0.8
    assert data["settings"]["fail_on"] == ["quality", "memory"]


def test_validate_compare_reports_each_problem_with_a_hint():
    assert validate_compare({"tolerance": {"quality": 0.02}, "noise_k": 3, "fail_on": ["time"],
                             "metrics": {"accuracy": 0.005}, "fail_on_missing": False}, "s.toml") == []
    problems = validate_compare({"tolerence": {}, "tolerance": {"qualty": 0.1, "time": -1},
                                 "fail_on": ["speed"], "noise_k": "two"}, "s.toml")
    text = "\n".join(map(str, problems))
    assert "compare.tolerence" in text and "'tolerance'" in text
    assert "compare.tolerance.qualty" in text and "'quality'" in text
    assert "compare.tolerance.time" in text and "speed" in text and "compare.noise_k" in text
    assert all(p.file == "s.toml" for p in problems) and len(problems) == 5
    assert set(COMPARE_KEYS) == {"tolerance", "noise_k", "fail_on", "fail_on_missing", "metrics"}
    with pytest.raises(SuiteError, match="noise_k"):
        from_table({"noise_k": -1}, "s.toml")


def test_command_line_tolerance_and_fail_on_parsing():
    assert parse_tolerance(["quality=0.02,memory=0.2", "accuracy=0.005"]) == {
        "quality": 0.02, "memory": 0.2, "accuracy": 0.005}
    for bad in (["quality"], ["quality=x"], ["=0.1"], ["time=-1"]):
        with pytest.raises(UsageError, match="--tolerance"):
            parse_tolerance(bad)
    with pytest.raises(UsageError, match="did you mean 'quality'"):
        parse_fail_on("qualty")
    s = with_overrides(Settings(), {"time": 0.5, "accuracy": 0.001}, ["accuracy"], ("energy",))
    assert s.tolerance["time"] == 0.5 and s.metrics == {"accuracy": 0.001}
    assert s.fail_on == ("energy",)
    with pytest.raises(UsageError, match="accuracy"):
        with_overrides(Settings(), {"acuracy": 0.1}, ["accuracy"], None)
