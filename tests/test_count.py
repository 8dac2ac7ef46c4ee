"""Parameter accounting against closed forms: tiny random BERT and the real MiniLM.

Tiny BERT (tests/tiny.py): hidden d = 32, L = 2 blocks, feed-forward 64, vocab 30522.
Its head is pooler (32·32 + 32 = 1056) + classifier (32·2 + 2 = 66) = 1122 parameters.
"""
from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from bench.count import ParamCounts, count, count_cli, logical_numel, main, parse_options
from bench.errors import UsageError
from bench.methods import METHODS
from bench.methods._base import Context
from tiny import minilm_dir, save_tiny, tiny_bert

D, L, FF = 32, 2, 64
HEAD = (D * D + D) + (D * 2 + 2)


@pytest.fixture(scope="module")
def bert_dir(tmp_path_factory) -> str:
    return save_tiny(tmp_path_factory.mktemp("count") / "bert", tiny_bert())


def base_total(model) -> int:
    return sum(p.numel() for p in model.parameters())


def applied_counts(method: str, **options) -> tuple[ParamCounts, int]:
    model = tiny_bert()
    total = base_total(model)
    return count(METHODS[method](model, Context(), **options)), total


def test_lora_is_r_times_din_plus_dout_per_target():
    c, base = applied_counts("lora", r=8, target_modules=["query", "value"])
    assert c.method == L * 2 * 8 * (D + D)
    assert c.head == HEAD and c.trainable == c.method + c.head
    assert c.total == base + c.method  # the head's frozen original is not counted twice
    assert c.percent == pytest.approx(100 * c.trainable / c.total)


def test_ia3_is_one_vector_per_target():
    c, _ = applied_counts("ia3")
    # key, value: output width; attention.output.dense and output.dense are feed-forward
    # targets in peft's BERT table: input width (d and ff)
    assert c.method == L * (D + D + D + FF)


def test_prompt_is_tokens_times_hidden():
    c, base = applied_counts("prompt", num_virtual_tokens=20)
    assert c.method == 20 * D
    assert c.total == base + 20 * D


def test_prefix_is_tokens_times_layers_times_keys_and_values():
    c, _ = applied_counts("prefix", num_virtual_tokens=5)
    assert c.method == 5 * L * 2 * D


def test_bitfit_is_the_sum_of_bias_sizes():
    c, _ = applied_counts("bitfit")
    per_block = 3 * D + D + D + FF + D + D  # q,k,v; attn out; attn LN; intermediate; out; LN
    assert c.method == L * per_block + D  # + the embeddings' LayerNorm bias


def test_linear_probe_trains_only_the_head():
    c, base = applied_counts("linear_probe")
    assert (c.method, c.head, c.total) == (0, HEAD, base)
    strict, _ = applied_counts("linear_probe", pooler=False)
    assert strict.head == D * 2 + 2


def test_adapter_counts_bottlenecks_and_layer_norms():
    c, base = applied_counts("adapter", size=4)
    bottleneck = (D * 4 + 4) + (4 * D + D)
    norms = (2 * L + 1) * 2 * D  # two per block + embeddings, weight and bias
    assert c.method == 2 * L * bottleneck + norms
    assert c.total == base + 2 * L * bottleneck


def test_full_counts_everything_and_stores_the_whole_model():
    model = tiny_bert()
    c = count(METHODS["full"](model, Context()))
    assert c.trainable == c.total == base_total(model) and c.percent == 100.0
    assert c.head == HEAD
    assert 4 * c.total < c.stored_bytes < 4 * c.total + 200_000  # fp32 weights + config


def test_stored_bytes_is_the_adapter_folder():
    c, _ = applied_counts("lora", r=8, target_modules=["query", "value"])
    assert 4 * c.trainable < c.stored_bytes < 4 * c.trainable + 20_000  # fp32 + json header


def test_base_total_replaces_the_denominator():
    model = tiny_bert()
    base = base_total(model)
    c = count(METHODS["lora"](model, Context()), base_total=base)
    assert c.total == base and c.percent == pytest.approx(100 * c.trainable / base)


