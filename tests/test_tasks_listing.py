"""`bench ls tasks` rows: every registered task with its metrics, sizes and source."""
from __future__ import annotations

from pathlib import Path

import pytest

from bench.tasks import TASKS
from bench.tasks.inline import parse_inline
from bench.tasks.listing import rows

REPO = Path(__file__).resolve().parents[1]
DATA = next((p for p in (REPO.parent / "shared" / "data", REPO / "shared" / "data")
             if (p / "glue").is_dir()), None)


def test_every_registered_task_is_listed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BENCH_DATA_DIR", raising=False)
    listed = {r["name"]: r for r in rows()}
    assert set(listed) == set(TASKS) >= {"cola", "sst2", "mrpc", "stsb", "qqp", "mnli",
                                         "mnli_mm", "qnli", "rte", "wnli", "cb"}
    assert listed["cola"]["metrics"] == "matthews_correlation, accuracy"
    assert listed["cola"]["primary"] == "matthews_correlation"
    assert listed["stsb"]["kind"] == "regression" and listed["stsb"]["metrics"] == (
        "pearson, spearmanr")
    assert listed["cb"]["metrics"] == "accuracy, f1_macro"
    assert (listed["sst2"]["train"], listed["sst2"]["test"]) == (67349, 872)
    assert listed["sst2"]["source"] == "hub nyu-mll/glue/sst2"  # no data dir: the hub


@pytest.mark.skipif(DATA is None, reason="no shared/data beside the repo")
def test_sources_show_local_files() -> None:
    listed = {r["name"]: r["source"] for r in rows(data_dir=str(DATA))}
    assert listed["sst2"] == f"local: {DATA}/glue/SST-2 (train.tsv, dev.tsv)"
    assert listed["cb"] == f"local: {DATA}/superglue/CB (train.jsonl, val.jsonl)"
    assert listed["qnli"].endswith("(dev.tsv); hub nyu-mll/glue/qnli for the rest")
    assert listed["mnli"] == "hub nyu-mll/glue/mnli"


def test_inline_tasks_are_listed(tmp_path: Path) -> None:
    for name in ("a.csv", "b.csv"):
        (tmp_path / name).write_text("sentence,label\nx,1\n")
    task, _ = parse_inline("mine", {"train": "a.csv", "test": "b.csv", "metric": "f1",
                                    "description": "my reviews"},
                           file="s.toml", base_dir=str(tmp_path))
    (row,) = rows([task])
    assert row == {"name": "mine", "kind": "classification", "metrics": "f1",
                   "primary": "f1", "train": None, "test": None,
                   "source": "files: train=a.csv, test=b.csv", "description": "my reviews"}
