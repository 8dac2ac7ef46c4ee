"""Every GLUE task with data in ../shared/data/glue, and SuperGLUE CB, loads from the local
layout with the right sizes and label mapping; the hub is the fallback and fails cleanly."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from bench.errors import DataError
from bench.tasks import TASKS
from bench.tasks.load import load_split, locate

REPO = Path(__file__).resolve().parents[1]
DATA = next((p for p in (REPO.parent / "shared" / "data", REPO / "shared" / "data")
             if (p / "glue").is_dir()), None)
pytestmark = pytest.mark.skipif(DATA is None, reason="no shared/data beside the repo")

# task, split -> (size, class counts or (min, max) for STS-B, first example, first label)
EXPECTED = {
    ("sst2", "test"): (872, {1: 444, 0: 428}, ("it 's a charming and often affecting "
                                               "journey . ",), 1),
    ("mrpc", "train"): (3667, {1: 2473, 0: 1194}, None, 1),
    ("mrpc", "test"): (408, {1: 279, 0: 129}, None, 1),
    ("cola", "train"): (8551, {1: 6023, 0: 2528}, ("Our friends won't buy this analysis, "
                                                   "let alone the next one we propose.",), 1),
    ("cola", "test"): (1043, {1: 721, 0: 322}, None, 1),
    ("rte", "train"): (2490, {0: 1249, 1: 1241}, None, 1),  # first row is not_entailment
    ("rte", "test"): (277, {0: 146, 1: 131}, None, 1),
    ("stsb", "train"): (5749, (0.0, 5.0), ("A plane is taking off.",
                                           "An air plane is taking off."), 5.0),
    ("stsb", "test"): (1500, (0.0, 5.0), None, 5.0),
    ("wnli", "train"): (635, {0: 323, 1: 312}, None, 1),
    ("wnli", "test"): (71, {0: 40, 1: 31}, None, 0),
    ("qnli", "test"): (5463, {1: 2761, 0: 2702}, None, 0),  # first row: entailment
    ("cb", "train"): (250, {1: 119, 0: 115, 2: 16}, ("It was a complex language. Not written "
                      "down but handed down. One might say it was peeled down.",
                      "the language was peeled down"), 0),
    ("cb", "test"): (56, {1: 28, 0: 23, 2: 5}, None, 1),
}


@pytest.mark.parametrize("name,split", sorted(EXPECTED))
def test_local_split_sizes_and_labels(name: str, split: str) -> None:
    size, counts, first_text, first_label = EXPECTED[name, split]
    ex = load_split(TASKS[name], split, data_dir=str(DATA))
    assert len(ex) == len(ex.texts) == size
    assert all(len(t) == len(TASKS[name].text) for t in ex.texts)
    assert ex.labels[0] == first_label
    if first_text is not None:
        assert ex.texts[0] == first_text
    if isinstance(counts, dict):
        assert Counter(ex.labels) == counts
    else:
        assert (min(ex.labels), max(ex.labels)) == counts
        assert all(isinstance(y, float) for y in ex.labels)
    assert ex.source.startswith(str(DATA)) and TASKS[name].folder in ex.source


def test_sst2_train_all_rows() -> None:
    ex = load_split(TASKS["sst2"], "train", data_dir=str(DATA))
    assert len(ex) == 67349 and Counter(ex.labels) == {1: 37569, 0: 29780}


def test_mrpc_bom_and_literal_quotes() -> None:
    # MRPC starts with a BOM (the header must still say "Quality") and its sentences hold
    # bare quote characters that a quoting CSV reader would swallow.
    ex = load_split(TASKS["mrpc"], "train", data_dir=str(DATA))
    assert ex.texts[0][0].startswith('Amrozi accused his brother , whom he called " the '
                                     'witness " ,')


def test_flat_layout_and_env_var(monkeypatch: pytest.MonkeyPatch) -> None:
    # <dir>/<folder>/<split>.tsv works too (data_dir pointing at glue/ itself) ...
    assert len(load_split(TASKS["wnli"], "test", data_dir=str(DATA / "glue"))) == 71
    # ... and BENCH_DATA_DIR is the default data dir
    monkeypatch.setenv("BENCH_DATA_DIR", str(DATA))
    assert len(load_split(TASKS["wnli"], "test", data_dir=None)) == 71
    path, _ = locate(TASKS["cb"], "test", data_dir=None)
    assert path is not None and path.endswith("superglue/CB/val.jsonl")


def test_missing_local_split_falls_back_to_the_hub_and_fails_clearly(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import datasets

    calls = []

    def offline(path, name=None, split=None, **kw):  # what load_dataset raises offline
        calls.append((path, name, split))
        raise ConnectionError("Couldn't reach 'nyu-mll/glue' on the Hub")

    monkeypatch.setattr(datasets, "load_dataset", offline)
    with pytest.raises(DataError) as err:
        load_split(TASKS["qnli"], "train", data_dir=str(DATA))  # QNLI train is not carried
    msg = str(err.value)
    assert calls == [("nyu-mll/glue", "qnli", "train")]
    assert "QNLI/train" in msg and "ConnectionError" in msg
    assert "BENCH_DATA_DIR" in msg and "data_dir" in msg


def test_hub_columns_are_renamed_to_the_tsv_names(monkeypatch: pytest.MonkeyPatch) -> None:
    import datasets

    rows = {"sentence1": ["a b", "c d"], "sentence2": ["a c", "c e"], "label": [1, 0],
            "idx": [0, 1]}
    seen = []

    def fake(path, name=None, split=None, **kw):
        seen.append((path, name, split))
        return datasets.Dataset.from_dict(rows)

    monkeypatch.setattr(datasets, "load_dataset", fake)
    monkeypatch.delenv("BENCH_DATA_DIR", raising=False)
    ex = load_split(TASKS["mrpc"], "test", data_dir=None)
    assert seen == [("nyu-mll/glue", "mrpc", "validation")]  # GLUE dev is our test
    assert ex.texts == [("a b", "a c"), ("c d", "c e")] and ex.labels == [1, 0]
    assert ex.source == "hub:nyu-mll/glue/mrpc[validation]"