def test_4bit_weights_count_as_logical_parameters(bert_dir):
    from bench.models import load

    model, _ = load(bert_dir, num_labels=2, quantization="nf4")
    packed = sum(p.numel() for p in model.parameters())
    c = count(METHODS["qlora"](model, Context(), r=8, target_modules=["query", "value"]))
    assert c.total == base_total(tiny_bert()) + L * 2 * 8 * (D + D)
    assert packed < c.total  # storage elements undercount packed weights
    assert c.method == L * 2 * 8 * (D + D) and c.head == HEAD


def test_logical_numel_doubles_packed_bytes():
    import torch

    class Params4bit(torch.nn.Parameter):  # the name is what bitsandbytes' class is known by
        quant_storage = torch.uint8

    assert logical_numel(Params4bit(torch.zeros(8, 1, dtype=torch.uint8),
                                    requires_grad=False)) == 16
    assert logical_numel(torch.nn.Parameter(torch.zeros(3, 4))) == 12


def test_parse_options_reads_toml_values():
    assert parse_options(["r=8", "alpha=16", "dropout=0.05", "projection=true",
                          "target_modules=['query', 'value']", "init=vocab"]) == {
        "r": 8, "alpha": 16, "dropout": 0.05, "projection": True,
        "target_modules": ["query", "value"], "init": "vocab"}
    with pytest.raises(UsageError, match="key=value"):
        parse_options(["r8"])


def test_count_cli_rejects_unknown_methods_and_options(bert_dir):
    with pytest.raises(UsageError, match="did you mean 'lora'"):
        count_cli(bert_dir, "lroa", {})
    with pytest.raises(UsageError, match="did you mean 'r'"):
        count_cli(bert_dir, "lora", {"rr": 8})
    with pytest.raises(UsageError, match="must be int"):
        count_cli(bert_dir, "lora", {"r": "eight"})
    with pytest.raises(UsageError, match="does not apply to causal_lm"):
        count_cli(bert_dir, "linear_probe", {}, kind="causal_lm")


def test_main_prints_json(bert_dir, capsys):
    args = SimpleNamespace(model=bert_dir, method="lora", options=["r=4"], json=True,
                           num_labels=2, kind="seq_cls")
    assert main(args) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"trainable", "method", "head", "total", "percent", "stored_bytes"}
    assert out["method"] == L * 2 * 4 * (D + D)


def test_main_prints_a_table(bert_dir, capsys):
    args = SimpleNamespace(model=bert_dir, method="bitfit", options=[], json=False,
                           num_labels=2, kind="seq_cls")
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "stored_bytes" in out and "trainable" in out


# The real all-MiniLM-L6-v2 as a 2-class classifier: d = 384, 6 blocks, feed-forward 1536.
# Head: pooler 384·384 + 384 = 147,840 + classifier 384·2 + 2 = 770 → 148,610.
# Base: embeddings 30522·384 + 512·384 + 2·384 + LN 768 = 11,918,592; per block
# 4·(384·384 + 384) + 768 + (384·1536 + 1536) + (1536·384 + 384) + 768 = 1,774,464, × 6 =
# 10,646,784; + head 148,610 → 22,713,986.
MINILM_BASE = 22_713_986
MINILM_HEAD = 148_610
MINILM = {
    # 8·(384 + 384) per target × (query, value) × 6 blocks
    ("lora", (("r", 8), ("target_modules", ("query", "value")))): 73_728,
    # key 384 + value 384 + attention.output.dense 384 (in) + output.dense 1536 (in), × 6
    ("ia3", ()): 16_128,
    # 20 virtual tokens × 384
    ("prompt", (("num_virtual_tokens", 20),)): 7_680,
    # per block: q,k,v,o 4·384 + LN 384 + intermediate 1536 + output 384 + LN 384 = 4,224;
    # × 6 + embeddings LN bias 384
    ("bitfit", ()): 25_728,
}


@pytest.mark.parametrize("method,options", list(MINILM), ids=[m for m, _ in MINILM])
def test_minilm_matches_hand_computed_counts(method, options):
    opts = {k: list(v) if isinstance(v, tuple) else v for k, v in options}
    c = count_cli(minilm_dir(), method, opts)
    assert c.method == MINILM[(method, options)]
    assert c.head == MINILM_HEAD and c.trainable == c.method + MINILM_HEAD
    added = 0 if method == "bitfit" else c.method  # BitFit adds nothing, it unfreezes
    assert c.total == MINILM_BASE + added
