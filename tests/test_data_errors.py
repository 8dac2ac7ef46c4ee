"""Nothing trains on bad data: each data check raises a DataError whose message names the
file, the column, the bad values with their line numbers, and the fix."""
from __future__ import annotations

from pathlib import Path

import pytest

from bench.errors import DataError
from bench.tasks.load import load_split
from bench.tasks.spec import Task


def write(path: Path, text: str) -> str:
    path.write_text(text, encoding="utf-8")
    return str(path)


def task(tmp_path: Path, **kw) -> Task:
    base = dict(name="reviews", labels=("neg", "pos"), text=("sentence",),
                files={"train": "train.csv", "test": "test.csv"}, splits={}, hub_splits={})
    return Task(**{**base, **kw})


def load(t: Task, tmp_path: Path, split: str = "train"):
    return load_split(t, split, data_dir=None, base_dir=str(tmp_path))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"train\.csv: file not found.*relative paths"):
        load(task(tmp_path), tmp_path)


def test_missing_column_lists_the_available_ones(tmp_path: Path) -> None:
    write(tmp_path / "train.csv", "review,stars\ngood,pos\n")
    with pytest.raises(DataError) as err:
        load(task(tmp_path), tmp_path)
    msg = str(err.value)
    assert "train.csv" in msg and "no column 'sentence', 'label'" in msg
    assert "available columns: review, stars" in msg and "`text`/`label`" in msg


def test_empty_split(tmp_path: Path) -> None:
    write(tmp_path / "train.csv", "sentence,label\n")
    with pytest.raises(DataError, match=r"train\.csv: the 'train' split of task 'reviews' "
                                        r"is empty \(0 examples\)"):
        load(task(tmp_path), tmp_path)
    write(tmp_path / "train.csv", "")
    with pytest.raises(DataError, match="is empty"):
        load(task(tmp_path), tmp_path)


def test_labels_outside_the_declared_set(tmp_path: Path) -> None:
    rows = ["sentence,label", "a,pos", "b,neutral", "c,neg", "d,5", "e,1", "f,"]
    write(tmp_path / "train.csv", "\n".join(rows) + "\n")
    with pytest.raises(DataError) as err:
        load(task(tmp_path), tmp_path)
    msg = str(err.value)
    assert "train.csv: column 'label' has 3 value(s) outside the declared labels" in msg
    assert "'neutral' (line 3)" in msg and "'5' (line 5)" in msg and "'' (line 7)" in msg
    assert "'1'" not in msg  # an integer id in range is a valid label
    assert "integer ids 0..1" in msg


def test_many_bad_labels_are_summarised(tmp_path: Path) -> None:
    lines = ["sentence,label"] + [f"s{i},bad{i}" for i in range(12)]
    write(tmp_path / "train.csv", "\n".join(lines) + "\n")
    with pytest.raises(DataError, match=r"has 12 value\(s\).*'bad4' \(line 6\) and 7 more"):
        load(task(tmp_path), tmp_path)


def test_integer_label_names_do_not_accept_ids(tmp_path: Path) -> None:
    # stars 1..5 declared as names: a 0 is an error, not silently class "1"
    write(tmp_path / "train.csv", "sentence,label\na,1\nb,5\nc,0\n")
    t = task(tmp_path, labels=("1", "2", "3", "4", "5"))
    with pytest.raises(DataError, match=r"'0' \(line 4\)") as err:
        load(t, tmp_path)
    assert "integer ids" not in str(err.value)


def test_non_numeric_regression_targets(tmp_path: Path) -> None:
    write(tmp_path / "train.csv", "sentence,score\na,1.5\nb,high\nc,\nd,nan\ne,3\n")
    t = task(tmp_path, kind="regression", labels=(), label="score",
             metrics=("pearson",), primary="pearson")
    with pytest.raises(DataError) as err:
        load(t, tmp_path)
    msg = str(err.value)
    assert "train.csv: column 'score' of regression task 'reviews' has 3 non-numeric" in msg
    assert "'high' (line 3)" in msg and "'' (line 4)" in msg and "'nan' (line 5)" in msg


def test_duplicate_label_names(tmp_path: Path) -> None:
    write(tmp_path / "train.csv", "sentence,label\na,pos\n")
    with pytest.raises(DataError, match=r"task 'reviews', label column 'label': label names "
                                        r"'pos' and 'pos' are the same class listed twice"):
        load(task(tmp_path, labels=("neg", "pos", "pos")), tmp_path)
    with pytest.raises(DataError, match="'1' and '1.0'"):  # same class written two ways
        load(task(tmp_path, labels=("1", "1.0")), tmp_path)


def test_missing_text(tmp_path: Path) -> None:
    write(tmp_path / "train.jsonl", '{"sentence": "a", "label": 0}\n{"label": 1}\n')
    t = task(tmp_path, files={"train": "train.jsonl", "test": "train.jsonl"})
    with pytest.raises(DataError, match=r"train\.jsonl: column 'sentence' has no text at "
                                        r"line\(s\) 2"):
        load(t, tmp_path)


def test_ragged_tsv_line(tmp_path: Path) -> None:
    write(tmp_path / "train.tsv", "sentence\tlabel\na\t0\nb has\ta tab\t1\n")
    t = task(tmp_path, files={"train": "train.tsv", "test": "train.tsv"})
    with pytest.raises(DataError, match=r"train\.tsv: line 3 has 3 fields but the header has "
                                        r"2 \(sentence, label\).*tabs"):
        load(t, tmp_path)


def test_unsupported_file_type(tmp_path: Path) -> None:
    write(tmp_path / "train.xlsx", "x")
    t = task(tmp_path, files={"train": "train.xlsx", "test": "train.xlsx"})
    with pytest.raises(DataError, match=r"train\.xlsx: cannot read a \.xlsx file.*\.csv"):
        load(t, tmp_path)


def test_inferred_labels_must_cover_the_test_file(tmp_path: Path) -> None:
    write(tmp_path / "train.csv", "sentence,label\na,spam\nb,ham\n")
    write(tmp_path / "test.csv", "sentence,label\nc,ham\nd,eggs\n")
    t = task(tmp_path, labels=(), infer_labels=True)
    assert load(t, tmp_path).labels == [1, 0]  # inferred, sorted: ham=0, spam=1
    with pytest.raises(DataError, match=r"test\.csv: column 'label' has 1 value\(s\) outside "
                                        r"the labels inferred from the train file \['ham', "
                                        r"'spam'\]: 'eggs' \(line 3\)"):
        load(t, tmp_path, "test")


def test_a_single_class_cannot_be_inferred(tmp_path: Path) -> None:
    write(tmp_path / "train.csv", "sentence,label\na,spam\nb,spam\n")
    with pytest.raises(DataError, match=r"train\.csv: column 'label' holds 1 distinct"):
        load(task(tmp_path, labels=(), infer_labels=True), tmp_path)


def test_binary_f1_on_three_classes(tmp_path: Path) -> None:
    write(tmp_path / "train.csv", "sentence,label\na,x\nb,y\nc,z\n")
    t = task(tmp_path, labels=(), infer_labels=True, metrics=("f1",), primary="f1")
    with pytest.raises(DataError, match=r"metric 'f1' is the binary F1 .* 3 classes.*f1_macro"):
        load(t, tmp_path)


def test_no_validation_split_of_its_own(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"has no 'validation' split.*carve"):
        load(task(tmp_path), tmp_path, "validation")
