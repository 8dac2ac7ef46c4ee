"""Regimes end to end on tiny random models: `bench run` on a suite with multi-task and
sequential regimes (an encoder with a union head; a causal LM on instruction tasks with a
general-text loss), records in regimes.jsonl, resume, and the report's Regimes section."""
from __future__ import annotations

import json
import os
import random
import textwrap
from pathlib import Path

import pytest

pytest.importorskip("torch")

from bench import records  # noqa: E402
from bench.cli import main  # noqa: E402
from run_helpers import write_csv  # noqa: E402
from tiny import save_tiny, tiny_bert, tiny_llama  # noqa: E402

TOPICS = {"sport": ["goal", "match", "team"], "food": ["bread", "soup", "cheese"],
          "weather": ["rain", "sun", "wind"]}


def write_topics(path: Path, n: int, seed: int) -> None:
    rng = random.Random(seed)
    lines = ["text,topic"]
    for i in range(n):
        topic = list(TOPICS)[i % 3]
        lines.append(f"the {rng.choice(TOPICS[topic])} today,{topic}")
    path.write_text("\n".join(lines) + "\n")


def write_glue_like(root: Path) -> None:
    """A data dir in the GLUE layout (SST-2, RTE) plus an Alpaca-style JSON, all toy."""
    rng = random.Random(0)
    for split, n in (("train", 60), ("dev", 16)):
        (root / "SST-2").mkdir(parents=True, exist_ok=True)
        rows = [f"a {'good' if i % 2 else 'bad'} film {rng.randint(0, 9)}\t{i % 2}"
                for i in range(n)]
        (root / "SST-2" / f"{split}.tsv").write_text("sentence\tlabel\n" + "\n".join(rows))
        (root / "RTE").mkdir(exist_ok=True)
        rows = [f"{i}\tthe cat is {'red' if i % 2 else 'blue'}\tthe cat is red\t"
                f"{'entailment' if i % 2 else 'not_entailment'}" for i in range(n)]
        (root / "RTE" / f"{split}.tsv").write_text(
            "index\tsentence1\tsentence2\tlabel\n" + "\n".join(rows))
    (root / "instruct").mkdir(exist_ok=True)
    rows = [{"instruction": f"name colour {i}", "input": "", "output": rng.choice(
        ["red", "blue"])} for i in range(40)]
    (root / "instruct" / "alpaca_data_1k.json").write_text(json.dumps(rows))


@pytest.fixture(scope="module")
def assets(tmp_path_factory):
    root = tmp_path_factory.mktemp("assets")
    save_tiny(root / "tiny-bert", tiny_bert(num_labels=2).bert)  # no head: drawn per task
    save_tiny(root / "tiny-llama", tiny_llama())
    write_csv(root / "toy_train.csv", 64, 0)
    write_csv(root / "toy_test.csv", 24, 1)
    write_topics(root / "topic_train.csv", 60, 0)
    write_topics(root / "topic_test.csv", 24, 1)
    write_glue_like(root / "data")
    return root


def suite(tmp_path: Path, assets: Path, body: str, epochs: int = 2) -> str:
    head = f"""
    [suite]
    name = "regimes"
    seeds = [0]
    output = "{tmp_path / 'results'}"
    data_dir = "{assets / 'data'}"

    [train]
    max_length = 40
    batch_size = 8
    epochs = {epochs}
    eval_points = 1
    max_train_samples = 32
    max_eval_samples = 12

    [tune]
    trials = 1
    sampler = "random"
    pruner = "none"

    [methods.full]
    lr = 1e-3
    [methods.lora]
    lr = 5e-3
    """
    path = tmp_path / "regimes.toml"
    path.write_text(textwrap.dedent(head) + textwrap.dedent(body))
    return str(path)


TASKS = """
[[models]]
name = "tiny-bert"
ref = "{root}/tiny-bert"

[tasks.toy]
train = "{root}/toy_train.csv"
test = "{root}/toy_test.csv"
labels = ["0", "1"]

[tasks.topic]
train = "{root}/topic_train.csv"
test = "{root}/topic_test.csv"
text = "text"
label = "topic"
"""

ENCODER = TASKS + """
[regimes.multitask]
tasks = ["toy", "topic"]
sampling = "temperature"
temperature = 2.0

[regimes.sequential]
order = ["toy", "topic"]
methods = ["lora"]
"""


def regime_records(run: str) -> list[dict]:
    return records.load(sorted(Path(run).glob("regimes*.jsonl")))


