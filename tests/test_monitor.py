"""Monitor (CPU fields without a GPU, a fake NVML for the GPU path, a real GPU when there is
one) and the FLOPs/MFU arithmetic of bench.flops, checked by hand."""
from __future__ import annotations

import os
import sys
import time
import types

import pytest

from bench import envinfo
from bench.flops import flop_params, mfu, peak_flops, train_flops
from bench.monitor import Monitor

GB = 1024**3
GPU_FIELDS = ("gpu_name", "nvml_peak_bytes", "alloc_peak_bytes", "reserved_peak_bytes",
              "gpu_util_mean", "power_mean_w", "energy_j")


@pytest.fixture(autouse=True)
def fresh_nvml(monkeypatch, request):
    """Every test starts with no cached NVML and the default CUDA device numbering; only the
    real-GPU test lets the monitor see torch's CUDA (the others fake or remove NVML)."""
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    if request.node.get_closest_marker("gpu") is None:
        monkeypatch.setattr(envinfo, "torch_cuda", lambda: None)
    envinfo.reset_nvml()
    yield
    envinfo.reset_nvml()


def no_nvml(monkeypatch):
    monkeypatch.setitem(sys.modules, "pynvml", None)  # `import pynvml` raises ImportError


def busy(seconds: float) -> None:
    """Burn CPU (not sleep) for about `seconds` of this process's CPU time."""
    start = os.times()
    while (os.times().user + os.times().system) - (start.user + start.system) < seconds:
        sum(range(10_000))


# -- CPU path ----------------------------------------------------------------------------


def test_cpu_fields_filled_and_gpu_fields_null_without_nvml(monkeypatch):
    no_nvml(monkeypatch)
    import psutil

    before = psutil.Process().memory_info().rss
    with Monitor(hz=50) as m:
        block = b"x" * (200 * 1024 * 1024)  # written, so the pages are resident
        time.sleep(0.15)
        busy(0.1)
        del block
    s = m.stats()
    assert s["peak_rss_bytes"] - before >= 190 * 1024 * 1024
    assert s["cpu_s"] >= 0.1
    assert s["device"] == "cpu" and s["gpu_count"] == 0
    assert all(s[k] is None for k in GPU_FIELDS)
    assert s["sample_hz"] == 50.0 and s["samples_taken"] >= 4  # start + ticks + end


def test_sampler_thread_catches_a_transient_peak(monkeypatch):
    """An allocation freed before stop() still shows: the thread saw it (the kernel's
    high-water mark cannot, when the process was bigger before)."""
    no_nvml(monkeypatch)
    big = b"y" * (300 * 1024 * 1024)  # raise ru_maxrss above anything below
    del big
    import psutil

    base = psutil.Process().memory_info().rss
    with Monitor(hz=100) as m:
        block = b"z" * (100 * 1024 * 1024)
        time.sleep(0.2)
        del block
        time.sleep(0.05)
    assert m.stats()["peak_rss_bytes"] - base >= 90 * 1024 * 1024


def test_hz_zero_takes_only_start_and_end_samples(monkeypatch):
    no_nvml(monkeypatch)
    with Monitor(hz=0) as m:
        time.sleep(0.05)
    assert m._thread is None
    assert m.stats()["samples_taken"] == 2 and m.stats()["sample_hz"] == 0.0


def test_nvml_init_error_leaves_gpu_fields_null(monkeypatch):
    fake = types.ModuleType("pynvml")

    def init():
        raise RuntimeError("NVML Shared Library Not Found")

    fake.nvmlInit = init
    monkeypatch.setitem(sys.modules, "pynvml", fake)
    with Monitor(hz=0, device_index=0) as m:
        busy(0.02)
    s = m.stats()
    assert s["device"] == "cpu" and all(s[k] is None for k in GPU_FIELDS)
    assert s["cpu_s"] > 0 and s["peak_rss_bytes"] > 0


def test_every_nvml_reading_failing_never_crashes(monkeypatch):
    fake = FakeNvml([FakeGpu()])
    for name in ("nvmlDeviceGetName", "nvmlDeviceGetTotalEnergyConsumption",
                 "nvmlDeviceGetComputeRunningProcesses", "nvmlDeviceGetMemoryInfo",
                 "nvmlDeviceGetUtilizationRates", "nvmlDeviceGetPowerUsage"):
        setattr(fake, name, fake.fail)
    monkeypatch.setitem(sys.modules, "pynvml", fake)
    with Monitor(hz=100, device_index=0) as m:
        time.sleep(0.05)
    s = m.stats()
    assert all(s[k] is None for k in GPU_FIELDS)
    assert s["peak_rss_bytes"] > 0 and s["cpu_s"] is not None


