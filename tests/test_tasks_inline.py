"""Inline suite tasks: `parse_inline` checks a `[tasks.<name>]` table without reading data,
reports every problem with key path, value and fix, and the Task it builds loads."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.tasks.inline import KEYS, parse_inline
from bench.tasks.load import load_split

SUITE = "suites/mine.toml"


def files(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    data.mkdir()
    (data / "train.csv").write_text(
        'sentence,label,id\n"great, really great",pos,1\nawful,neg,2\n"so ""meh""",neg,3\n'
        "loved it,pos,4\n", encoding="utf-8")
    (data / "test.csv").write_text("sentence,label,id\nfine,pos,5\nbad,0,6\n",
                                   encoding="utf-8")
    return data


def parse(tmp_path: Path, **table):
    return parse_inline("reviews", table, file=SUITE, base_dir=str(tmp_path))


def test_a_custom_csv_task_parses_and_loads(tmp_path: Path) -> None:
    files(tmp_path)
    task, problems = parse(tmp_path, train="data/train.csv", test="data/test.csv",
                           text="sentence", label="label", labels=["neg", "pos"], metric="f1")
    assert problems == [] and task is not None
    assert task.files == {"train": "data/train.csv", "test": "data/test.csv"}
    assert (task.text, task.labels, task.metrics, task.primary) == (
        ("sentence",), ("neg", "pos"), ("f1",), "f1")
    train = load_split(task, "train", data_dir=None, base_dir=str(tmp_path))
    assert train.texts == [("great, really great",), ("awful",), ('so "meh"',), ("loved it",)]
    assert train.labels == [1, 0, 0, 1]
    test = load_split(task, "test", data_dir=None, base_dir=str(tmp_path))
    assert test.labels == [1, 0] and test.source.endswith("data/test.csv")


def test_defaults_and_inferred_labels(tmp_path: Path) -> None:
    files(tmp_path)
    task, problems = parse(tmp_path, train="data/train.csv", test="data/test.csv")
    assert problems == [] and task is not None
    assert task.infer_labels and task.labels == () and task.metrics == ("accuracy",)
    assert load_split(task, "train", base_dir=str(tmp_path), data_dir=None).labels == [
        1, 0, 0, 1]  # neg=0, pos=1 (sorted)
    reg, _ = parse(tmp_path, train="data/train.csv", test="data/test.csv", kind="regression",
                   label="id")
    assert reg is not None and reg.metrics == ("pearson", "spearmanr") and not reg.infer_labels
    assert load_split(reg, "train", base_dir=str(tmp_path), data_dir=None).labels == [
        1.0, 2.0, 3.0, 4.0]


@pytest.mark.parametrize("suffix", ["tsv", "jsonl", "json", "parquet"])
def test_other_file_formats(tmp_path: Path, suffix: str) -> None:
    rows = [{"premise": "a cat sat", "hypothesis": "a cat", "gold": "yes"},
            {"premise": "it rained", "hypothesis": "dry day", "gold": "no"}]
    path = tmp_path / f"d.{suffix}"
    if suffix == "tsv":
        path.write_text("premise\thypothesis\tgold\n" + "".join(
            f"{r['premise']}\t{r['hypothesis']}\t{r['gold']}\n" for r in rows))
    elif suffix == "jsonl":
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    elif suffix == "json":
        path.write_text(json.dumps(rows))
    else:
        import pandas as pd

        pd.DataFrame(rows).to_parquet(path)
    task, problems = parse(tmp_path, train=path.name, test=path.name,
                           text=["premise", "hypothesis"], label="gold", labels=["no", "yes"],
                           metrics=["accuracy", "f1"], primary="f1")
    assert problems == [] and task is not None and task.primary == "f1"
    ex = load_split(task, "test", base_dir=str(tmp_path), data_dir=None)
    assert ex.texts == [("a cat sat", "a cat"), ("it rained", "dry day")]
    assert ex.labels == [1, 0]


