"""The method contract, checked for every registered method on tiny random models.

Parametrized over `METHODS` × {tiny BERT classifier, tiny Llama classifier, tiny Llama LM}
(where the method supports the kind), so a new registry entry is tested without editing
this file. For each: exactly the intended parameters require grad, training changes all
of them and nothing else, identity at init where promised, and save/load round trips.
"""
from __future__ import annotations

import re
import subprocess
import sys

import pytest

from bench.errors import Unavailable, UsageError
from bench.methods import METHODS
from bench.methods._base import Context, info
from tiny import batch, save_tiny, tiny_bert, tiny_llama

ARCHS = {"bert": "seq_cls", "llama-cls": "seq_cls", "llama-lm": "causal_lm"}
OPTIONS = {"partial": {"k": 1}}  # k=1 of 2 blocks: a real partial freeze on the tiny models
FAMILIES = {"full", "selective", "additive", "reparameterization", "prompt", "quantized"}
STEPS = 3  # zero-initialised factors (LoRA's B, the adapter's up-projection) get gradients
# only after the first step has moved their partner, so one step cannot move everything


def _lora(name: str) -> bool:
    return bool(re.search(r"\.lora_[AB]\.", name))


# What each known method trains besides the task head (a new method gets the generic checks).
INTENDED = {
    "full": lambda n: True,
    "linear_probe": lambda n: False,
    "partial": lambda n: bool(re.search(r"\.layers?\.1\.|(^|\.)norm\.weight$", n)),
    "bitfit": lambda n: n.endswith(".bias"),
    "adapter": lambda n: ".adapter." in n or "norm" in n.lower(),
    "lora": _lora, "qlora": _lora, "qlora8": _lora,
    "dora": lambda n: _lora(n) or ".lora_magnitude_vector." in n,
    "adalora": lambda n: bool(re.search(r"\.lora_[ABE]\.", n)),
    "vera": lambda n: ".vera_lambda_" in n,
    "loha": lambda n: ".hada_" in n,
    "lokr": lambda n: ".lokr_" in n,
    "ia3": lambda n: ".ia3_l." in n,
    "prefix": lambda n: "prompt_encoder." in n,
    "prompt": lambda n: "prompt_encoder." in n,
    "ptuning": lambda n: "prompt_encoder." in n,
}

CASES = [pytest.param(m, a, id=f"{m}-{a}") for m in METHODS for a, kind in ARCHS.items()
         if kind in info(m, METHODS[m]).kinds]


@pytest.fixture(scope="session")
def model_dirs(tmp_path_factory) -> dict[str, str]:
    root = tmp_path_factory.mktemp("tiny-models")
    return {"bert": save_tiny(root / "bert", tiny_bert()),
            "llama-cls": save_tiny(root / "llama-cls", tiny_llama(num_labels=2)),
            "llama-lm": save_tiny(root / "llama-lm", tiny_llama())}


def fresh(method: str, arch: str, dirs: dict[str, str]):
    """A freshly loaded base model (quantised when the method says so) and its batch."""
    from bench.models import load

    kind = ARCHS[arch]
    model, _ = load(dirs[arch], kind=kind, num_labels=2 if kind == "seq_cls" else None,
                    quantization=info(method, METHODS[method]).quantization)
    data = batch()
    if kind == "causal_lm":
        labels = data["input_ids"].masked_fill(data["attention_mask"] == 0, -100)
        data = {"input_ids": data["input_ids"], "attention_mask": data["attention_mask"],
                "labels": labels}
    return model, data


def apply(method: str, arch: str, model):
    """Apply `method`; a method that cannot run on this architecture skips with its reason."""
    try:
        return METHODS[method](model, Context(kind=ARCHS[arch], total_steps=100, seed=0),
                               **OPTIONS.get(method, {}))
    except Unavailable as exc:
        assert str(exc), "Unavailable must say why"
        pytest.skip(f"unavailable: {exc}")


def train(applied, data, steps: int = STEPS) -> None:
    import torch

    model = applied.model
    model.train()
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2,
                            weight_decay=0.0)  # no decay: a change means a gradient arrived
    for step in range(1, steps + 1):
        model(**data).loss.backward()
        opt.step()
        if applied.on_step is not None:
            applied.on_step(step)
        opt.zero_grad()
    model.eval()


def logits(model, data):
    import torch

    model.eval()
    with torch.no_grad():
        return model(**data).logits.clone()


def is_head(name: str, head: tuple[str, ...]) -> bool:
    return ".original_module." not in name and any(p in head for p in name.split("."))


@pytest.mark.parametrize("method,arch", CASES)
def test_trains_exactly_its_parameters(method, arch, model_dirs):
    import torch

    model, data = fresh(method, arch, model_dirs)
    applied = apply(method, arch, model)
    params = dict(applied.model.named_parameters())
    trainable = {n for n, p in params.items() if p.requires_grad}
    assert trainable, "a method must train something"
    if ARCHS[arch] == "seq_cls":
        head = {n for n in params if is_head(n, applied.head_names)}
        assert head and head <= trainable, "the task head must train"
    else:
        assert applied.head_names == (), "causal LMs have no task head"
    if method in INTENDED:
        want = {n for n, p in params.items() if p.is_floating_point() and (
            INTENDED[method](n) or is_head(n, applied.head_names))}
        assert trainable == want, (sorted(trainable - want)[:5], sorted(want - trainable)[:5])
    before = {n: p.detach().clone() for n, p in params.items()}
    train(applied, data)
    after = dict(applied.model.named_parameters())
    unchanged = [n for n in trainable if torch.equal(before[n], after[n])]
    moved = [n for n in params if n not in trainable and not torch.equal(before[n], after[n])]
    assert not unchanged, f"trainable but not updated: {unchanged[:5]}"
    assert not moved, f"frozen but changed: {moved[:5]}"