def test_stats_keys_are_meter_fields():
    from bench.records import METER_KEYS

    with Monitor(hz=0, device_index=[]) as m:
        pass
    assert set(m.stats()) <= set(METER_KEYS)
    assert Monitor(hz=0, device_index=[]).devices == []
    with pytest.raises(ValueError):
        Monitor(hz=-1)


# -- fake NVML: the GPU path -------------------------------------------------------------


class FakeGpu:
    """Readings served in order, the last one repeated."""

    def __init__(self, name="NVIDIA H100 80GB HBM3", energy_mj=(1_000_000, 1_250_000),
                 power_mw=(200_000,), util=(40, 60), procs=((1 * GB,), (3 * GB,), (2 * GB,)),
                 used=(20 * GB,)):
        self.name, self.energy, self.power, self.util = name, list(energy_mj), power_mw, util
        self.procs, self.used = procs, used
        self.calls = {"energy": 0, "power": 0, "util": 0, "procs": 0, "used": 0}

    def next(self, key, seq):
        i = self.calls[key]
        self.calls[key] += 1
        return seq[min(i, len(seq) - 1)]


class FakeNvml(types.ModuleType):
    """Enough of pynvml for the monitor: two processes per device, ours and a stranger."""

    def __init__(self, gpus):
        super().__init__("pynvml")
        self.gpus = gpus

    def fail(self, *a):
        raise RuntimeError("NVML error: Not Supported")

    def nvmlInit(self):
        pass

    def nvmlDeviceGetCount(self):
        return len(self.gpus)

    def nvmlDeviceGetHandleByIndex(self, i):
        if i >= len(self.gpus):
            raise RuntimeError("Invalid Argument")
        return self.gpus[i]

    def nvmlDeviceGetName(self, g):
        return g.name.encode()  # old nvidia-ml-py returns bytes

    def nvmlDeviceGetTotalEnergyConsumption(self, g):
        return g.next("energy", g.energy)

    def nvmlDeviceGetPowerUsage(self, g):
        return g.next("power", g.power)

    def nvmlDeviceGetUtilizationRates(self, g):
        return types.SimpleNamespace(gpu=g.next("util", g.util), memory=0)

    def nvmlDeviceGetComputeRunningProcesses(self, g):
        mine = g.next("procs", g.procs)
        return [types.SimpleNamespace(pid=os.getpid() + 1, usedGpuMemory=10 * GB),
                *(types.SimpleNamespace(pid=os.getpid(), usedGpuMemory=b) for b in mine)]

    def nvmlDeviceGetMemoryInfo(self, g):
        return types.SimpleNamespace(used=g.next("used", g.used), total=80 * GB)


def test_fake_nvml_energy_power_util_and_process_memory(monkeypatch):
    gpu = FakeGpu()
    monkeypatch.setitem(sys.modules, "pynvml", FakeNvml([gpu]))
    with Monitor(hz=0, device_index=0) as m:
        time.sleep(0.1)
    s = m.stats()
    assert s["device"] == "cuda:0" and s["gpu_count"] == 1
    assert s["gpu_name"] == "NVIDIA H100 80GB HBM3"
    assert s["energy_j"] == pytest.approx(250.0)  # (1_250_000 - 1_000_000) mJ
    assert s["power_mean_w"] == pytest.approx(250.0 / m.elapsed_s)
    assert s["gpu_util_mean"] == pytest.approx(50.0)  # samples 40 and 60
    assert s["nvml_peak_bytes"] == 3 * GB  # our pid's peak; the stranger's 10 GB ignored
    assert gpu.calls["used"] == 0  # our pid was listed: no device-wide fallback read
    assert s["alloc_peak_bytes"] is None  # torch has no CUDA here


def test_fake_nvml_integrates_power_without_energy_counter(monkeypatch):
    gpu = FakeGpu(power_mw=(200_000,))
    fake = FakeNvml([gpu])
    fake.nvmlDeviceGetTotalEnergyConsumption = fake.fail  # pre-Volta: not supported
    monkeypatch.setitem(sys.modules, "pynvml", fake)
    with Monitor(hz=50, device_index=0) as m:
        time.sleep(0.3)
    s = m.stats()
    assert gpu.calls["power"] >= 3
    # 200 W between the first and the last sample, which lie inside start..stop
    assert 0.8 * 200 * m.elapsed_s <= s["energy_j"] <= 200 * m.elapsed_s
    assert s["power_mean_w"] == pytest.approx(s["energy_j"] / m.elapsed_s)


