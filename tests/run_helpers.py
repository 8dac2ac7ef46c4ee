"""A tiny end-to-end suite for runner tests: a random 2-layer BERT saved to a folder and a
learnable inline CSV task, so a whole run takes seconds on CPU."""
from __future__ import annotations

import random
import textwrap
from pathlib import Path

from tiny import save_tiny, tiny_bert

GOOD = ["good", "great", "fine", "superb", "lovely", "wonderful"]
BAD = ["bad", "awful", "dull", "boring", "terrible", "poor"]


def write_csv(path: Path, n: int, seed: int) -> None:
    rng = random.Random(seed)
    lines = ["sentence,label"]
    for i in range(n):
        label = i % 2
        word = rng.choice(GOOD if label else BAD)
        lines.append(f"a {word} film {rng.choice(['indeed', 'really', 'truly'])},{label}")
    path.write_text("\n".join(lines) + "\n")


def tiny_suite(tmp_path: Path, *, methods: str = "[methods.full]\nlr = 1e-3\n"
               "[methods.lora]\nlr = { low = 1e-3, high = 1e-2, log = true }\n",
               trials: int = 2, seeds: str = "[0, 1]", extra: str = "") -> str:
    """Write model, data and a suite into tmp_path; return the suite path."""
    model_dir = tmp_path / "tiny-bert"
    if not model_dir.exists():
        save_tiny(model_dir, tiny_bert(num_labels=2))
        write_csv(tmp_path / "train.csv", 96, 0)
        write_csv(tmp_path / "test.csv", 40, 1)
    body = f"""
    [suite]
    name = "tiny"
    seeds = {seeds}
    output = "{tmp_path / 'results'}"

    [[models]]
    name = "tiny-bert"
    ref = "{model_dir}"

    [tasks.toy]
    train = "train.csv"
    test = "test.csv"
    text = "sentence"
    label = "label"
    labels = ["0", "1"]
    metric = "accuracy"

    [train]
    max_length = 16
    batch_size = 16
    epochs = 3
    eval_points = 2

    [tune]
    trials = {trials}
    sampler = "random"
    pruner = "none"
    """
    path = tmp_path / "tiny.toml"
    path.write_text(textwrap.dedent(body) + extra + "\n" + methods)
    return str(path)
