"""Prepare a task for training: load, split honestly, subsample, tokenize once, cache.

`prepare(task, tokenizer, ...)` returns tokenized train / validation / test examples
(unpadded: a `DataCollatorWithPadding` pads each batch to its own longest sequence) and
the collate function. Results are cached per (tokenizer, task, max_length, sample sizes,
seed, val_fraction, data files) in this process, and on disk under `cache_dir` when given,
so every trial and every cell sharing a tokenizer reuses one tokenization.

Order of the splits, and why: the validation carve-out is taken from the *full* train file
first, then `max_train_samples` subsamples what is left. So the validation examples do not
depend on the training budget (suites with different `max_train_samples` tune on the same
examples), they never overlap train, and `max_train_samples` means exactly that many
training examples. `max_eval_samples` caps validation and test (a capped test is no longer
the official dev set; the runner records the cap in the record's `train` block).
"""
from __future__ import annotations

import hashlib
import os
import pickle
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Callable

from bench.tasks.load import Examples, has_split, load_split, locate, resolve_labels
from bench.tasks.splits import carve_validation, quantile_bins, subsample
from bench.tasks.spec import Task

CACHE_SIZE = 8  # prepared tasks kept in memory (a full SST-2 is ~100 MB of token lists)
_CACHE: OrderedDict[str, Prepared] = OrderedDict()
_LOCK = threading.RLock()


@dataclass(frozen=True, eq=False)
class Prepared:
    """Tokenized splits (lists of dicts: input_ids, attention_mask, [token_type_ids], labels)."""

    train: list[dict[str, Any]]
    validation: list[dict[str, Any]]
    test: list[dict[str, Any]]
    num_labels: int  # 1 for regression
    label_names: tuple[str, ...]  # class names in id order (inferred ones included)
    kind: str
    train_source: str
    validation_source: str
    test_source: str  # the file or hub split final numbers are measured on
    collate: Callable[[list[dict[str, Any]]], dict[str, Any]]
    key: str  # hash of everything the tokenization depends on


class Collate:
    """DataCollatorWithPadding, with labels cast to float (regression) or long."""

    def __init__(self, tokenizer: Any, regression: bool):
        from transformers import DataCollatorWithPadding

        self.pad = DataCollatorWithPadding(tokenizer, padding="longest")
        self.regression = regression

    def __call__(self, features: list[dict[str, Any]]) -> dict[str, Any]:
        batch = self.pad(features)
        labels = batch["labels"]
        batch["labels"] = labels.float() if self.regression else labels.long()
        return batch


def prepare(task: Task, tokenizer: Any, *, max_length: int, data_dir: str | None,
            base_dir: str = ".", max_train_samples: int | None = None,
            max_eval_samples: int | None = None, val_fraction: float = 0.1, seed: int = 0,
            cache_dir: str | None = None) -> Prepared:
    """Load, split, subsample and tokenize `task` (cached; see the module docstring)."""
    key = _key(task, tokenizer, max_length, data_dir, base_dir, max_train_samples,
               max_eval_samples, val_fraction, seed)
    with _LOCK:
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return _CACHE[key]
        parts = _from_disk(cache_dir, key)
        if parts is None:
            parts = _build(task, tokenizer, max_length, data_dir, base_dir, max_train_samples,
                           max_eval_samples, val_fraction, seed)
            _to_disk(cache_dir, key, parts)
        prepared = Prepared(**parts, kind=task.kind, key=key,
                            collate=_collate(task, tokenizer))
        _CACHE[key] = prepared
        while len(_CACHE) > CACHE_SIZE:
            _CACHE.popitem(last=False)
        return prepared


def clear_cache() -> None:
    """Forget every in-process prepared task (the disk cache is left alone)."""
    with _LOCK:
        _CACHE.clear()


def _collate(task: Task, tokenizer: Any) -> Callable[[list[dict[str, Any]]], dict[str, Any]]:
    if task.kind == "instruction":  # labels padded with -100 (bench.tasks.instruct)
        from bench.tasks.instruct import InstructCollate

        return InstructCollate(tokenizer)
    return Collate(tokenizer, task.kind == "regression")


