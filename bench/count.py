"""Parameter accounting of an applied method, and the `bench count` command.

Convention (docs/methods.md): `trainable` = `method` + `head`, where `head` is the task head
(classifier/score, and BERT's pooler) that every method trains the same way, and `method`
is what the method itself adds or unfreezes. `total` is every parameter of the model as
trained, counted once: peft keeps a frozen original of the head beside the trained copy,
which is not counted, and 4-bit weights (two per byte) count as logical parameters, not
storage elements. `stored_bytes` is the size on disk of what the method's `save` writes
(the adapter folder; the whole model for `full`).
"""
from __future__ import annotations

import json
import os
import tempfile
import tomllib
from dataclasses import asdict, dataclass
from typing import Any

from bench.errors import UsageError, did_you_mean


@dataclass(frozen=True)
class ParamCounts:
    """Trainable/method/head/total parameters, percent trainable and stored bytes."""

    trainable: int
    method: int
    head: int
    total: int
    percent: float
    stored_bytes: int

    def as_dict(self) -> dict[str, int | float]:
        return asdict(self)


def logical_numel(param: Any) -> int:
    """Parameters a tensor stands for: bitsandbytes packs 4-bit weights into bytes, so a
    Params4bit of n storage elements of k bytes holds 2·k·n weights (peft's rule)."""
    n = param.numel()
    if type(param).__name__ == "Params4bit":
        storage = getattr(param, "quant_storage", None)
        n *= 2 * (storage.itemsize if storage is not None else 1)
    return n


def count(applied: Any, base_total: int | None = None) -> ParamCounts:
    """Count an `Applied` model; `base_total` (the base model's count) replaces the
    measured total as the denominator when given (the % of the base model convention)."""
    from bench.methods._common import in_modules

    trainable = head = total = 0
    for name, param in applied.model.named_parameters():
        if ".original_module." in name:  # peft's frozen copy of a head it trains
            continue
        n = logical_numel(param)
        total += n
        if param.requires_grad:
            trainable += n
            head += n if in_modules(name, applied.head_names) else 0
    total = base_total if base_total is not None else total
    return ParamCounts(trainable=trainable, method=trainable - head, head=head, total=total,
                       percent=100.0 * trainable / total if total else 0.0,
                       stored_bytes=stored_bytes(applied))


def stored_bytes(applied: Any) -> int:
    """Bytes on disk of what `applied.save` writes (saved into a temporary folder)."""
    with tempfile.TemporaryDirectory(prefix="bench-count-") as folder:
        applied.save(folder)
        return sum(os.path.getsize(os.path.join(root, f))
                   for root, _, files in os.walk(folder) for f in files)


def check_options(method: str, fn: Any, options: dict[str, Any]) -> None:
    """UsageError for an option the method does not have or a value of the wrong type."""
    from bench.methods._base import options_of
    from bench.suite.checks import accepts, describe

    known = options_of(fn)
    for key, value in options.items():
        if key not in known:
            raise UsageError(f"method {method!r} has no option {key!r}: "
                             f"{did_you_mean(key, known) if known else 'it takes none'}")
        if not accepts(known[key].annotation, value):
            raise UsageError(f"method {method!r}: option {key}={value!r} must be "
                             f"{describe(known[key].annotation)}")


def count_cli(model_ref: str, method: str, options: dict[str, Any], *,
              kind: str = "seq_cls", num_labels: int = 2) -> ParamCounts:
    """Load `model_ref`, apply `method` with `options`, and count (no training)."""
    from bench.methods import METHODS
    from bench.methods._base import Context, info
    from bench.models import load

    fn = METHODS[method]
    meta = info(method, fn)
    check_options(method, fn, options)
    if kind not in meta.kinds:
        raise UsageError(f"method {method!r} does not apply to {kind} models; "
                         f"it supports {', '.join(meta.kinds)}")
    model, _ = load(model_ref, kind=kind, quantization=meta.quantization,
                    num_labels=num_labels if kind == "seq_cls" else None)
    return count(fn(model, Context(kind=kind), **options))


def parse_options(pairs: list[str]) -> dict[str, Any]:
    """["r=8", "target_modules=['query','value']"] -> {"r": 8, ...}; values are TOML
    (numbers, booleans, lists, quoted strings), a bare word is a string."""
    options: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"option {pair!r} is not key=value; fix: write e.g. r=8")
        try:
            value = tomllib.loads(f"v = {raw.strip()}")["v"]
        except tomllib.TOMLDecodeError:
            value = raw.strip()
        options[key.strip()] = value
    return options


def main(args: Any) -> int:
    """`bench count MODEL METHOD [key=value ...] [--json]`."""
    counts = count_cli(args.model, args.method, parse_options(list(args.options or [])),
                       kind=getattr(args, "kind", "seq_cls") or "seq_cls",
                       num_labels=getattr(args, "num_labels", 2) or 2)
    if args.json:
        print(json.dumps(counts.as_dict()))
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{args.method} on {args.model}")
    table.add_column("quantity")
    table.add_column("value", justify="right")
    for key, value in counts.as_dict().items():
        shown = f"{value:.4f} %" if key == "percent" else f"{value:,}"
        table.add_row(key, shown + (f"  ({value / 2**20:.2f} MiB)" if key == "stored_bytes"
                                    else ""))
    Console().print(table)
    return 0