def test_encoder_regimes_end_to_end(tmp_path, assets):
    path = suite(tmp_path, assets, ENCODER.format(root=assets))
    assert main(["run", path, "-q"]) == 0
    run = os.path.realpath(tmp_path / "results" / "regimes" / "latest")
    recs = regime_records(run)
    # multitask: full + lora; sequential: lora only; each 1 trial + 1 final seed
    assert len(recs) == 3 * 2
    for r in recs:
        assert r["status"] == "complete", (r.get("reason"), r.get("traceback"))
        assert r["regime"]["kind"] in ("multitask", "sequential")
        assert r["cell"]["cell_id"].startswith("r") and r["primary"] == "average"
        assert 0 <= r["metrics"]["average"] <= 1 and r["counts"]["trainable"] > 0
        assert r["meter"]["train_steps"] > 0 and r["meter"]["wall_train_s"] > 0
        assert r["split"] == ("validation" if r["phase"] == "tune" else "test")
    multi = [r for r in recs if r["regime"]["kind"] == "multitask" and r["phase"] == "final"]
    assert {r["cell"]["task"] for r in multi} == {"multitask(toy+topic)"}
    for r in multi:
        evals = r["regime"]["evals"]
        assert [e["eval_task"] for e in evals] == ["toy", "topic"]
        assert all(e["stage"] == 1 and e["train_task"] == "mixture" for e in evals)
        assert r["metrics"]["average"] == pytest.approx(
            sum(e["value"] for e in evals) / 2)
        # the union head holds 2 + 3 classes: the trainable head is wider than one task's
        assert r["counts"]["head"] > 0
    seq = next(r for r in recs if r["regime"]["kind"] == "sequential" and r["phase"] == "final")
    stages = [(e["stage"], e["eval_task"]) for e in seq["regime"]["evals"]]
    assert stages == [(1, "toy"), (2, "toy"), (2, "topic")]
    assert "forgetting" in seq["metrics"] and "bwt" in seq["metrics"]
    # single-task cells ran beside the regimes, in records.jsonl
    singles = records.load(run)
    assert {r["cell"]["task"] for r in singles} == {"toy", "topic"}
    # a second run re-runs nothing
    assert main(["run", path, "-q"]) == 0
    assert len(regime_records(run)) == len(recs)
    # records lost from the file are restored from the Optuna storage, not re-trained
    (Path(run) / "regimes.jsonl").unlink()
    assert main(["run", path, "-q"]) == 0
    again = regime_records(run)
    assert sorted((r["cell"]["cell_id"], r["phase"]) for r in again) == sorted(
        (r["cell"]["cell_id"], r["phase"]) for r in recs)
    assert {r["finished_at"] for r in again} == {r["finished_at"] for r in recs}
    # the report has a Regimes section with the forgetting matrix and multi-task table
    out = tmp_path / "report"
    assert main(["report", run, "--out", str(out)]) == 0
    md = (out / "report.md").read_text()
    assert "## Regimes: instruction tuning, multi-task and sequential" in md
    assert "Multi-task vs single-task: multitask(toy+topic)" in md
    assert "Forgetting matrix: sequential(toy&gt;topic)" in md
    assert "toy" in md and "topic" in md


CAUSAL = """
[[models]]
name = "tiny-llama"
ref = "{root}/tiny-llama"
kind = "causal_lm"

[tasks]
use = ["sst2_instruct"]

[regimes.sequential]
order = ["sst2_instruct", "rte_instruct"]
general = "alpaca"
methods = ["lora"]

[regimes.multitask]
tasks = ["sst2_instruct", "rte_instruct"]
methods = ["lora"]
"""


def test_causal_lm_regimes_with_general_text_loss(tmp_path, assets):
    path = suite(tmp_path, assets, CAUSAL.format(root=assets), epochs=1)
    assert main(["run", path, "-q"]) == 0
    run = os.path.realpath(tmp_path / "results" / "regimes" / "latest")
    recs = regime_records(run)
    assert len(recs) == 4 and all(r["status"] == "complete" for r in recs), [
        (r.get("reason"), r.get("traceback")) for r in recs]
    seq = next(r for r in recs if r["regime"]["kind"] == "sequential" and r["phase"] == "final")
    assert seq["regime"]["general"] == "alpaca"
    general = seq["regime"]["general_loss"]
    assert [g["stage"] for g in general] == [0, 1, 2] and general[0]["after"] == "base"
    assert seq["metrics"]["general_loss_change"] == pytest.approx(
        general[-1]["loss"] - general[0]["loss"])
    for e in seq["regime"]["evals"]:
        assert {"accuracy", "loss", "perplexity", "exact_match"} <= set(e["metrics"])
    tune_seq = next(r for r in recs if r["regime"]["kind"] == "sequential"
                    and r["phase"] == "tune")
    assert tune_seq["regime"]["general_loss"] == []  # measured in final runs only
    singles = records.load(run)
    assert all(r["status"] == "complete" for r in singles), [r.get("reason") for r in singles]
    assert {r["cell"]["task"] for r in singles} == {"sst2_instruct"}


SHARED = TASKS + """
[regimes.multitask]
tasks = ["toy", "topic"]
methods = ["lora"]
"""


def test_regime_runs_sharing_one_storage_do_not_mix(tmp_path, assets):
    """Two runs of one suite with different run ids in one database: each trains its own
    regime trials in studies named "<suite>/<run id>/<cell id>", and neither run's folder
    receives the other's records (the restore reads its own run's studies only)."""
    import optuna

    path = suite(tmp_path, assets, SHARED.format(root=assets), epochs=1)
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    for run_id in ("a", "b"):
        assert main(["run", path, "--storage", url, "--run-id", run_id, "-q"]) == 0
    root = tmp_path / "results" / "regimes"
    a, b = regime_records(str(root / "a")), regime_records(str(root / "b"))
    assert len(a) == len(b) == 2  # 1 tuning trial + 1 final seed, trained by each run
    assert {r["run_id"] for r in a} == {"a"} and {r["run_id"] for r in b} == {"b"}
    assert {r["finished_at"] for r in a}.isdisjoint(r["finished_at"] for r in b)
    cid = a[0]["cell"]["cell_id"]
    assert {r["cell"]["cell_id"] for r in a + b} == {cid}  # the same regime cell
    names = {s.study_name for s in optuna.get_all_study_summaries(url, False)}
    assert {f"regimes/{run}/{cid}{end}" for run in "ab" for end in ("", "-final-seed0")
            } <= names
    assert not any(n.startswith(cid) for n in names)  # no study under the bare cell id
    # resuming run a restores nothing of run b's
    assert main(["run", path, "--storage", url, "--run-id", "a", "-q"]) == 0
    assert len(regime_records(str(root / "a"))) == 2
