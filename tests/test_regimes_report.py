"""The report's Regimes section on hand-made records: multi-task beside single-task,
forgetting summary and matrix (means over seeds), duplicates and failures."""
from __future__ import annotations

import json

import pytest

pytest.importorskip("pandas")

from bench.report.aggregate import ReportData  # noqa: E402
from bench.report.model import Figure, Table  # noqa: E402
from bench.report.sections.regimes import regimes_section  # noqa: E402
from bench.report.sections.regimes_figures import colour  # noqa: E402


def single(task, label, value, trainable):
    return {"schema": 1, "run_id": "r1", "suite": "s", "phase": "final", "trial": 0,
            "seed": 0, "split": "test", "status": "complete", "primary": "accuracy",
            "objective": value, "metrics": {"accuracy": value},
            "cell": {"cell_id": f"c-{task}-{label}", "model": "m", "task": task,
                     "method": label, "label": label, "options": {}},
            "counts": {"trainable": trainable, "total": 1000, "percent": trainable / 10},
            "meter": {}, "finished_at": "2026-11-25T10:00:00+00:00"}


def regime_rec(kind, label, seed, evals, metrics, trainable, status="complete", general=()):
    tasks = ["a", "b"]
    title = f"{kind}(a{'+' if kind == 'multitask' else '>'}b)"
    return {"schema": 1, "run_id": "r1", "suite": "s", "phase": "final", "trial": 0,
            "seed": seed, "split": "test", "status": status, "primary": "average",
            "metrics": metrics, "reason": None if status == "complete" else "oom: boom",
            "cell": {"cell_id": f"r-{kind}-{label}", "model": "m", "task": title,
                     "method": label, "label": label, "options": {}},
            "counts": {"trainable": trainable, "percent": trainable / 10},
            "regime": {"name": kind, "kind": kind, "tasks": tasks,
                       "evals": [{"stage": s, "eval_task": t, "value": v}
                                 for s, t, v in evals], "general_loss": list(general)},
            "finished_at": "2026-11-25T10:00:00+00:00"}


def seq(label, seed, a1, a2, b2, trainable, general=(), **kw):
    evals = [(1, "a", a1), (2, "a", a2), (2, "b", b2)]
    metrics = {"average": (a2 + b2) / 2, "forgetting": a1 - a2, "bwt": a2 - a1}
    if general:  # as bench.regimes.summary writes them
        metrics |= {"general_loss_base": general[0]["loss"],
                    "general_loss_after": general[-1]["loss"],
                    "general_loss_change": general[-1]["loss"] - general[0]["loss"]}
    return regime_rec("sequential", label, seed, evals, metrics, trainable, general=general,
                      **kw)


@pytest.fixture
def data(tmp_path):
    singles = [single("a", "full", 0.9, 1000), single("b", "full", 0.8, 1000),
               single("a", "lora", 0.85, 10)]
    regimes = [
        regime_rec("multitask", "full", 0, [(1, "a", 0.88), (1, "b", 0.84)],
                   {"average": 0.86}, 1000),
        regime_rec("multitask", "lora", 0, [(1, "a", 0.80), (1, "b", 0.70)],
                   {"average": 0.75}, 10),
        seq("full", 0, 0.9, 0.6, 0.8, 1000, general=[{"stage": 0, "loss": 2.0},
                                                      {"stage": 2, "loss": 2.6}]),
        seq("full", 1, 0.9, 0.7, 0.8, 1000, general=[{"stage": 0, "loss": 2.0},
                                                      {"stage": 2, "loss": 2.4}]),
        seq("lora", 0, 0.85, 0.8, 0.75, 10, general=[{"stage": 0, "loss": 2.0},
                                                      {"stage": 2, "loss": 2.1}]),
        seq("lora", 0, 0.1, 0.1, 0.1, 10),  # an earlier copy of the same final: dropped
        seq("lora", 1, 0.0, 0.0, 0.0, 10, status="failed"),
    ]
    regimes[-2]["finished_at"] = "2026-11-25T09:00:00+00:00"
    (tmp_path / "records.jsonl").write_text("\n".join(json.dumps(r) for r in singles))
    # the stale duplicate is written first: the later line for the same key wins
    lines = [regimes[-2], *regimes[:-2], regimes[-1]]
    (tmp_path / "regimes.jsonl").write_text("\n".join(json.dumps(r) for r in lines))
    return ReportData.build([tmp_path], singles)


def tables(section):
    return {b.title: b for b in section.blocks if isinstance(b, Table)}