def by_key(problems) -> dict[str, list]:
    out: dict[str, list] = {}
    for p in problems:
        out.setdefault(p.key, []).append(p)
    return out


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    files(tmp_path)
    task, problems = parse(tmp_path, train="data/train.csv", test="data/nope.csv",
                           validation="data/v.xlsx", txt="x", text=["a", "b", "c"],
                           label=3, kind="clasification", metrics=["acuracy", "pearson"],
                           primary="f1", labels=["a", "a"])
    assert task is None
    got = by_key(problems)
    assert set(got) == {"tasks.reviews.test", "tasks.reviews.validation", "tasks.reviews.txt",
                        "tasks.reviews.text", "tasks.reviews.label", "tasks.reviews.kind",
                        "tasks.reviews.metrics", "tasks.reviews.primary",
                        "tasks.reviews.labels"}
    assert all(p.file == SUITE for p in problems)
    text = {k: " | ".join(str(p) for p in v) for k, v in got.items()}
    assert "file not found" in text["tasks.reviews.test"] and "nope.csv" in text[
        "tasks.reviews.test"] and "relative to the suite" in text["tasks.reviews.test"]
    assert "unsupported file type (got 'data/v.xlsx')" in text["tasks.reviews.validation"]
    assert "unknown key (got 'txt')" in text["tasks.reviews.txt"] and "'text'" in text[
        "tasks.reviews.txt"]
    assert "one or two column names (got ['a', 'b', 'c'])" in text["tasks.reviews.text"]
    assert "non-empty string (got 3)" in text["tasks.reviews.label"]
    assert "did you mean 'classification'" in text["tasks.reviews.kind"]
    assert "unknown metric (got 'acuracy')" in text["tasks.reviews.metrics"]
    assert "did you mean 'accuracy'" in text["tasks.reviews.metrics"]
    assert "'pearson' scores regression tasks" in text["tasks.reviews.metrics"]
    assert "is not one of the task's metrics (got 'f1')" in text["tasks.reviews.primary"]
    assert "'a' listed twice" in text["tasks.reviews.labels"]


def test_more_problems(tmp_path: Path) -> None:
    files(tmp_path)
    _, problems = parse(tmp_path, kind="regression", labels=["x", "y"], metric="accuracy",
                        metrics=["pearson"])
    msgs = [str(p) for p in problems]
    assert any("tasks.reviews.train: is required" in m for m in msgs)
    assert any("tasks.reviews.test: is required" in m for m in msgs)
    assert any("regression task has no class labels" in m for m in msgs)
    assert any("either `metric` or `metrics`" in m for m in msgs)
    _, problems = parse(tmp_path, train="data/train.csv", test="data/test.csv",
                        labels=["a", "b", "c"], metric="f1", description=5)
    msgs = [str(p) for p in problems]
    assert any("'f1' is binary F1" in m and "f1_macro" in m for m in msgs)
    assert any("tasks.reviews.description" in m for m in msgs)
    _, problems = parse_inline("bad name!", [1], file=SUITE, base_dir=str(tmp_path))
    assert [p.key for p in problems] == ["tasks.bad name!", "tasks.bad name!"]


def test_keys_are_registered_with_descriptions() -> None:
    assert {"train", "test", "validation", "text", "label", "labels", "kind", "metric",
            "metrics", "primary"} <= set(KEYS)
    assert all(isinstance(v, str) and v for v in KEYS.values())


def test_parsing_imports_nothing_heavy() -> None:
    code = ("import sys, bench.tasks.inline, bench.tasks.listing, bench.tasks.load, "
            "bench.tasks.metrics, bench.tasks.splits, bench.tasks.prepare; "
            "heavy = {'torch', 'transformers', 'datasets', 'sklearn', 'scipy', 'pandas', "
            "'pyarrow', 'numpy'}; print(sorted(heavy & set(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=Path(__file__).resolve().parents[1])
    assert out.stdout.strip() == "[]"