@pytest.mark.parametrize("method,arch", [c for c in CASES
                                         if info(c.values[0], METHODS[c.values[0]]).identity])
def test_identity_at_init(method, arch, model_dirs):
    import torch

    model, data = fresh(method, arch, model_dirs)
    base = logits(model, data)
    applied = apply(method, arch, model)
    torch.testing.assert_close(logits(applied.model, data), base, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("method,arch", CASES)
def test_save_load_round_trip(method, arch, model_dirs, tmp_path):
    import torch

    model, data = fresh(method, arch, model_dirs)
    applied = apply(method, arch, model)
    train(applied, data)
    trained = logits(applied.model, data)
    applied.save(str(tmp_path))
    assert any(tmp_path.iterdir()), "save wrote nothing"
    again = apply(method, arch, fresh(method, arch, model_dirs)[0])
    assert not torch.allclose(logits(again.model, data), trained), "training changed nothing"
    assert again.load is not None, "every method must be loadable"
    again.load(str(tmp_path))
    torch.testing.assert_close(logits(again.model, data), trained, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", list(METHODS))
def test_info_is_complete(name):
    meta = info(name, METHODS[name])
    assert meta.family in FAMILIES
    assert meta.summary and meta.kinds
    assert meta.paper or meta.family == "full"
    low, high = meta.lr
    assert 0 < low < high < 1
    assert meta.quantization in (None, "nf4", "int8")


def test_method_modules_do_not_import_torch():
    code = ("import sys; from bench.methods import METHODS; from bench.methods._base import info;"
            "[info(n, METHODS[n]) for n in METHODS];"
            "bad = [m for m in ('torch', 'peft', 'transformers') if m in sys.modules];"
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_prompt_methods_need_more_lr_than_lora():
    lora = info("lora", METHODS["lora"]).lr
    for name in ("prompt", "ptuning", "vera", "prefix"):
        assert info(name, METHODS[name]).lr[1] > lora[1], name


def test_prefix_is_used_on_bert(model_dirs):
    """peft's own prefix path refuses BERT under transformers 5; ours must really use it."""
    import torch

    model, data = fresh("prefix", "bert", model_dirs)
    applied = apply("prefix", "bert", model)
    prefix = applied.model.peft_model.prompt_encoder["default"].embedding.weight
    applied.model.train()
    applied.model(**data).loss.backward()
    assert prefix.grad is not None and prefix.grad.abs().sum() > 0, "no gradient reaches it"
    before = logits(applied.model, data)
    with torch.no_grad():
        prefix.add_(torch.randn_like(prefix))
    assert not torch.allclose(logits(applied.model, data), before), "prefix does not matter"
    short = {k: v[:, :8] if v.dim() == 2 else v for k, v in data.items()}
    assert logits(applied.model, short).shape == (2, 2)


def test_adalora_reallocates_ranks(model_dirs):
    """on_step drives AdaLoRA's budget: after its schedule some ranks are masked to zero."""
    import torch

    model, data = fresh("adalora", "bert", model_dirs)
    applied = METHODS["adalora"](model, Context(total_steps=10), init_r=4, target_r=1,
                                 tinit=0.1, tfinal=0.2, delta_t=1)
    train(applied, data, steps=10)
    e = [p for n, p in applied.model.named_parameters() if ".lora_E." in n]
    zeros = sum(int((p == 0).sum()) for p in e)
    assert zeros >= sum(p.numel() for p in e) // 2, "budget not reduced towards target_r"
    assert torch.isfinite(torch.cat([p.flatten() for p in e])).all()


@pytest.mark.parametrize("method,options", [
    ("lora", {"r": 0}), ("partial", {"k": 9}), ("adapter", {"size": 0}),
    ("adapter", {"activation": "swish9"}), ("prompt", {"init": "text"}),
    ("adalora", {"tinit": 0.6, "tfinal": 0.5}), ("lora", {"target_modules": ["nope"]}),
])
def test_bad_options_are_usage_errors(method, options, model_dirs):
    model, _ = fresh(method, "bert", model_dirs)
    with pytest.raises(UsageError):
        METHODS[method](model, Context(), **options)


def test_quantized_methods_refuse_an_unquantized_base(model_dirs):
    model, _ = fresh("lora", "bert", model_dirs)
    with pytest.raises(UsageError, match="quantization='nf4'"):
        METHODS["qlora"](model, Context())


def test_bitfit_on_llama_is_unavailable_with_a_reason(model_dirs):
    model, _ = fresh("bitfit", "llama-cls", model_dirs)
    with pytest.raises(Unavailable, match="no bias terms"):
        METHODS["bitfit"](model, Context())


@pytest.mark.parametrize("arch", ["bert", "llama-lm"])
def test_projected_prefix_round_trips(arch, model_dirs, tmp_path):
    """Projected prefixes store the MLP's output, wider than the trained embedding."""
    import torch

    model, data = fresh("prefix", arch, model_dirs)
    ctx = Context(kind=ARCHS[arch])
    applied = METHODS["prefix"](model, ctx, projection=True, encoder_hidden_size=16)
    train(applied, data)
    trained = logits(applied.model, data)
    applied.save(str(tmp_path))
    again = METHODS["prefix"](fresh("prefix", arch, model_dirs)[0], ctx, projection=True,
                              encoder_hidden_size=16)
    again.load(str(tmp_path))
    torch.testing.assert_close(logits(again.model, data), trained, rtol=1e-5, atol=1e-5)