def test_multitask_rows_sit_beside_the_single_task_runs(data):
    t = tables(regimes_section(data))["Multi-task vs single-task: multitask(a+b) on m"]
    rows = {r[0]: r for r in t.rows}
    col = {c: i for i, c in enumerate(t.columns)}
    assert rows["full"][col["a multi"]] == "88.0" and rows["full"][col["a single"]] == "90.0"
    assert rows["full"][col["a Δ"]] == "−2.0" and rows["full"][col["avg Δ"]] == "+1.0"
    assert rows["lora"][col["b single"]] == "—" and rows["lora"][col["avg Δ"]] == "—"


def test_forgetting_summary_and_matrix_average_over_seeds(data):
    section = regimes_section(data)
    t = tables(section)
    summary = t["Forgetting: sequential(a>b) on m"]
    rows = {r[0]: r for r in summary.rows}
    col = {c: i for i, c in enumerate(summary.columns)}
    # full: forgetting 0.3 and 0.2 over two seeds -> 25.0 ± 7.1; lora: 5.0 (one seed)
    assert rows["full"][col["forgetting"]] == "25.0 ± 7.1"
    assert rows["lora"][col["forgetting"]] == "5.0" and rows["lora"][col["seeds"]] == "1"
    assert rows["full"][col["Δ loss"]] == "+0.500" and rows["lora"][col["Δ loss"]] == "+0.100"
    lora_row = summary.rows.index(rows["lora"])
    assert (lora_row, col["forgetting"]) in summary.bold
    assert (lora_row, col["Δ loss"]) in summary.bold
    matrix = t["Forgetting matrix: sequential(a>b) on m"]
    assert ("full", "a", "90.0", "65.0") in matrix.rows
    assert ("full", "b", "", "80.0") in matrix.rows
    warn = [b.text for b in section.blocks if getattr(b, "kind", "") == "warn"]
    assert any("lora: oom: boom" in w for w in warn)
    figs = [b for b in section.blocks if isinstance(b, Figure)]
    keys = {f.key.rsplit("-", 1)[-1] for f in figs}
    assert {"forgetting", "general", "keep1", "m0", "m1"} <= keys
    heat = next(f for f in figs if f.key.endswith("-m0"))
    assert len(heat.series) == 3 and all(s.symbol == "square" for s in heat.series)


def test_no_regime_records_means_no_section(tmp_path):
    rec = single("a", "full", 0.9, 1000)
    (tmp_path / "records.jsonl").write_text(json.dumps(rec))
    assert regimes_section(ReportData.build([tmp_path], [rec])) is None


def instruct(label, seed, loss, acc=None):
    rec = single("g", label, 0.5, 100)
    rec["seed"], rec["primary"] = seed, "token_accuracy"
    rec["cell"]["task_kind"], rec["cell"]["cell_id"] = "instruction", f"c-g-{label}"
    rec["metrics"] = {"loss": loss, "perplexity": 2.718281828 ** loss,
                      "token_accuracy": 0.5, "exact_match": 0.25}
    rec["metrics"] |= {} if acc is None else {"accuracy": acc}
    return rec


def test_instruction_tasks_list_every_metric_beside_the_base_model(tmp_path):
    """Instruction finals (means over seeds) in their own table, and the base model's loss
    from a sequential regime whose general text is the same task; no regime needed."""
    singles = [instruct("full", 0, 1.0), instruct("full", 1, 2.0), instruct("lora", 0, 1.2)]
    (tmp_path / "records.jsonl").write_text("\n".join(json.dumps(r) for r in singles))
    t = tables(regimes_section(ReportData.build([tmp_path], singles)))
    table = t["Instruction tuning: g on m"]
    assert table.columns == ("method", "loss", "perplexity", "token accuracy",
                             "exact match", "seeds")  # no accuracy: not a short-answer task
    rows = {r[0]: r for r in table.rows}
    assert rows["full"][1:] == ("1.500", "5.05", "50.0", "25.0", "2")  # means over seeds
    assert (1, 1) in table.bold  # lora's 1.200 is the lowest loss
    general = [{"stage": 0, "after": "base", "task": "g", "loss": 2.0},
               {"stage": 2, "after": "b", "task": "g", "loss": 2.5}]
    (tmp_path / "regimes.jsonl").write_text(json.dumps(
        seq("lora", 0, 0.9, 0.8, 0.7, 10, general=general)))
    t = tables(regimes_section(ReportData.build([tmp_path], singles)))
    base = t["Instruction tuning: g on m"].rows[-1]
    assert base == ("base model (no training)", "2.000", "7.39", "—", "—", "—")
    assert "Forgetting: sequential(a>b) on m" in t


def test_colour_scale_ends():
    assert colour(0.0, 0.0, 1.0) == "#440154" and colour(1.0, 0.0, 1.0) == "#fde725"
    assert colour(5.0, 1.0, 1.0) == colour(0.5, 0.0, 1.0)  # a flat scale is mid-colour
