"""The method registry: name -> "module:function". Adding a method is one file + one line.

See `bench/methods/_base.py` for the contract every entry fulfils.
"""
from __future__ import annotations

from bench.registry import Registry

METHODS = Registry("method", {
    "full": "bench.methods.full:apply",
    "linear_probe": "bench.methods.linear_probe:apply",
    "partial": "bench.methods.partial:apply",
    "bitfit": "bench.methods.bitfit:apply",
    "adapter": "bench.methods.adapter:apply",
    "lora": "bench.methods.lora:apply",
    "dora": "bench.methods.dora:apply",
    "vera": "bench.methods.vera:apply",
    "loha": "bench.methods.loha:apply",
    "lokr": "bench.methods.lokr:apply",
    "adalora": "bench.methods.adalora:apply",
    "ia3": "bench.methods.ia3:apply",
    "prefix": "bench.methods.prefix:apply",
    "prompt": "bench.methods.prompt:apply",
    "ptuning": "bench.methods.ptuning:apply",
    "qlora": "bench.methods.qlora:apply",
    "qlora8": "bench.methods.qlora8:apply",
})
