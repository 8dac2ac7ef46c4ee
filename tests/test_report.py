"""The report's numbers on hand-made records: tables, Pareto, fairness, bootstrap, tuning."""
from __future__ import annotations

from pathlib import Path

import pytest
from report_fixtures import METHODS, make_records, record

from bench.report.aggregate import ReportData
from bench.report.model import Figure, Table
from bench.report.sections.cost import cost_section
from bench.report.sections.fairness import fairness_section
from bench.report.sections.results import table_section, tradeoff_section
from bench.report.sections.tuning import tuning_section
from bench.report.sections.uncertainty import uncertainty_section

RTE = {**METHODS, "lora": (147_000, 0.92)}  # lora wins rte, full wins sst2
TOTAL_MPNET = 109_500_000


def data_of(records) -> ReportData:
    return ReportData.build([Path("run")], records)


@pytest.fixture(scope="module")
def data() -> ReportData:
    return data_of(make_records(tasks=["sst2"]) + make_records(tasks=["rte"], methods=RTE))


def blocks(section, kind):
    return [b for b in section.blocks if isinstance(b, kind)]


def test_finals_are_mean_and_sample_std_over_seeds(data):
    fin = data.finals.set_index(["task", "variant"])
    assert fin.loc[("sst2", "full"), "mean"] == pytest.approx(0.90)
    assert fin.loc[("sst2", "full"), "std"] == pytest.approx(0.01)
    assert fin.loc[("sst2", "full"), "n"] == 3
    assert fin.loc[("rte", "lora"), "mean"] == pytest.approx(0.92)
    assert data.tasks == ["sst2", "rte"] and data.variants[0] == "full"
    assert data.scale("sst2") == 100


def test_paper_table_cells_bold_and_average(data):
    (table,) = blocks(table_section(data), Table)
    assert table.columns == ("method", "trainable", "% of total", "sst2 (accuracy ×100)",
                             "rte (accuracy ×100)", "Avg")
    rows = {r[0]: r for r in table.rows}
    assert rows["full"][1:] == ("22.7M", "100%", "90.0 ± 1.0", "90.0 ± 1.0", "90.0 ± 1.0")
    assert rows["lora"][3:] == ("89.0 ± 1.0", "92.0 ± 1.0", "90.5 ± 1.0")
    assert rows["lora"][2] == "0.648%"
    names = [r[0] for r in table.rows]
    bold = {(names[i], table.columns[j]) for i, j in table.bold}
    assert bold == {("full", "sst2 (accuracy ×100)"), ("lora", "rte (accuracy ×100)"),
                    ("lora", "Avg")}
    assert "split: test" in table.caption and "unweighted mean over tasks" in table.caption


def test_pareto_figures_mark_the_frontier(data):
    figs = blocks(tradeoff_section(data), Figure)
    assert [f.key for f in figs] == ["params-avg", "params-0-sst2", "params-1-rte"]
    sst2 = figs[1]
    rings = next(s for s in sst2.series if s.style == "ring")
    assert sorted(p.x for p in rings.points) == [15_000, 100_000, 147_000, 22_700_000]
    assert "adapter" not in sst2.caption.split("better):")[1]  # dominated by lora
    full = next(s for s in sst2.series if s.name == "full")
    assert full.points[0].y == pytest.approx(90.0) and full.points[0].err == pytest.approx(1.0)
    assert any("best config: lr=0.000215" in line for line in full.points[0].hover)
    avg = next(s for s in figs[0].series if s.name == "lora").points[0]
    assert avg.y == pytest.approx(90.5)


def test_cost_table_and_memory_plots_on_cpu(data):
    section = cost_section(data)
    table = blocks(section, Table)[0]
    assert "GPU peak (NVML)" not in table.columns and "peak RSS" in table.columns
    assert "GPU peak (NVML)" in table.caption  # said to be unmeasured, not silently dropped
    full = table.rows[0]
    assert full[0] == "full" and full[table.columns.index("runs (trials + finals)")] == "14"
    keys = [f.key for f in blocks(section, Figure)]
    assert keys == ["memory-0", "memory-1", "time-0", "time-1"]
    assert blocks(section, Figure)[0].x_label == "peak RSS (GiB, log)"
    assert blocks(section, Figure)[0].series[0].points[0].x == pytest.approx(1 + 8 * 22.7e6 / 2**30)


def test_cost_on_gpu_prefers_nvml_and_totals_energy():
    recs = make_records(tasks=["sst2"], methods={"full": METHODS["full"],
                                                 "lora": METHODS["lora"]}, seeds=[0], trials=2)
    for i, r in enumerate(recs):
        r["meter"].update(nvml_peak_bytes=2**30 * (1 + i % 3), alloc_peak_bytes=2**29,
                          gpu_count=1, energy_j=100.0, mfu=0.3)
    section = cost_section(data_of(recs))
    table = blocks(section, Table)[0]
    row = dict(zip(table.columns, table.rows[0]))
    assert row["GPU peak (NVML)"] == "3 GiB" and row["energy / run (J)"] == "100"
    assert row["total energy (J)"] == "300" and row["MFU"] == "0.3"
    assert row["total GPU-hours"] == "0.01"  # 3 runs × 12 s
    assert blocks(section, Figure)[0].x_label == "GPU peak (NVML) (GiB, log)"