def test_nvml_reads_are_capped_whatever_the_sampler_rate(monkeypatch):
    # NVML's readings are themselves ~1/6-1 s averages; reading them at the sampler's 100 Hz
    # only adds GIL hand-offs to a launch-bound GPU loop. RSS still follows `hz`.
    from bench.defaults import NVML_MAX_HZ

    gpu = FakeGpu()
    monkeypatch.setitem(sys.modules, "pynvml", FakeNvml([gpu]))
    with Monitor(hz=100, device_index=0) as m:
        time.sleep(1.0)
    assert m.stats()["samples_taken"] >= 30
    # start + stop + at most NVML_MAX_HZ per second (one extra for a tick on the boundary)
    assert 3 <= gpu.calls["util"] <= 2 + NVML_MAX_HZ * m.elapsed_s + 1, gpu.calls


def test_fake_nvml_counter_that_has_not_ticked_uses_the_power_integral(monkeypatch):
    gpu = FakeGpu(energy_mj=(5_000, 5_000), power_mw=(100_000,))  # counter updates lag
    monkeypatch.setitem(sys.modules, "pynvml", FakeNvml([gpu]))
    with Monitor(hz=100, device_index=0) as m:
        time.sleep(0.1)
    assert 0 < m.stats()["energy_j"] <= 100 * m.elapsed_s


def test_fake_nvml_falls_back_to_device_memory(monkeypatch):
    gpu = FakeGpu(procs=((),), used=(5 * GB, 7 * GB, 6 * GB))  # our pid never listed
    monkeypatch.setitem(sys.modules, "pynvml", FakeNvml([gpu]))
    with Monitor(hz=0, device_index=0) as m:
        pass
    assert m.stats()["nvml_peak_bytes"] == 7 * GB

    envinfo.reset_nvml()
    gpu = FakeGpu(used=(4 * GB,))
    fake = FakeNvml([gpu])
    fake.nvmlDeviceGetComputeRunningProcesses = fake.fail  # e.g. no permission
    monkeypatch.setitem(sys.modules, "pynvml", fake)
    with Monitor(hz=0, device_index=0) as m:
        pass
    assert m.stats()["nvml_peak_bytes"] == 4 * GB


def test_fake_nvml_aggregates_several_devices(monkeypatch):
    a = FakeGpu(energy_mj=(0, 100_000), util=(20,), procs=((1 * GB,),))
    b = FakeGpu(energy_mj=(0, 300_000), util=(80,), procs=((2 * GB,),))
    monkeypatch.setitem(sys.modules, "pynvml", FakeNvml([a, b]))
    with Monitor(hz=0, device_index=[0, 1]) as m:
        pass
    s = m.stats()
    assert s["device"] == "cuda:0,1" and s["gpu_count"] == 2
    assert s["gpu_name"] == "NVIDIA H100 80GB HBM3"  # the same model named once
    assert s["energy_j"] == pytest.approx(400.0)
    assert s["gpu_util_mean"] == pytest.approx(50.0)
    assert s["nvml_peak_bytes"] == 3 * GB


def test_cuda_visible_devices_maps_to_nvml_indices(monkeypatch):
    gpus = [FakeGpu(name=f"gpu{i}") for i in range(4)]
    fake = FakeNvml(gpus)
    fake.nvmlDeviceGetHandleByUUID = lambda uuid: gpus[int(uuid.rsplit("-", 1)[1])]
    monkeypatch.setitem(sys.modules, "pynvml", fake)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3,1")
    assert envinfo.nvml_handle(fake, 0) is gpus[3]
    assert envinfo.nvml_handle(fake, 1) is gpus[1]
    assert envinfo.nvml_handle(fake, 2) is None
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "GPU-abc-2")
    assert envinfo.nvml_handle(fake, 0) is gpus[2]
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    assert envinfo.nvml_handle(fake, 0) is None
    with Monitor(hz=0) as m:  # nothing visible: the default meters the CPU only
        pass
    assert m.stats()["device"] == "cpu"


# -- a real GPU ----------------------------------------------------------------------------


