"""Tests of bench.train.fit: learning, accumulation, schedule, eval points, pruning,
divergence, token counts and reproducibility, on a tiny random BERT and real word pieces."""
from __future__ import annotations

import math
import random
from dataclasses import replace

import pytest

torch = pytest.importorskip("torch")

from bench.defaults import TrainSpec  # noqa: E402
from bench.methods._base import Applied  # noqa: E402
from bench.train import (CHECK_EVERY, Diverged, build_optimizer, eval_steps, fit,  # noqa: E402
                         lr_factor, make_accelerator, param_groups, resolve_precision,
                         total_steps)
from bench.errors import UsageError  # noqa: E402
from tiny import bert_config, minilm_tokenizer, tiny_bert  # noqa: E402

GOOD = ("good", "great", "fine", "lovely")
BAD = ("bad", "awful", "poor", "dreadful")
FILLER = ("the", "film", "was", "really", "quite", "a", "plot", "story", "actor", "today")


@pytest.fixture(scope="module")
def tok():
    return minilm_tokenizer()


@pytest.fixture(scope="module")
def collate(tok):
    from transformers import DataCollatorWithPadding

    return DataCollatorWithPadding(tok)


def make_examples(tok, n: int, seed: int = 0) -> list[dict]:
    """Unpadded examples of a learnable toy task: label 1 iff a 'good' word occurs."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        label = i % 2
        words = rng.sample(FILLER, rng.randint(2, 7)) + [rng.choice(GOOD if label else BAD)]
        rng.shuffle(words)
        enc = tok(" ".join(words), truncation=True, max_length=32)
        out.append({**{k: list(v) for k, v in enc.items()}, "labels": label})
    return out


def spec(**kw) -> TrainSpec:
    # fp32 even on a GPU (where "auto" is bf16): the equalities below need full precision
    base = dict(batch_size=8, lr=1e-3, warmup_ratio=0.0, weight_decay=0.01, eval_points=1,
                precision="fp32")
    return replace(TrainSpec(), **{**base, **kw})


def applied(model, on_step=None) -> Applied:
    return Applied(model=model, save=lambda d: None, on_step=on_step)


def no_dropout_bert(seed: int = 0):
    from transformers import BertForSequenceClassification

    cfg = bert_config(2)
    cfg.hidden_dropout_prob = cfg.attention_probs_dropout_prob = 0.0
    torch.manual_seed(seed)
    return BertForSequenceClassification(cfg)


def mean_loss(model, examples, collate) -> float:
    model.eval()
    device = next(model.parameters()).device  # fit moves the model to the GPU if any
    with torch.no_grad():
        return float(model(**{k: v.to(device) for k, v in collate(examples).items()}).loss)


def test_loss_decreases_on_learnable_task(tok, collate):
    data = make_examples(tok, 48)
    model = tiny_bert(seed=0)
    before = mean_loss(model, data, collate)
    result = fit(applied(model), data, [], spec(max_steps=40, lr=1e-2), collate=collate)
    after = mean_loss(model, data, collate)
    assert after < 0.5 * before, (before, after)
    assert math.isfinite(result.loss_last) and result.steps == 40


def test_grad_accumulation_matches_one_big_batch(tok, collate):
    data = make_examples(tok, 32)
    grads, weights = [], []

    def run(batch_size, grad_accum):
        model = no_dropout_bert()
        seen = {}

        def on_step(step):  # called before zero_grad: the accumulated gradients are there
            if step == 1:
                seen.update({n: p.grad.clone() for n, p in model.named_parameters()})

        fit(applied(model, on_step), data, [], spec(max_steps=1, batch_size=batch_size,
                                                    grad_accum=grad_accum), collate=collate)
        grads.append(seen)
        weights.append({n: p.detach().clone() for n, p in model.named_parameters()})

    run(16, 1)
    run(8, 2)
    for name, g in grads[0].items():
        torch.testing.assert_close(grads[1][name], g, rtol=1e-4, atol=1e-6, msg=name)
        torch.testing.assert_close(weights[1][name], weights[0][name], rtol=1e-5, atol=1e-6)


def test_accumulation_loss_is_the_mean_not_the_sum(tok, collate):
    # Adam hides a constant gradient scale, so check the gradient against a manual mean.
    data = make_examples(tok, 16)
    model, ref = no_dropout_bert(), no_dropout_bert()
    seen = {}

    def on_step(step):
        seen.update({n: p.grad.clone() for n, p in model.named_parameters()})

    fit(applied(model, on_step), data, [], spec(max_steps=1, batch_size=8, grad_accum=2,
                                                max_grad_norm=0.0), collate=collate)
    order = torch.randperm(16, generator=torch.Generator().manual_seed(0)).tolist()
    ref.train()
    ref(**collate([data[i] for i in order])).loss.backward()
    w = "classifier.weight"
    torch.testing.assert_close(seen[w].cpu(), ref.get_parameter(w).grad, rtol=1e-4, atol=1e-6)


def test_schedule_warmup_then_linear_decay():
    assert [lr_factor(s, 2, 10) for s in range(11)] == \
        [0.0, 0.5, 1.0, 7 / 8, 6 / 8, 5 / 8, 4 / 8, 3 / 8, 2 / 8, 1 / 8, 0.0]
    assert lr_factor(0, 0, 5) == 1.0
    model = tiny_bert()
    opt, sched = build_optimizer(model, spec(lr=0.1, warmup_ratio=0.1), total=20)
    lrs = []
    for _ in range(20):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert lrs[:3] == pytest.approx([0.0, 0.05, 0.1])  # ceil(0.1 × 20) = 2 warm-up steps
    assert lrs[-1] == pytest.approx(0.1 / 18) and lrs[2:] == sorted(lrs[2:], reverse=True)


def test_only_trainable_params_are_optimized_and_norms_not_decayed():
    model = tiny_bert()
    for name, p in model.named_parameters():
        p.requires_grad = name.startswith("classifier") or "LayerNorm" in name
    decay, plain = param_groups(model, 0.01)
    ids = {id(p) for p in decay["params"] + plain["params"]}
    want = {id(p) for p in model.parameters() if p.requires_grad}
    assert ids == want
    assert [id(p) for p in decay["params"]] == [id(model.classifier.weight)]
    assert decay["weight_decay"] == 0.01 and plain["weight_decay"] == 0.0
    for p in model.parameters():
        p.requires_grad = False
    with pytest.raises(ValueError, match="no trainable parameters"):
        param_groups(model, 0.01)


def test_frozen_weights_do_not_move(tok, collate):
    model = tiny_bert()
    for name, p in model.named_parameters():
        p.requires_grad = name.startswith("classifier")
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    fit(applied(model), make_examples(tok, 16), [], spec(max_steps=3), collate=collate)
    for name, p in model.named_parameters():
        moved = not torch.equal(p.cpu(), before[name])
        assert moved == name.startswith("classifier"), name


def test_step_and_eval_point_arithmetic():
    assert total_steps(100, spec(batch_size=8, epochs=1)) == 13
    assert total_steps(100, spec(batch_size=8, epochs=2, grad_accum=3)) == 9
    assert total_steps(100, spec(max_steps=7, epochs=5)) == 7
    assert eval_steps(10, 4) == (3, 5, 8, 10)
    assert eval_steps(3, 10) == (1, 2, 3)
    assert eval_steps(5, 0) == (5,)


class TrainModeOnly(torch.nn.Module):
    """Fails if it is asked to train in eval mode (fit must switch back after evaluating)."""

    def __init__(self):
        super().__init__()
        self.inner = tiny_bert()

    def forward(self, **batch):
        assert self.training or not torch.is_grad_enabled()
        return self.inner(**batch)


def test_eval_points_and_history(tok, collate):
    data = make_examples(tok, 16)
    val, calls = data[:4], []

    def evaluate_fn(model, examples):
        assert examples is val
        model.eval()  # as bench.evaluate does; fit must put it back in train mode
        return {"accuracy": (len(calls) + 1) / 10}

    result = fit(applied(TrainModeOnly()), data, val, spec(max_steps=10, eval_points=4),
                 collate=collate, evaluate_fn=evaluate_fn, metric="accuracy",
                 on_eval=lambda step, metrics: calls.append((step, metrics["accuracy"])))
    assert calls == [(3, 0.1), (5, 0.2), (8, 0.3), (10, 0.4)]
    assert [h["step"] for h in result.history] == [3, 5, 8, 10]
    assert [h["value"] for h in result.history] == [0.1, 0.2, 0.3, 0.4]
    assert all(math.isfinite(h["train_loss"]) for h in result.history)
    assert result.final_metrics == {"accuracy": 0.4}
    assert result.eval_s > 0 and result.train_s > 0


def test_pruning_exception_propagates(tok, collate):
    optuna = pytest.importorskip("optuna")
    steps = []

    def on_eval(step, metrics):
        steps.append(step)
        raise optuna.TrialPruned(f"pruned at {step}")

    with pytest.raises(optuna.TrialPruned):
        fit(applied(tiny_bert()), make_examples(tok, 16), [], spec(max_steps=8, eval_points=4),
            collate=collate, evaluate_fn=lambda m, e: {"accuracy": 0.5}, on_eval=on_eval)
    assert steps == [2]


class NanAt(torch.nn.Module):
    """A model whose loss turns NaN from forward call `at` (1-based) on."""

    def __init__(self, at: int):
        super().__init__()
        self.inner, self.at, self.calls = tiny_bert(), at, 0

    def forward(self, **batch):
        self.calls += 1
        out = self.inner(**batch)
        if self.calls >= self.at:
            out.loss = out.loss * float("nan")
        return out


@pytest.mark.parametrize("grad_accum, call, step", [(1, 3, 3), (2, 5, 3), (1, 11, 11)])
def test_nan_loss_raises_diverged_with_its_step(tok, collate, grad_accum, call, step):
    model = NanAt(call)
    with pytest.raises(Diverged) as err:
        fit(applied(model), make_examples(tok, 16), [], spec(max_steps=30, grad_accum=grad_accum),
            collate=collate)
    assert err.value.step == step and math.isnan(err.value.loss)
    assert "step" in str(err.value)
    # found at the next read-back, not at the end of the run
    assert model.calls <= grad_accum * (step + CHECK_EVERY)


def test_diverged_before_evaluating_nan_weights(tok, collate):
    evals = []
    with pytest.raises(Diverged):
        fit(applied(NanAt(2)), make_examples(tok, 16), [], spec(max_steps=4, eval_points=2),
            collate=collate, evaluate_fn=lambda m, e: evals.append(1) or {})
    assert evals == []


def test_counts_samples_and_non_padding_tokens(tok, collate):
    data = make_examples(tok, 20)
    result = fit(applied(tiny_bert()), data, [], spec(epochs=1, batch_size=8), collate=collate)
    assert result.steps == 3 and result.train_samples == 20  # batches of 8, 8, 4
    assert result.train_tokens == sum(len(ex["input_ids"]) for ex in data)
    padded = sum(8 * max(len(ex["input_ids"]) for ex in data[i:i + 8]) for i in (0, 8))
    assert result.train_tokens < padded  # padding really was excluded


def test_same_seed_same_weights_other_seed_differs(tok, collate):
    data = make_examples(tok, 24)

    def run(seed, rng_state):
        model = tiny_bert(seed=0)  # dropout on: fit's seed must fix it
        torch.manual_seed(rng_state)  # whatever the global RNG was left at by the caller
        fit(applied(model), data, [], spec(max_steps=6), collate=collate, seed=seed)
        return model.state_dict()

    a, b, c = run(0, 1), run(0, 2), run(1, 1)
    if torch.cuda.is_available():  # CUDA's embedding backward adds atomically: not bitwise
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
    else:
        assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.allclose(a[k], c[k]) for k in a)


def test_progress_called_every_few_steps(tok, collate):
    seen = []
    fit(applied(tiny_bert()), make_examples(tok, 16), [], spec(max_steps=CHECK_EVERY + 3),
        collate=collate, progress=lambda s, t: seen.append((s, t)))
    assert seen == [(CHECK_EVERY, CHECK_EVERY + 3), (CHECK_EVERY + 3, CHECK_EVERY + 3)]


def test_precision_resolution():
    assert resolve_precision("auto", cuda=False) == "no"
    assert resolve_precision("auto", cuda=True, bf16_ok=True) == "bf16"
    assert resolve_precision("auto", cuda=True, bf16_ok=False) == "no"
    assert resolve_precision("fp32", cuda=True, bf16_ok=True) == "no"
    assert resolve_precision("bf16", cuda=False) == "bf16"
    with pytest.raises(UsageError, match="fp16"):
        resolve_precision("fp16", cuda=False)
    with pytest.raises(UsageError, match="precision"):
        resolve_precision("half", cuda=False)


def test_accelerator_with_own_accumulation_is_refused(tok, collate):
    from accelerate import Accelerator

    make_accelerator("fp32")
    acc = Accelerator(gradient_accumulation_steps=2)
    with pytest.raises(ValueError, match="gradient_accumulation_steps"):
        fit(applied(tiny_bert()), make_examples(tok, 8), [], spec(max_steps=1),
            collate=collate, accelerator=acc)


def test_empty_train_split_is_a_data_error(collate):
    from bench.errors import DataError

    with pytest.raises(DataError, match="empty"):
        fit(applied(tiny_bert()), [], [], spec(max_steps=1), collate=collate)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("precision", ["bf16", "fp16", "fp32"])
def test_cuda_mixed_precision_learns(tok, collate, precision):
    data = make_examples(tok, 48)
    model = tiny_bert(seed=0)
    before = mean_loss(model, data, collate)
    acc = make_accelerator(precision)
    result = fit(applied(model), data, [], spec(max_steps=40, lr=1e-2, precision=precision),
                 collate=collate, accelerator=acc)
    assert next(model.parameters()).is_cuda and acc.mixed_precision == \
        {"fp32": "no"}.get(precision, precision)
    after = mean_loss(model, data, collate)
    assert math.isfinite(result.loss_last) and after < 0.5 * before, (before, after)
