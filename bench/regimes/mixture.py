"""Task mixtures for multi-task training: sampling rates, per-task counts, a seeded mix.

Rates over tasks with n_i training examples (Raffel et al. 2020, arXiv:1910.10683, §3.5.2;
Arivazhagan et al. 2019, arXiv:1907.05019 for temperature sampling):
- proportional: p_i = n_i / Σ n_j (each example seen equally often; big tasks dominate);
- temperature:  p_i ∝ n_i^(1/T) (T = 1 is proportional; larger T flattens towards equal);
- equal:        p_i = 1 / k.
One epoch of the mixture holds `size` examples (default Σ n_i), split by the rates with
largest remainders; a task asked for more examples than it has is repeated (whole passes,
then a seeded sample), one with fewer is subsampled. Pure Python, torch-free.
"""
from __future__ import annotations

import random
from typing import Sequence


def rates(sizes: Sequence[int], sampling: str, temperature: float = 1.0) -> list[float]:
    """Sampling probability of each task (they sum to 1)."""
    if not sizes or any(n < 1 for n in sizes):
        raise ValueError(f"every task needs at least one training example, got {list(sizes)}")
    if sampling == "proportional":
        weights = [float(n) for n in sizes]
    elif sampling == "temperature":
        if temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        weights = [n ** (1.0 / temperature) for n in sizes]
    elif sampling == "equal":
        weights = [1.0] * len(sizes)
    else:
        raise ValueError(f"unknown sampling {sampling!r}")
    total = sum(weights)
    return [w / total for w in weights]


def allocate(total: int, probs: Sequence[float]) -> list[int]:
    """`total` draws split by `probs` (largest remainder: sums exactly to `total`)."""
    exact = [p * total for p in probs]
    counts = [int(x) for x in exact]
    order = sorted(range(len(probs)), key=lambda i: (counts[i] - exact[i], i))
    for i in order[:total - sum(counts)]:
        counts[i] += 1
    return counts


def draw(n: int, k: int, rng: random.Random) -> list[int]:
    """`k` indices into `n` examples: whole shuffled passes, then a sample without repeats."""
    out: list[int] = []
    while k - len(out) >= n:
        out += rng.sample(range(n), n)
    return out + rng.sample(range(n), k - len(out))


def mixture(sizes: Sequence[int], sampling: str, temperature: float = 1.0,
            size: int | None = None, seed: int = 0) -> list[tuple[int, int]]:
    """One epoch of the mixture as (task index, example index) pairs, seeded and shuffled."""
    counts = allocate(size if size is not None else sum(sizes),
                      rates(sizes, sampling, temperature))
    rng = random.Random(f"mixture:{seed}")
    pairs = [(t, i) for t, (n, k) in enumerate(zip(sizes, counts)) for i in draw(n, k, rng)]
    rng.shuffle(pairs)
    return pairs
