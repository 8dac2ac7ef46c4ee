"""Tests of bench.evaluate: predictions, exact mean loss over uneven batches, mode restore,
regression and instruction (causal LM) evaluation."""
from __future__ import annotations

import math
import random

import pytest

torch = pytest.importorskip("torch")

from bench.errors import DataError  # noqa: E402
from bench.tasks.spec import Task  # noqa: E402
from bench.train import Evaluation, evaluate, make_evaluate_fn  # noqa: E402
from tiny import minilm_tokenizer, tiny_bert, tiny_llama  # noqa: E402

SST2 = Task(name="toy_cls", labels=("negative", "positive"), metrics=("accuracy", "f1"))
STSB = Task(name="toy_reg", kind="regression", metrics=("pearson", "spearmanr"),
            primary="pearson")
INSTRUCT = Task(name="toy_lm", kind="instruction", metrics=(), primary="loss")
WORDS = ("a", "fine", "film", "dull", "and", "far", "too", "long", "plot", "actor", "sunny")


@pytest.fixture(scope="module")
def tok():
    return minilm_tokenizer()


@pytest.fixture(scope="module")
def collate(tok):
    from transformers import DataCollatorWithPadding

    return DataCollatorWithPadding(tok)


def examples(tok, n: int, regression: bool = False) -> list[dict]:
    rng = random.Random(1)
    out = []
    for i in range(n):
        enc = tok(" ".join(rng.choices(WORDS, k=rng.randint(1, 9))))
        label = rng.uniform(0, 5) if regression else i % 2
        out.append({**{k: list(v) for k, v in enc.items()}, "labels": label})
    return out


def full_batch_loss(model, data, collate) -> float:
    model.eval()
    with torch.no_grad():
        return float(model(**collate(data)).loss)


def test_classification_predictions_metrics_and_exact_mean_loss(tok, collate):
    from bench.tasks.metrics import compute

    data, model = examples(tok, 11), tiny_bert(seed=3)
    model.train()
    ev = evaluate(model, data, collate=collate, batch_size=4, task=SST2)  # 4 + 4 + 3
    assert isinstance(ev, Evaluation) and model.training  # mode restored
    assert len(ev.preds) == 11 and set(ev.preds) <= {0, 1}
    assert ev.labels == [ex["labels"] for ex in data]
    with torch.no_grad():
        logits = torch.cat([model.eval()(**collate(data[i:i + 1])).logits for i in range(11)])
    assert ev.preds == logits.argmax(-1).tolist()
    assert ev.loss == pytest.approx(full_batch_loss(model, data, collate), rel=1e-5)
    assert ev.metrics == {**compute(SST2, ev.preds, ev.labels), "loss": ev.loss}
    assert ev.seconds > 0


def test_eval_mode_is_deterministic_and_mode_is_kept(tok, collate):
    data, model = examples(tok, 6), tiny_bert(seed=0)
    model.train()  # dropout on while training; evaluation must switch it off
    a = evaluate(model, data, collate=collate, batch_size=6, task=SST2)
    b = evaluate(model, data, collate=collate, batch_size=2, task=SST2)
    assert a.preds == b.preds and a.loss == pytest.approx(b.loss, rel=1e-5)
    model.eval()
    evaluate(model, data, collate=collate, batch_size=6, task=SST2)
    assert not model.training


def test_regression_predictions_are_squeezed_floats(tok, collate):
    data, model = examples(tok, 7, regression=True), tiny_bert(num_labels=1, seed=0)
    ev = evaluate(model, data, collate=collate, batch_size=3, task=STSB)
    assert len(ev.preds) == 7 and all(isinstance(p, float) for p in ev.preds)
    assert set(ev.metrics) == {"pearson", "spearmanr", "loss"}
    assert ev.loss == pytest.approx(full_batch_loss(model, data, collate), rel=1e-5)


