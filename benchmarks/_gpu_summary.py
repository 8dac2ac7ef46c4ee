"""The summary of benchmarks/gpu.py: JSON fields derived from its rows, and the printed
table."""
from __future__ import annotations

import _common as C


def pct(x) -> str:
    return "n/a" if x is None else f"{100 * x:.1f}%"


def _gib(x) -> str:
    return "n/a" if x is None else f"{x / 2**30:.2f}"


def summarise(rows: list[dict], auto: dict | None, steps: int, skipped: list[dict],
              batch: int, length: int, wall: float) -> dict:
    """The JSON summary: every row, bf16/fp32 pairs, NVML/allocator and meter/recomputed
    MFU ratios."""
    pairs = []
    for r in rows:
        f = next((x for x in rows if x["precision"] == "fp32" and x["model"] == r["model"]
                  and x["method"] == r["method"]), None)
        if r["precision"] != "bf16" or f is None:
            continue
        pairs.append({"model": r["model"], "method": r["method"],
                      "speedup_bf16_over_fp32": f["step_ms"] / r["step_ms"],
                      "alloc_peak_ratio_bf16_over_fp32":
                          r["alloc_peak_bytes"] / f["alloc_peak_bytes"]
                          if r["alloc_peak_bytes"] and f["alloc_peak_bytes"] else None,
                      "energy_ratio_bf16_over_fp32": r["energy_j"] / f["energy_j"]
                          if r["energy_j"] and f["energy_j"] else None,
                      "accuracy_bf16": r["accuracy"], "accuracy_fp32": f["accuracy"]})
    for r in rows:
        r["nvml_over_alloc"] = (r["nvml_peak_bytes"] / r["alloc_peak_bytes"]
                                if r["nvml_peak_bytes"] and r["alloc_peak_bytes"] else None)
        r["mfu_meter_over_recomputed"] = (r["mfu_meter"] / r["mfu_recomputed"]
                                          if r["mfu_meter"] and r["mfu_recomputed"] else None)
    return {"setup": {"batch_size": batch, "max_length": length, "steps_per_trial": steps,
                      "tokens_per_step": batch * length, "monitor_hz": 20,
                      "reported_trial": "the second of two (the first warms up)"},
            "wall_s": wall, "rows": rows, "skipped": skipped, "bf16_vs_fp32": pairs,
            "auto_precision_meter_mfu": auto}


def print_summary(s: dict) -> None:
    rows = [[r["model"], r["method"], r["precision"], r["step_ms"], r["tokens_per_s"],
             pct(r["mfu_meter"]), pct(r["mfu_recomputed"]), _gib(r["nvml_peak_bytes"]),
             _gib(r["alloc_peak_bytes"]), _gib(r["reserved_peak_bytes"]),
             "n/a" if r["energy_j"] is None else f"{r['energy_j']:.0f}",
             "n/a" if r["power_mean_w"] is None else f"{r['power_mean_w']:.0f}",
             r["accuracy"]] for r in s["rows"]]
    print(C.table(rows, ["model", "method", "prec", "ms/step", "tok/s", "MFU meter",
                         "MFU (flop_params)", "NVML GiB", "alloc GiB", "reserved GiB",
                         "energy J", "W", "val acc"]))
    for p in s["bf16_vs_fp32"]:
        print(f"{p['model']} {p['method']}: bf16 {p['speedup_bf16_over_fp32']:.2f}x faster "
              f"than fp32; allocator peak ratio {p['alloc_peak_ratio_bf16_over_fp32']}; "
              f"accuracy bf16 {p['accuracy_bf16']} vs fp32 {p['accuracy_fp32']}")
    a = s["auto_precision_meter_mfu"]
    print(f"precision = 'auto' ({a['model']}, lora): meter MFU = {a['mfu_meter']}")
    print(f"total {s['wall_s']:.0f} s")