def test_fairness_counts_statuses_and_reasons():
    recs = make_records(tasks=["sst2"], methods={"full": METHODS["full"]}, trials=2)
    recs += [record("sst2", "lora", "tune", trial=0, value=0.8),
             record("sst2", "lora", "tune", trial=1, value=0.5, status="pruned"),
             record("sst2", "lora", "tune", trial=2, value=None, status="failed",
                    reason="oom: CUDA out of memory <b>"),
             record("sst2", "qlora", "tune", trial=0, value=None, status="skipped",
                    reason="unavailable: bitsandbytes needs a GPU")]
    section = fairness_section(data_of(recs))
    note, budget, reasons = section.blocks
    assert "Budgets differ" in note.text  # full got 2 trials, the others 4
    rows = {r[1]: r for r in budget.rows}
    assert rows["lora"][2:8] == ("4", "3", "1", "1", "1", "0")
    assert rows["qlora"][2:8] == ("4", "1", "0", "0", "0", "1")
    assert rows["lora"][8] == "0 / 0"
    why = {(r[1], r[3]): r[4] for r in reasons.rows}
    assert why[("lora", "failed")] == "oom: CUDA out of memory <b>"
    assert why[("qlora", "skipped")].startswith("unavailable")


def test_equal_budget_note():
    note = fairness_section(data_of(make_records(tasks=["sst2"], trials=3))).blocks[0]
    assert note.text == "Every cell was given the same budget of 3 trials. Every cell ran all of them."


def test_uncertainty_verdicts_against_full(data):
    (table,) = blocks(uncertainty_section(data), Table)
    rows = {(r[0], r[1]): r for r in table.rows}
    assert ("sst2", "full") not in rows and rows[("sst2", "lora")][2] == "full"
    lora = rows[("sst2", "lora")]
    assert lora[3:6] == ("3", "200", "−1.0") and lora[8] == "worse"
    assert rows[("rte", "lora")][5] == "+2.0" and rows[("rte", "lora")][8] == "better"
    assert rows[("sst2", "prompt")][7] == "0.002"


def test_identical_method_is_within_noise_and_best_is_the_reference_without_full():
    methods = {"lora": METHODS["lora"], "lora2": METHODS["lora"], "bitfit": METHODS["bitfit"]}
    (table,) = blocks(uncertainty_section(data_of(make_records(tasks=["sst2"],
                                                               methods=methods))), Table)
    rows = {r[1]: r for r in table.rows}
    assert set(rows) == {"lora2", "bitfit"} and rows["lora2"][2] == "lora"
    assert rows["lora2"][5:] == ("+0.0", "[+0.0, +0.0]", "1", "within noise")
    assert "Reference per task — sst2: lora" in table.caption


def test_uncertainty_without_predictions_says_why():
    recs = make_records(tasks=["sst2"], methods={"full": METHODS["full"],
                                                 "lora": METHODS["lora"]})
    for r in recs:
        r["predictions"] = None
    (table,) = blocks(uncertainty_section(data_of(recs)), Table)
    assert table.rows[0][-1] == "not computed: no seed with predictions in both"


def test_tuning_best_configs_importances_and_lr_plots(data):
    section = tuning_section(data)
    best, imp = blocks(section, Table)
    row = next(r for r in best.rows if r[:2] == ("sst2", "lora"))
    assert row[2:5] == ("1", "lr=0.000215", "0.8567 (accuracy, validation)")
    assert imp.columns == ("task", "method", "trials", "lr")
    assert all(r[3] == "1" for r in imp.rows)  # one tuned parameter: trivially all of it
    figs = blocks(section, Figure)
    assert len(figs) == len(METHODS) and all(f.log_x for f in figs)
    lora = next(f for f in figs if f.title.startswith("lora"))
    assert [s.name for s in lora.series] == ["sst2", "rte"]
    assert sorted(p.x for p in lora.series[0].points) == pytest.approx([1e-5, 1e-3 * 10 ** (-2 / 3),
                                                                        1e-3 * 10 ** (2 / 3), 1e-1])


def test_importance_ranks_the_parameter_that_matters():
    from bench.report.importance import importances

    trials = [({"lr": 10 ** (-5 + i / 10), "wd": (i * 7 % 10) / 10}, -abs(i - 20) / 20)
              for i in range(40)]
    imp = importances(trials, {"lr": {"low": 1e-5, "high": 1e-1, "log": True}}, True)
    assert set(imp) == {"lr", "wd"} and imp["lr"] > imp["wd"]
    assert importances(trials[:1], None, True) == {}