def lm_examples(tok, n: int) -> list[dict]:
    """Prompt + response examples whose prompt tokens are masked (-100) out of the loss."""
    rng = random.Random(2)
    out = []
    for _ in range(n):
        prompt = tok(" ".join(rng.choices(WORDS, k=rng.randint(1, 5))))["input_ids"]
        answer = tok(" ".join(rng.choices(WORDS, k=rng.randint(1, 5))),
                     add_special_tokens=False)["input_ids"]
        ids = prompt + answer
        out.append({"input_ids": ids, "attention_mask": [1] * len(ids),
                    "labels": [-100] * len(prompt) + answer})
    return out


def lm_collate(batch: list[dict]) -> dict:
    width = max(len(ex["input_ids"]) for ex in batch)

    def pad(key, value):
        return torch.tensor([ex[key] + [value] * (width - len(ex[key])) for ex in batch])

    return {"input_ids": pad("input_ids", 0), "attention_mask": pad("attention_mask", 0),
            "labels": pad("labels", -100)}


def test_instruction_loss_is_per_target_token_and_reports_perplexity(tok):
    data, model = lm_examples(tok, 7), tiny_llama(seed=0)
    ev = evaluate(model, data, collate=lm_collate, batch_size=3, task=INSTRUCT)
    reference = full_batch_loss(model, data, lm_collate)  # HF: mean over target tokens
    assert ev.loss == pytest.approx(reference, rel=1e-5)
    assert ev.metrics["perplexity"] == pytest.approx(math.exp(reference), rel=1e-5)
    counts = [sum(1 for x in ex["labels"][1:] if x != -100) for ex in data]
    assert ev.labels == counts and len(ev.preds) == 7
    assert sum(p * c for p, c in zip(ev.preds, counts)) / sum(counts) == \
        pytest.approx(ev.loss, rel=1e-5)


def test_make_evaluate_fn_returns_the_metrics(tok, collate):
    data, model = examples(tok, 5), tiny_bert()
    got = make_evaluate_fn(SST2, collate, batch_size=2)(model, data)
    want = evaluate(model, data, collate=collate, batch_size=5, task=SST2).metrics
    assert got == pytest.approx(want, rel=1e-5) and set(got) == {"accuracy", "f1", "loss"}


def test_empty_split_is_a_data_error(collate):
    with pytest.raises(DataError, match="toy_cls"):
        evaluate(tiny_bert(), [], collate=collate, batch_size=4, task=SST2)


def test_4bit_model_still_trains_after_an_evaluation(tok, collate, tmp_path):
    # bitsandbytes repacks 4-bit weights for CPU inference on its first eval-mode pass,
    # after which the layer cannot train; evaluate must keep it trainable.
    pytest.importorskip("bitsandbytes")
    from transformers import (AutoModelForSequenceClassification, BertConfig,
                              BertForSequenceClassification, BitsAndBytesConfig)

    from bench.defaults import TrainSpec
    from bench.methods._base import Applied
    from bench.train import fit

    cfg = BertConfig(vocab_size=30522, hidden_size=128, num_hidden_layers=1,  # >= 4-bit block
                     num_attention_heads=2, intermediate_size=128, max_position_embeddings=64)
    torch.manual_seed(0)
    BertForSequenceClassification(cfg).save_pretrained(tmp_path)
    quant = BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4",
                               bnb_4bit_compute_dtype=torch.float32,
                               llm_int8_skip_modules=["classifier", "pooler"])
    model = AutoModelForSequenceClassification.from_pretrained(tmp_path, quantization_config=quant)
    for name, p in model.named_parameters():  # a trainable input to the 4-bit layers
        p.requires_grad = name.startswith(("classifier", "bert.embeddings.LayerNorm"))
    data = examples(tok, 8)
    spec = TrainSpec(max_steps=4, batch_size=4, eval_points=2, precision="fp32")
    result = fit(Applied(model=model, save=lambda d: None), data, data, spec, collate=collate,
                 evaluate_fn=make_evaluate_fn(SST2, collate, batch_size=4))
    assert [h["step"] for h in result.history] == [2, 4] and math.isfinite(result.loss_last)
