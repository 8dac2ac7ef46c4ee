"""Per-trial resource metering: a sampler thread reading RSS, CPU time, NVML and the allocator.

    with Monitor(hz=20, device_index=0) as mon:
        train_and_evaluate()
    record["meter"].update(mon.stats())

CPU fields (peak RSS, CPU seconds) are always filled. GPU fields come from NVML (memory used
by this process, utilisation, power, energy from the total-energy counter) and from torch's
caching allocator (peak allocated/reserved); they are null wherever NVML or a device is
missing or errors: metering never crashes a run. See docs/metering.md for what each field
means and how the numbers are taken.
"""
from __future__ import annotations

import os
import sys
import threading
import time
from typing import Any, Sequence

from bench import envinfo
from bench.defaults import NVML_MAX_HZ
from bench.envinfo import nvml, nvml_handle

class _Gpu:
    """One device's NVML readings over a trial; a reading that errors once is dropped."""

    def __init__(self, nv: Any, handle: Any, pid: int, t0: float):
        self.nv, self.h, self.pid = nv, handle, pid
        self.name = self._try(lambda: envinfo.text(nv.nvmlDeviceGetName(handle)))
        self.energy0 = self._try(lambda: nv.nvmlDeviceGetTotalEnergyConsumption(handle))
        self.energy_j: float | None = None
        self.proc_peak: int | None = None  # this pid's memory, when NVML lists it
        self.dev_peak: int | None = None  # whole-device memory used: the fallback
        self.util_sum, self.util_n = 0.0, 0
        self.joules, self.last_t, self.last_w = 0.0, t0, None  # power integral (fallback)
        self.power_ok, self.util_ok, self.procs_ok, self.mem_ok = True, True, True, True

    @staticmethod
    def _try(fn: Any) -> Any:
        try:
            return fn()
        except Exception:
            return None

    def sample(self, t: float) -> None:
        nv, h = self.nv, self.h
        if self.procs_ok:
            try:
                for p in nv.nvmlDeviceGetComputeRunningProcesses(h):
                    if p.pid == self.pid and p.usedGpuMemory is not None:
                        self.proc_peak = max(self.proc_peak or 0, int(p.usedGpuMemory))
            except Exception:
                self.procs_ok = False
        if self.mem_ok and self.proc_peak is None:  # once our pid shows, skip the fallback
            try:
                self.dev_peak = max(self.dev_peak or 0, int(nv.nvmlDeviceGetMemoryInfo(h).used))
            except Exception:
                self.mem_ok = False
        if self.util_ok:
            try:
                self.util_sum += nv.nvmlDeviceGetUtilizationRates(h).gpu
                self.util_n += 1
            except Exception:
                self.util_ok = False
        if self.power_ok:
            try:
                w = nv.nvmlDeviceGetPowerUsage(h) / 1000.0  # milliwatts
                if self.last_w is not None:  # trapezoid rule between samples
                    self.joules += (w + self.last_w) / 2 * (t - self.last_t)
                self.last_t, self.last_w = t, w
            except Exception:
                self.power_ok = False

    def finish(self) -> None:
        """Energy over the trial: the counter's delta, else the integrated power samples."""
        end = None if self.energy0 is None else self._try(
            lambda: self.nv.nvmlDeviceGetTotalEnergyConsumption(self.h))
        integral = self.joules if self.power_ok and self.last_w is not None else None
        if end is not None and end >= self.energy0:
            self.energy_j = (end - self.energy0) / 1000.0  # millijoules
            if self.energy_j == 0 and integral:  # a window shorter than the counter's tick
                self.energy_j = integral
        else:
            self.energy_j = integral

    @property
    def mem_peak(self) -> int | None:
        return self.proc_peak if self.proc_peak is not None else self.dev_peak

    @property
    def util_mean(self) -> float | None:
        return self.util_sum / self.util_n if self.util_n else None


