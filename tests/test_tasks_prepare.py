"""`prepare`: honest splits, unpadded tokenization (pairs as pairs), the collate function,
and the tokenization cache (in process and on disk), with the real MiniLM tokenizer."""
from __future__ import annotations

from pathlib import Path

import pytest

from bench.tasks import TASKS
from bench.tasks import prepare as prep
from bench.tasks.inline import parse_inline
from bench.tasks.prepare import clear_cache, prepare

REPO = Path(__file__).resolve().parents[1]
DATA = next((p for p in (REPO.parent / "shared" / "data", REPO / "shared" / "data")
             if (p / "glue").is_dir()), None)
needs_data = pytest.mark.skipif(DATA is None, reason="no shared/data beside the repo")
CLS, SEP = 101, 102  # MiniLM's [CLS] and [SEP]


@pytest.fixture(scope="module")
def tok():
    from tiny import minilm_tokenizer

    return minilm_tokenizer()


@pytest.fixture(autouse=True)
def fresh_cache():
    clear_cache()
    yield
    clear_cache()


def custom_task(tmp_path: Path, n: int = 200, validation: bool = False):
    lines = ["text,label"] + [f"review number {i} is {'good' if i % 4 else 'bad'},"
                              f"{'pos' if i % 4 else 'neg'}" for i in range(n)]
    (tmp_path / "train.csv").write_text("\n".join(lines) + "\n")
    (tmp_path / "test.csv").write_text("text,label\nreally good,pos\nreally bad,neg\n")
    table = {"train": "train.csv", "test": "test.csv", "text": "text"}
    if validation:
        (tmp_path / "val.csv").write_text("text,label\nquite good,pos\nquite bad,neg\nok,pos\n")
        table["validation"] = "val.csv"
    task, problems = parse_inline("reviews", table, file="s.toml", base_dir=str(tmp_path))
    assert not problems
    return task


@needs_data
def test_sst2_is_tokenized_without_padding(tok) -> None:
    p = prepare(TASKS["sst2"], tok, max_length=32, data_dir=str(DATA), max_train_samples=200,
                max_eval_samples=100)
    assert (len(p.train), len(p.validation), len(p.test)) == (200, 100, 100)
    assert p.num_labels == 2 and p.label_names == ("negative", "positive")
    assert p.test_source.endswith("SST-2/dev.tsv") and "carve-out 0.1" in p.validation_source
    lengths = {len(f["input_ids"]) for f in p.train}
    assert len(lengths) > 5 and max(lengths) <= 32  # truncated, not padded
    for f in p.train:
        assert set(f) == {"input_ids", "attention_mask", "token_type_ids", "labels"}
        assert f["input_ids"][0] == CLS and f["input_ids"][-1] == SEP
        assert 0 not in f["input_ids"] and set(f["attention_mask"]) == {1}
    assert sorted({f["labels"] for f in p.train}) == [0, 1]
    batch = p.collate(p.train[:8])
    longest = max(len(f["input_ids"]) for f in p.train[:8])
    assert tuple(batch["input_ids"].shape) == (8, longest)
    assert batch["labels"].dtype.is_floating_point is False and batch["labels"].shape == (8,)
    assert int(batch["attention_mask"].sum()) == sum(len(f["input_ids"]) for f in p.train[:8])


@needs_data
def test_second_call_hits_the_cache(tok, monkeypatch: pytest.MonkeyPatch) -> None:
    kw = dict(max_length=32, data_dir=str(DATA), max_train_samples=50, max_eval_samples=20)
    first = prepare(TASKS["rte"], tok, **kw)

    def no_reload(*a, **k):
        raise AssertionError("the cache should have answered")

    monkeypatch.setattr(prep, "load_split", no_reload)
    assert prepare(TASKS["rte"], tok, **kw) is first
    with pytest.raises(AssertionError, match="cache"):  # another max_length is another entry
        prepare(TASKS["rte"], tok, **{**kw, "max_length": 16})


@needs_data
def test_pairs_are_tokenized_as_pairs(tok) -> None:
    p = prepare(TASKS["mrpc"], tok, max_length=40, data_dir=str(DATA), max_train_samples=30,
                max_eval_samples=30)
    for f in p.train + p.test:
        ids, types = f["input_ids"], f["token_type_ids"]
        assert ids.count(SEP) == 2 and len(ids) <= 40
        first_sep = ids.index(SEP)
        assert set(types[: first_sep + 1]) == {0} and set(types[first_sep + 1:]) == {1}


@needs_data
def test_regression_labels_are_float(tok) -> None:
    p = prepare(TASKS["stsb"], tok, max_length=32, data_dir=str(DATA), max_train_samples=40,
                max_eval_samples=10)
    assert p.num_labels == 1 and p.kind == "regression"
    batch = p.collate(p.train[:4])
    assert str(batch["labels"].dtype) == "torch.float32"
    assert all(0.0 <= f["labels"] <= 5.0 for f in p.train)


def test_validation_is_disjoint_and_independent_of_the_train_budget(tok, tmp_path) -> None:
    task = custom_task(tmp_path)
    full = prepare(task, tok, max_length=16, data_dir=None, base_dir=str(tmp_path))
    small = prepare(task, tok, max_length=16, data_dir=None, base_dir=str(tmp_path),
                    max_train_samples=50)
    ids = lambda feats: [tuple(f["input_ids"]) for f in feats]  # noqa: E731 (texts unique)
    assert len(full.validation) == 20 and len(full.train) == 180 and len(small.train) == 50
    assert ids(small.validation) == ids(full.validation)
    assert set(ids(full.train)).isdisjoint(ids(full.validation))
    assert set(ids(small.train)) <= set(ids(full.train))
    # stratified: a quarter of the examples are "neg" (id 0) in every part
    assert sum(f["labels"] == 0 for f in full.validation) == 5
    assert sum(f["labels"] == 0 for f in small.train) == 12 or sum(
        f["labels"] == 0 for f in small.train) == 13
    assert full.num_labels == 2 and full.label_names == ("neg", "pos")  # inferred


def test_an_own_validation_file_is_used_whole(tok, tmp_path) -> None:
    p = prepare(custom_task(tmp_path, validation=True), tok, max_length=16, data_dir=None,
                base_dir=str(tmp_path))
    assert len(p.train) == 200 and len(p.validation) == 3 and len(p.test) == 2
    assert p.validation_source.endswith("val.csv")


def test_disk_cache_and_changed_files(tok, tmp_path, monkeypatch) -> None:
    task = custom_task(tmp_path, n=40)
    cache = tmp_path / "cache"
    first = prepare(task, tok, max_length=16, data_dir=None, base_dir=str(tmp_path),
                    cache_dir=str(cache))
    assert len(list(cache.glob("tokenized-*.pkl"))) == 1
    clear_cache()
    real_build = prep._build
    monkeypatch.setattr(prep, "_build", lambda *a, **k: pytest.fail("disk cache missed"))
    again = prepare(task, tok, max_length=16, data_dir=None, base_dir=str(tmp_path),
                    cache_dir=str(cache))
    assert again is not first and again.train == first.train and again.key == first.key
    monkeypatch.setattr(prep, "_build", real_build)
    custom_task(tmp_path, n=60)  # the train file changed: a new key, a new tokenization
    changed = prepare(task, tok, max_length=16, data_dir=None, base_dir=str(tmp_path),
                      cache_dir=str(cache))
    assert changed.key != first.key and len(changed.train) == 54
