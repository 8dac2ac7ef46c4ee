"""Task metrics with scikit-learn and scipy: the official GLUE/SuperGLUE scores, offline.

`evaluate.load(...)` fetches its metric scripts from the hub at run time and fails
offline, so the scores are computed here directly. Every function takes
`(preds, labels)`: class ids for classification, floats for regression. Importing this
module is cheap (sklearn/scipy load on first use), so `bench validate` can check metric
names against `METRICS`.
"""
from __future__ import annotations

import math
from typing import Any, Callable, Sequence

from bench.tasks.spec import Task


def accuracy(preds: Sequence[int], labels: Sequence[int]) -> float:
    """Fraction of predictions equal to the label."""
    from sklearn.metrics import accuracy_score

    return float(accuracy_score(labels, preds))


def f1(preds: Sequence[int], labels: Sequence[int]) -> float:
    """Binary F1 of the positive class (id 1), as GLUE scores MRPC and QQP."""
    from sklearn.metrics import f1_score

    return float(f1_score(labels, preds, average="binary", pos_label=1, zero_division=0))


def f1_macro(preds: Sequence[int], labels: Sequence[int]) -> float:
    """Unweighted mean of per-class F1 over the classes present, as SuperGLUE scores CB."""
    from sklearn.metrics import f1_score

    return float(f1_score(labels, preds, average="macro", zero_division=0))


def matthews_correlation(preds: Sequence[int], labels: Sequence[int]) -> float:
    """Matthews correlation coefficient (CoLA); 0 when either side is constant."""
    from sklearn.metrics import matthews_corrcoef

    return float(matthews_corrcoef(labels, preds))


def _constant(values: Sequence[float]) -> bool:
    return len(set(values)) <= 1


def pearson(preds: Sequence[float], labels: Sequence[float]) -> float:
    """Pearson correlation (STS-B).

    Constant predictions (a collapsed regressor) carry no linear information: scored 0, the
    convention sklearn uses for the Matthews coefficient, rather than scipy's NaN, which
    would make Optuna discard the trial instead of ranking it.
    """
    from scipy.stats import pearsonr

    if _constant(preds) or _constant(labels):
        return 0.0
    return float(pearsonr(preds, labels).statistic)


def spearmanr(preds: Sequence[float], labels: Sequence[float]) -> float:
    """Spearman rank correlation (STS-B); 0 for constant predictions, as `pearson`."""
    from scipy.stats import spearmanr as scipy_spearmanr

    if _constant(preds) or _constant(labels):
        return 0.0
    return float(scipy_spearmanr(preds, labels).statistic)


METRICS: dict[str, Callable[[Sequence[Any], Sequence[Any]], float]] = {
    "accuracy": accuracy,
    "f1": f1,
    "f1_macro": f1_macro,
    "matthews_correlation": matthews_correlation,
    "pearson": pearson,
    "spearmanr": spearmanr,
}

# Which task kind each metric scores (a suite asking for pearson on a classifier is a mistake).
METRIC_KIND: dict[str, str] = {
    "accuracy": "classification",
    "f1": "classification",
    "f1_macro": "classification",
    "matthews_correlation": "classification",
    "pearson": "regression",
    "spearmanr": "regression",
}


def compute(task: Task, preds: Sequence[Any], labels: Sequence[Any]) -> dict[str, float]:
    """Every metric of `task` on `preds` against `labels`, as {name: value}.

    Classification preds are class ids (argmax of the logits); regression preds are floats.
    """
    if len(preds) != len(labels):
        raise ValueError(f"{len(preds)} predictions for {len(labels)} labels")
    if not labels:
        raise ValueError(f"no examples to score for task {task.name!r}")
    if task.kind == "regression":
        p: list[Any] = [float(x) for x in preds]
        y: list[Any] = [float(x) for x in labels]
        if not all(math.isfinite(x) for x in p):
            # A diverged regressor: NaN is the honest score; the runner records the failure.
            return {name: float("nan") for name in task.metrics}
    else:
        p, y = [int(x) for x in preds], [int(x) for x in labels]
    return {name: METRICS[name](p, y) for name in task.metrics}