def _build(task: Task, tokenizer: Any, max_length: int, data_dir: str | None,
           base_dir: str, max_train: int | None, max_eval: int | None, fraction: float,
           seed: int) -> dict[str, Any]:
    if task.kind == "instruction":  # rendered prompts, response-only labels
        from bench.tasks.instruct import build

        return build(task, tokenizer, max_length, data_dir, base_dir, max_train, max_eval,
                     fraction, seed)
    task = resolve_labels(task, data_dir=data_dir, base_dir=base_dir)
    load = {"data_dir": data_dir, "base_dir": base_dir}
    train, test = load_split(task, "train", **load), load_split(task, "test", **load)
    strata = _strata(task, train)
    if has_split(task, "validation"):
        val = load_split(task, "validation", **load)
        train_idx, val_idx, val_source = list(range(len(train))), None, val.source
    else:
        train_idx, val_idx = carve_validation(len(train), fraction, seed, strata)
        val, val_source = train, f"carve-out {fraction:g} of {train.source} (seed {seed})"
    train_idx = _pick(train_idx, strata, max_train, seed)
    val_all = val_idx if val_idx is not None else list(range(len(val)))
    val_idx = _pick(val_all, _strata(task, val), max_eval, seed)
    test_idx = _pick(list(range(len(test))), _strata(task, test), max_eval, seed)
    tok = {"tokenizer": tokenizer, "max_length": max_length}
    return {"train": _tokenize(train, train_idx, **tok), "train_source": train.source,
            "validation": _tokenize(val, val_idx, **tok), "validation_source": val_source,
            "test": _tokenize(test, test_idx, **tok), "test_source": test.source,
            "num_labels": 1 if task.kind == "regression" else len(task.labels),
            "label_names": tuple(task.labels)}


def _strata(task: Task, examples: Examples) -> list[Any]:
    """Class ids, or quantile bins of regression targets, to stratify samples by."""
    if task.kind == "regression":
        return quantile_bins([float(y) for y in examples.labels])
    return list(examples.labels)


def _pick(indices: list[int], strata: list[Any], n: int | None, seed: int) -> list[int]:
    """A stratified seeded subsample of `indices` (positions into `strata`)."""
    chosen = subsample([strata[i] for i in indices], n, seed)
    return [indices[j] for j in chosen]


def _tokenize(examples: Examples, indices: list[int], *, tokenizer: Any,
              max_length: int) -> list[dict[str, Any]]:
    """Tokenize the chosen examples (pairs as pairs), truncated, not padded."""
    if not indices:
        return []
    texts = [examples.texts[i] for i in indices]
    first = [t[0] for t in texts]
    second = [t[1] for t in texts] if len(texts[0]) > 1 else None
    enc = tokenizer(first, second, truncation=True, max_length=max_length)
    keys = [k for k in ("input_ids", "attention_mask", "token_type_ids") if k in enc]
    return [{**{k: enc[k][j] for k in keys}, "labels": examples.labels[i]}
            for j, i in enumerate(indices)]


def _key(task: Task, tokenizer: Any, max_length: int, data_dir: str | None, base_dir: str,
         *sizes: Any) -> str:
    """A hash of every input the prepared data depends on, data files' size/mtime included."""
    stamps = []
    for split in ("train", "validation", "test"):
        if has_split(task, split):
            path, _ = locate(task, split, data_dir=data_dir, base_dir=base_dir)
            stat = os.stat(path) if path and os.path.isfile(path) else None
            stamps.append((split, os.path.abspath(path) if path else task.hub,
                           stat and (stat.st_size, stat.st_mtime_ns)))
    tok = (type(tokenizer).__name__, getattr(tokenizer, "name_or_path", ""), len(tokenizer))
    blob = repr((task.fingerprint(), tok, max_length, stamps, sizes))
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _from_disk(cache_dir: str | None, key: str) -> dict[str, Any] | None:
    path = os.path.join(cache_dir, f"tokenized-{key}.pkl") if cache_dir else None
    if not path or not os.path.isfile(path):
        return None
    try:
        with open(path, "rb") as fh:
            return pickle.load(fh)
    except (OSError, EOFError, pickle.UnpicklingError):
        return None  # a torn or stale file is rebuilt, not trusted


def _to_disk(cache_dir: str | None, key: str, parts: dict[str, Any]) -> None:
    if not cache_dir:
        return
    os.makedirs(cache_dir, exist_ok=True)
    path = os.path.join(cache_dir, f"tokenized-{key}.pkl")
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "wb") as fh:
        pickle.dump(parts, fh, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(tmp, path)  # atomic: concurrent workers never read half a file
