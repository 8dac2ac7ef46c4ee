"""Mean ± std over seeds and the paired bootstrap on hand-made predictions."""
from __future__ import annotations

import math

import numpy as np
import pytest

from bench.report.stats import direction, mean_std, metric_fn, paired_bootstrap


def test_mean_std_uses_the_sample_std():
    mean, std = mean_std([0.89, 0.90, 0.91])
    assert mean == pytest.approx(0.90)
    assert std == pytest.approx(0.01)
    m1, s1 = mean_std([0.5])
    assert m1 == 0.5 and math.isnan(s1)
    assert all(math.isnan(v) for v in mean_std([]))


def test_identical_predictions_give_a_zero_interval_and_p_one():
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 2, 300).tolist()
    preds = rng.integers(0, 2, 300).tolist()
    res = paired_bootstrap([preds, preds], [preds, preds], [labels, labels])
    assert (res.diff, res.low, res.high, res.p) == (0.0, 0.0, 0.0, 1.0)
    assert res.within_noise and res.n_seeds == 2 and res.n_examples == 300


def test_a_known_difference_is_detected():
    labels = [i % 2 for i in range(400)]
    good = list(labels)  # 100% right
    bad = [g if i < 300 else 1 - g for i, g in enumerate(labels)]  # 75% right
    res = paired_bootstrap([good], [bad], [labels], n_boot=2000)
    assert res.diff == pytest.approx(0.25)
    assert 0.2 < res.low < 0.25 < res.high < 0.3
    assert res.p == pytest.approx(2 / 2001)  # no replicate reaches 0
    assert not res.within_noise
    flipped = paired_bootstrap([bad], [good], [labels])
    assert flipped.diff == pytest.approx(-0.25) and flipped.high < 0


def test_a_one_example_difference_is_within_noise():
    labels = [i % 2 for i in range(200)]
    a = [g if i < 150 else 1 - g for i, g in enumerate(labels)]
    b = [g if i < 149 else 1 - g for i, g in enumerate(labels)]
    res = paired_bootstrap([a], [b], [labels])
    assert res.diff == pytest.approx(0.005)
    assert res.within_noise and res.p > 0.3


def test_seeds_are_averaged_and_paired():
    labels = [i % 2 for i in range(100)]
    ref = list(labels)
    seed0 = [1 - g if i < 10 else g for i, g in enumerate(labels)]  # −0.10
    seed1 = [1 - g if i < 30 else g for i, g in enumerate(labels)]  # −0.30
    res = paired_bootstrap([seed0, seed1], [ref, ref], [labels, labels])
    assert res.diff == pytest.approx(-0.20)
    assert res.high < 0


def test_bootstrap_is_reproducible_and_rejects_bad_input():
    labels = [i % 3 for i in range(60)]
    a = [(i * 7) % 3 for i in range(60)]
    assert paired_bootstrap([a], [labels], [labels]) == paired_bootstrap([a], [labels], [labels])
    with pytest.raises(ValueError):
        paired_bootstrap([a[:10]], [labels], [labels])
    with pytest.raises(KeyError):
        paired_bootstrap([a], [labels], [labels], metric="bleu")


@pytest.mark.parametrize("name", ["accuracy", "f1", "f1_macro", "matthews_correlation",
                                  "pearson", "spearmanr", "mse"])
def test_vectorised_metrics_match_sklearn_and_scipy(name):
    from scipy.stats import pearsonr, spearmanr
    from sklearn.metrics import accuracy_score, f1_score, matthews_corrcoef, mean_squared_error

    rng = np.random.default_rng(0)
    if name in ("pearson", "spearmanr", "mse"):
        g = rng.normal(size=80).round(1)
        p = (g + rng.normal(scale=0.5, size=80)).round(1)
    else:
        g = rng.integers(0, 3 if name in ("f1_macro", "matthews_correlation") else 2, 80)
        p = np.where(rng.random(80) < 0.7, g, rng.integers(0, 3, 80) % (g.max() + 1))
    want = {"accuracy": lambda: accuracy_score(g, p), "f1": lambda: f1_score(g, p),
            "f1_macro": lambda: f1_score(g, p, average="macro"),
            "matthews_correlation": lambda: matthews_corrcoef(g, p),
            "pearson": lambda: pearsonr(p, g)[0], "spearmanr": lambda: spearmanr(p, g)[0],
            "mse": lambda: mean_squared_error(g, p)}[name]()
    assert metric_fn(name)(p[None], g[None])[0] == pytest.approx(want)


def test_direction_of_metrics():
    assert direction("accuracy") == "max" and direction("mse") == "min"
    assert direction("Loss") == "min"


def _reference_bootstrap(a, b, labels, metric, n_boot, level=0.95, seed=0):
    """The bootstrap written the plain way: every replicate gathers the resampled
    predictions and labels and scores them with the metric (no per-example shortcut)."""
    fn = metric_fn(metric)
    arrs = [(np.asarray(x), np.asarray(y), np.asarray(g)) for x, y, g in zip(a, b, labels)]
    observed = float(np.mean([fn(x[None], g[None])[0] - fn(y[None], g[None])[0]
                              for x, y, g in arrs]))
    rng, n = np.random.default_rng(seed), len(arrs[0][2])
    shared = all(np.array_equal(g, arrs[0][2]) for _, _, g in arrs)
    reps = []
    for start in range(0, n_boot, 200):
        size = min(200, n_boot - start)
        chunk = np.zeros(size)
        idx = rng.integers(0, n, size=(size, n)) if shared else None
        for x, y, g in arrs:
            i = idx if shared else rng.integers(0, len(g), size=(size, len(g)))
            chunk += fn(x[i], g[i]) - fn(y[i], g[i])
        reps.append(chunk / len(arrs))
    reps = np.concatenate(reps)
    alpha = (1.0 - level) / 2
    low, high = (float(v) for v in np.quantile(reps, [alpha, 1 - alpha]))
    below, above = int(np.sum(reps <= 0.0)) + 1, int(np.sum(reps >= 0.0)) + 1
    return observed, low, high, min(1.0, 2.0 * min(below, above) / (n_boot + 1))


@pytest.mark.parametrize("metric", ["accuracy", "f1", "matthews_correlation", "pearson"])
@pytest.mark.parametrize("shared", [True, False])
@pytest.mark.parametrize("cached", [True, False])
def test_bootstrap_equals_the_plain_reference_exactly(metric, shared, cached, monkeypatch):
    """Speed-ups of the replicates must not move a single bit of Δ, the CI or p (with the
    resampling weights cached between calls, or drawn chunk by chunk)."""
    import bench.report.stats as stats

    if not cached:
        monkeypatch.setattr(stats, "_CACHED_CELLS", 0)
    rng = np.random.default_rng(7)
    n, seeds = 157, 3
    gold = [rng.normal(size=n).round(2) if metric == "pearson" else rng.integers(0, 2, n)
            for _ in range(1 if shared else seeds)] * (seeds if shared else 1)

    def predict(g, skill):
        if metric == "pearson":
            return (g + rng.normal(scale=1 - skill, size=n)).tolist()
        return np.where(rng.random(n) < skill, g, 1 - g).tolist()
    a, b = ([predict(g, skill) for g in gold] for skill in (0.8, 0.78))
    gold = [g.tolist() for g in gold]
    for n_boot, seed in ((1000, 0), (450, 3)):
        res = paired_bootstrap(a, b, gold, metric, n_boot=n_boot, seed=seed)
        assert (res.diff, res.low, res.high, res.p) == _reference_bootstrap(
            a, b, gold, metric, n_boot, seed=seed)
