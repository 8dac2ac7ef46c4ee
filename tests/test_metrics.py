"""Each task metric against values computed by hand (in the comments)."""
from __future__ import annotations

import math

import pytest

from bench.tasks import TASKS
from bench.tasks.metrics import METRIC_KIND, METRICS, compute


def test_accuracy() -> None:
    # 4 of 5 equal
    assert METRICS["accuracy"]([0, 1, 1, 0, 1], [0, 1, 0, 0, 1]) == pytest.approx(0.8)


def test_binary_f1_of_class_one() -> None:
    # TP=2 (0,3), FP=1 (1), FN=1 (4): P=R=2/3, F1=2/3
    assert METRICS["f1"]([1, 1, 0, 1, 0, 0], [1, 0, 0, 1, 1, 0]) == pytest.approx(2 / 3)
    # swapping which class is positive changes the score: class 1 is the positive one
    assert METRICS["f1"]([0, 0, 1, 0, 1, 1], [0, 1, 1, 0, 0, 1]) == pytest.approx(2 / 3)
    assert METRICS["f1"]([0, 0, 0], [1, 1, 0]) == 0.0  # no positive predicted: 0, no warning


def test_macro_f1() -> None:
    # class 0: P=1/3 R=1/2 F1=0.4; class 1: P=1 R=2/3 F1=0.8; class 2: P=R=1/2 F1=0.5
    preds, labels = [0, 0, 1, 1, 2, 2, 0], [0, 1, 1, 1, 2, 0, 2]
    assert METRICS["f1_macro"](preds, labels) == pytest.approx((0.4 + 0.8 + 0.5) / 3)


def test_matthews() -> None:
    # TP=2 TN=2 FP=1 FN=1: (4 - 1) / sqrt(3*3*3*3) = 1/3
    assert METRICS["matthews_correlation"]([1, 1, 0, 1, 0, 0],
                                           [1, 0, 0, 1, 1, 0]) == pytest.approx(1 / 3)
    assert METRICS["matthews_correlation"]([1, 1, 1], [1, 0, 1]) == 0.0  # constant preds


def test_pearson() -> None:
    # dp=[-1.5,-.5,.5,1.5] dl=[-3,-1,0,4]: 11 / sqrt(5 * 26)
    assert METRICS["pearson"]([1, 2, 3, 4], [2, 4, 5, 9]) == pytest.approx(11 / math.sqrt(130))
    assert METRICS["pearson"]([2.0, 2.0, 2.0], [1.0, 2.0, 3.0]) == 0.0  # collapsed regressor


def test_spearman() -> None:
    # label ranks [1,3,2,4] vs [1,2,3,4]: sum d^2 = 2, 1 - 6*2/(4*15) = 0.8
    assert METRICS["spearmanr"]([1, 2, 3, 4], [10, 30, 20, 40]) == pytest.approx(0.8)
    assert METRICS["spearmanr"]([4, 3, 2, 1], [1, 2, 3, 4]) == pytest.approx(-1.0)


def test_every_metric_has_a_kind() -> None:
    assert set(METRICS) == set(METRIC_KIND)
    from bench.tasks.instruct_tasks import LM_METRICS

    for task in TASKS.values():
        assert task.primary in task.metrics
        if task.kind == "instruction":  # scored by bench.evaluate_lm, not METRICS
            assert set(task.metrics) <= {*LM_METRICS, *METRICS, "exact_match"}
            continue
        assert set(task.metrics) <= set(METRICS)
        assert {METRIC_KIND[m] for m in task.metrics} == {task.kind}


def test_compute_uses_the_tasks_metrics() -> None:
    out = compute(TASKS["mrpc"], [1, 1, 0, 1, 0, 0], [1, 0, 0, 1, 1, 0])
    assert out == pytest.approx({"accuracy": 4 / 6, "f1": 2 / 3})
    out = compute(TASKS["stsb"], [1.0, 2.0, 3.0, 4.0], [2.0, 4.0, 5.0, 9.0])
    assert set(out) == {"pearson", "spearmanr"} and out["spearmanr"] == pytest.approx(1.0)
    out = compute(TASKS["cola"], [1, 1, 0, 1, 0, 0], [1, 0, 0, 1, 1, 0])
    assert out["matthews_correlation"] == pytest.approx(1 / 3)


def test_compute_guards() -> None:
    with pytest.raises(ValueError, match="3 predictions for 2 labels"):
        compute(TASKS["sst2"], [0, 1, 1], [0, 1])
    with pytest.raises(ValueError, match="no examples"):
        compute(TASKS["sst2"], [], [])
    diverged = compute(TASKS["stsb"], [float("nan"), 1.0], [1.0, 2.0])
    assert all(math.isnan(v) for v in diverged.values())