def test_duplicate_records_from_a_resumed_run_are_dropped():
    recs = make_records(tasks=["sst2"], methods={"full": METHODS["full"]})
    again = [dict(r) for r in recs if r["phase"] == "final"][:1]
    data = data_of(recs + again)
    assert data.dropped == 1 and int(data.finals["n"].iloc[0]) == 3


def test_cells_without_parameter_counts_are_not_plotted():
    from bench.report.sections import build_sections

    recs = make_records(tasks=["sst2"], methods={"full": METHODS["full"]}, trials=2)
    for r in recs:
        r["counts"] = {}
    section = next(s for s in build_sections(data_of(recs)) if s.id == "tradeoff")
    assert not blocks(section, Figure)  # nothing to place on a log axis: no empty plot


def test_single_task_lr_sensitivity_is_one_figure_coloured_by_method():
    section = tuning_section(data_of(make_records(tasks=["sst2"], trials=3)))
    (fig,) = blocks(section, Figure)
    assert [s.name for s in fig.series] == ["full", "adapter", "lora", "bitfit", "prompt"]
    assert all(len(s.points) == 3 for s in fig.series) and fig.log_x


def test_best_config_is_the_finals_trial_else_the_first_of_the_best_trials():
    recs = make_records(tasks=["sst2"], methods={"full": METHODS["full"],
                                                 "lora": METHODS["lora"]})
    for r in recs:
        if r["cell"]["method"] == "lora" and r["phase"] == "tune" and r["trial"] in (1, 2):
            r["objective"] = r["metrics"]["accuracy"] = 0.95  # a tie: the first one wins
        if r["cell"]["method"] == "full" and r["phase"] == "final":
            r["trial"], r["params"] = 0, {"lr": 1e-5}  # the finals re-ran a worse trial
    recs = [r for r in recs if not (r["cell"]["method"] == "lora" and r["phase"] == "final")]
    best = blocks(tuning_section(data_of(recs)), Table)[0]
    rows = {r[1]: r for r in best.rows}
    assert rows["full"][2:5] == ("0", "lr=1e-05", "0.8 (accuracy, validation)")
    assert rows["lora"][2:6] == ("1", "lr=0.000215", "0.95 (accuracy, validation)", "4")


def test_uncertainty_pairs_each_model_with_its_own_full_and_only_common_seeds():
    two = (make_records(tasks=["sst2"], methods={"full": METHODS["full"],
                                                 "lora": METHODS["lora"]})
           + make_records(tasks=["sst2"], model="mpnet", methods={
               "full": (TOTAL_MPNET, 0.95), "lora": METHODS["lora"]}))
    two = [r for r in two if not (r["cell"]["cell_id"] == "mpnet-sst2-lora" and r["seed"] == 2
                                 and r["phase"] == "final")]
    (table,) = blocks(uncertainty_section(data_of(two)), Table)
    rows = {r[1]: r for r in table.rows}
    assert rows["minilm / lora"][2:6] == ("minilm / full", "3", "200", "−1.0")
    # seeds 0 and 1 only: lora 0.88, 0.89 vs full 0.94, 0.95
    assert rows["mpnet / lora"][2:6] == ("mpnet / full", "2", "200", "−6.0")


def test_importances_need_no_sklearn_and_leave_it_importable():
    """optuna.importance is loaded without scikit-learn (≈1 s); the scores are the same as
    with it loaded first, and `import sklearn` still works afterwards."""
    import subprocess
    import sys

    code = ("import sys{}\nfrom bench.report.importance import importances\n"
            "t = [({{'lr': 10 ** (-5 + i / 10), 'wd': i % 3}}, -abs(i - 20) / 20) "
            "for i in range(40)]\nimp = importances(t, None, True)\n"
            "print(repr(imp), 'sklearn' in sys.modules)\nimport sklearn.metrics\n")
    out = [subprocess.run([sys.executable, "-c", code.format(first)], capture_output=True,
                          text=True, check=True, cwd=Path(__file__).parents[1]).stdout.split()
           for first in ("", "; import sklearn")]
    assert out[0][-1] == "False" and out[1][-1] == "True"
    assert out[0][:-1] == out[1][:-1]


@pytest.mark.parametrize("metric, direction", [("accuracy", "maximize"), ("loss", "minimize")])
def test_directions_as_the_runner_writes_them(data, metric, direction):
    """The runner stamps the cell's tuning metric and Optuna's direction word on every
    record ("maximize"); the report reads it for the primary metric, so the paper table
    still bolds the best and scales fractions ×100 — also when tuning used another metric."""
    recs = make_records(tasks=["sst2"]) + make_records(tasks=["rte"], methods=RTE)
    for rec in recs:
        rec["cell"]["metric"], rec["cell"]["direction"] = metric, direction
    stamped = table_section(data_of(recs)).blocks
    plain = table_section(data).blocks
    tables = [(b.columns, b.rows, b.bold) for b in stamped if isinstance(b, Table)]
    assert tables == [(b.columns, b.rows, b.bold) for b in plain if isinstance(b, Table)]
    assert set(data_of(recs).frame["direction"]) == {"max"}