@pytest.mark.gpu
def test_real_gpu_fields():
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA device: torch.cuda.is_available() is False here")
    torch.cuda.init()
    with Monitor(hz=20, device_index=0) as m:
        x = torch.randn(16384, 16384, device="cuda")  # 1 GiB
        t = time.perf_counter()
        while time.perf_counter() - t < 1.5:  # synchronised: launches must not queue up
            y = x @ x
            torch.cuda.synchronize()
        del x, y
    s = m.stats()
    print(s)
    assert s["device"] == "cuda:0" and s["gpu_count"] == 1 and s["gpu_name"]
    assert s["alloc_peak_bytes"] >= 2 * GB and s["reserved_peak_bytes"] >= s["alloc_peak_bytes"]
    assert s["nvml_peak_bytes"] >= 2 * GB
    assert s["gpu_util_mean"] > 10 and s["energy_j"] > 0 and s["power_mean_w"] > 30
    assert s["samples_taken"] >= 20 and m.elapsed_s < 10


# -- FLOPs and MFU -------------------------------------------------------------------------


def test_train_flops_by_hand():
    assert train_flops(100, 100, 10) == 6000.0  # full fine-tuning: 6N per token
    assert train_flops(100, 0, 10) == 4000.0  # frozen base, nothing trained: 4N
    assert train_flops(100, 10, 10) == 4200.0  # 4N + 2T
    assert train_flops(100, 500, 1) == 600.0  # T is capped at N
    with pytest.raises(ValueError):
        train_flops(-1, 0, 1)


def test_peak_flops_table():
    assert peak_flops("NVIDIA H100 80GB HBM3", "bf16") == 989.4e12
    assert peak_flops("NVIDIA H100 PCIe", "torch.bfloat16") == 756.5e12
    assert peak_flops("NVIDIA H100 NVL", "fp16") == 835.5e12
    assert peak_flops("NVIDIA H200", "bf16") == 989.4e12
    assert peak_flops("NVIDIA GH200 480GB", "bf16") == 989.4e12
    assert peak_flops("NVIDIA A100-SXM4-80GB", "tf32") == 156e12
    assert peak_flops("NVIDIA A100 80GB PCIe", "float32") == 19.5e12
    assert peak_flops("NVIDIA A10G", "bf16") == 125e12  # not matched as an A100
    assert peak_flops("NVIDIA L4", "bf16") == 121e12
    assert peak_flops("NVIDIA L40S", "bf16") == 362.1e12  # not matched as an L4
    assert peak_flops("Tesla V100-SXM2-16GB", "fp16") == 125e12
    assert peak_flops("Tesla V100-PCIE-32GB", "fp16") == 112e12
    assert peak_flops("Tesla T4", "fp16") == 65e12
    assert peak_flops("Tesla T4", "bf16") is None  # no bf16 tensor cores
    assert peak_flops("AMD EPYC", "fp32") is None
    assert peak_flops("NVIDIA H100 80GB HBM3", "auto") is None
    assert peak_flops(None, "bf16") is None


def test_mfu_arithmetic():
    assert mfu(1e15, 2.0, 1e15) == 0.5
    assert mfu(1e15, 2.0, 1e15, n_devices=2) == 0.25
    assert mfu(1e15, 0.0, 1e15) is None and mfu(1e15, 1.0, None) is None
    assert mfu(None, 1.0, 1e15) is None


def test_flop_params_excludes_embedding_tables():
    pytest.importorskip("torch")
    from tiny import tiny_bert

    # BERT h=32, 2 layers, ffn 64, 2 labels: per layer q,k,v,o 4*(32*32+32) + LN 64
    # + ffn (32*64+64) + (64*32+32) + LN 64 = 8544; + embedding LN 64 + pooler 1056
    # + classifier 66 = 18274. Word/position/type embedding tables are lookups.
    assert flop_params(tiny_bert(num_labels=2)) == 2 * 8544 + 64 + 1056 + 66


def test_flop_params_counts_a_tied_output_layer():
    pytest.importorskip("torch")
    from transformers import LlamaForCausalLM

    from tiny import llama_config

    untied = LlamaForCausalLM(llama_config())
    cfg = llama_config()
    cfg.tie_word_embeddings = True
    tied = LlamaForCausalLM(cfg)
    embed = 30522 * 32
    assert flop_params(untied) == sum(p.numel() for p in untied.parameters()) - embed
    assert flop_params(tied) == flop_params(untied)  # lm_head is a matmul either way
