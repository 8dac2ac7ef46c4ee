"""benchmarks/gpu.py runs its whole pipeline on CPU with --cpu-smoke (tiny shapes), so the
GPU benchmark cannot rot between the sessions that have a GPU to run it on."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def test_gpu_benchmark_smoke_on_cpu(tmp_path):
    pytest.importorskip("bitsandbytes")
    out = tmp_path / "gpu.json"
    proc = subprocess.run([sys.executable, "benchmarks/gpu.py", "--cpu-smoke", "--out", str(out)],
                          cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads(out.read_text())
    rows = {(r["model"], r["method"], r["precision"]) for r in summary["rows"]}
    assert rows == {(m, k, p) for m in ("tiny-bert (smoke)", "tiny-llama (smoke)")
                    for k in ("full", "lora", "qlora") for p in ("bf16", "fp32")}
    assert not summary["skipped"] and len(summary["bf16_vs_fp32"]) == 6
    for r in summary["rows"]:
        assert r["step_ms"] > 0 and r["train_tokens"] > 0 and r["params_flop"] > 0
        assert r["trainable"] < r["params_total"] or r["method"] == "full"


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_plain_reference_loop_trains(tmp_path, precision):
    """The hand-written arm of gpu.py / gpu_overhead.py (run here on the CPU)."""
    sys.path.insert(0, str(REPO / "benchmarks"))
    from _gpu_plain import plain_step_ms
    from tiny import save_tiny, tiny_bert

    ref = save_tiny(tmp_path / "bert", tiny_bert())
    assert plain_step_ms(ref, precision, batch=4, length=16, steps=2, device="cpu") > 0


def test_gpu_overhead_benchmark_says_it_needs_cuda(tmp_path):
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("a GPU is visible: the script would run for real")
    out = tmp_path / "o.json"
    proc = subprocess.run([sys.executable, "benchmarks/gpu_overhead.py", "--out", str(out)],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "no CUDA device" in proc.stdout
    assert json.loads(out.read_text())["skipped"] is True