class Monitor:
    """Meters one trial: a daemon thread samples at `hz` between `start()` and `stop()`.

    device_index: CUDA device(s) as this process numbers them; None picks device 0 (or
    torch's current device) when a GPU is visible, and `[]` meters the CPU only. hz=0 takes
    only the start and end samples (no thread).
    """

    def __init__(self, hz: float = 20.0, device_index: int | Sequence[int] | None = None):
        if hz < 0:
            raise ValueError(f"Monitor hz must be >= 0, got {hz!r}")
        self.hz = float(hz)
        if device_index is None:
            self.devices = envinfo.default_devices()
        elif isinstance(device_index, int):
            self.devices = [device_index]
        else:
            self.devices = [int(i) for i in device_index]
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._gpus: list[_Gpu] = []
        self._reset()

    def _reset(self) -> None:
        self.samples_taken = 0
        self.peak_rss: int | None = None
        self.cpu_s: float | None = None
        self.alloc_peak: int | None = None
        self.reserved_peak: int | None = None
        self.t0 = self.t1 = None
        self._next_nvml = 0.0

    # -- lifecycle -------------------------------------------------------------------------
    def __enter__(self) -> Monitor:
        self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def start(self) -> Monitor:
        """Take the first sample and start the sampler thread (when hz > 0)."""
        import psutil

        self._reset()
        self._proc = psutil.Process()
        self._maxrss0 = _ru_maxrss()
        times = os.times()
        self._cpu0 = times.user + times.system
        self.t0 = time.perf_counter()
        self._gpus = self._open_gpus(self.t0)
        self._torch_reset()
        self._sample()
        self._stop.clear()
        if self.hz > 0:
            self._thread = threading.Thread(target=self._loop, name="bench-monitor", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> dict[str, Any]:
        """Stop the thread, take the final sample, and return `stats()`."""
        if self.t0 is None or self.t1 is not None:
            return self.stats()
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5.0)
            self._thread = None
        self._sample()
        self.t1 = time.perf_counter()
        times = os.times()
        self.cpu_s = times.user + times.system - self._cpu0
        maxrss = _ru_maxrss()
        if maxrss is not None and self._maxrss0 is not None and maxrss > self._maxrss0:
            # the kernel's high-water mark rose inside this block: it catches spikes
            # that fell between two samples
            self.peak_rss = max(self.peak_rss or 0, maxrss)
        for gpu in self._gpus:
            gpu.finish()
        self._torch_peaks()
        return self.stats()

    @property
    def elapsed_s(self) -> float | None:
        """Seconds between start() and stop() (or now, while running)."""
        if self.t0 is None:
            return None
        return (self.t1 if self.t1 is not None else time.perf_counter()) - self.t0

    # -- sampling --------------------------------------------------------------------------
    def _loop(self) -> None:
        period = 1.0 / self.hz
        while not self._stop.wait(period):
            self._sample(force=False)

    def _sample(self, force: bool = True) -> None:
        """One sample: RSS always; NVML when `force` (start, stop) or at most NVML_MAX_HZ."""
        try:
            rss = self._proc.memory_info().rss
            self.peak_rss = rss if self.peak_rss is None else max(self.peak_rss, rss)
        except Exception:
            pass  # the process table can refuse a read; the next tick tries again
        t = time.perf_counter()
        if self._gpus and (force or t >= self._next_nvml):
            self._next_nvml = t + 1.0 / NVML_MAX_HZ
            for gpu in self._gpus:
                gpu.sample(t)
        self.samples_taken += 1

    def _open_gpus(self, t0: float) -> list[_Gpu]:
        nv = nvml() if self.devices else None
        if nv is None:
            return []
        gpus = []
        for index in self.devices:
            handle = nvml_handle(nv, index)
            if handle is not None:
                gpus.append(_Gpu(nv, handle, os.getpid(), t0))
        return gpus

    def _torch_reset(self) -> None:
        cuda = envinfo.torch_cuda() if self.devices else None
        self._cuda = cuda
        if cuda is None:
            return
        try:
            for index in self.devices:
                cuda.reset_peak_memory_stats(index)
        except Exception:
            self._cuda = None

    def _torch_peaks(self) -> None:
        if self._cuda is None:
            return
        try:
            self.alloc_peak = sum(int(self._cuda.max_memory_allocated(i)) for i in self.devices)
            self.reserved_peak = sum(int(self._cuda.max_memory_reserved(i)) for i in self.devices)
        except Exception:
            self.alloc_peak = self.reserved_peak = None

    # -- results ---------------------------------------------------------------------------
    def stats(self) -> dict[str, Any]:
        """The `meter` fields this monitor measures (docs/CONTRACTS.md); null when unknown."""
        return {
            "peak_rss_bytes": self.peak_rss,
            "cpu_s": self.cpu_s,
            **self._gpu_stats(),
            "sample_hz": self.hz,
            "samples_taken": self.samples_taken,
        }

    def _gpu_stats(self) -> dict[str, Any]:
        gpus, on_gpu = self._gpus, bool(self._gpus) or getattr(self, "_cuda", None) is not None
        names = [g.name for g in gpus if g.name] or self._torch_names()
        peaks = [g.mem_peak for g in gpus]
        utils = [g.util_mean for g in gpus]
        energies = [g.energy_j for g in gpus]
        energy = sum(energies) if gpus and None not in energies else None
        elapsed = self.elapsed_s
        return {
            "device": "cuda:" + ",".join(map(str, self.devices)) if on_gpu else "cpu",
            "gpu_name": " + ".join(dict.fromkeys(names)) or None,
            "gpu_count": len(self.devices) if on_gpu else 0,
            "nvml_peak_bytes": sum(peaks) if gpus and None not in peaks else None,
            "alloc_peak_bytes": self.alloc_peak,
            "reserved_peak_bytes": self.reserved_peak,
            "gpu_util_mean": sum(utils) / len(utils) if gpus and None not in utils else None,
            # mean power = energy / time (exact), summed over devices like the energy
            "power_mean_w": energy / elapsed if energy is not None and elapsed else None,
            "energy_j": energy,
        }

    def _torch_names(self) -> list[str]:
        cuda = getattr(self, "_cuda", None)
        try:
            return [cuda.get_device_name(i) for i in self.devices] if cuda is not None else []
        except Exception:
            return []


def _ru_maxrss() -> int | None:
    """This process's peak RSS so far in bytes (Linux reports KiB, macOS bytes)."""
    try:
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak if sys.platform == "darwin" else peak * 1024
    except Exception:
        return None
