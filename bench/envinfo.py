"""The machine and code a run is on: the record's `env` stamp and GPU discovery via NVML.

`environment()` is called once per trial and cached per process: the first call runs git
twice and reads /proc (tens of milliseconds), later calls return a copy of the cached dict.
Package versions come from installed metadata, so nothing heavy is imported. `nvml()` and
`nvml_handle()` find GPUs for this stamp and for `bench.monitor`.
"""
from __future__ import annotations

import copy
import os
import platform
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

PACKAGES = ("torch", "transformers", "peft", "accelerate", "datasets", "optuna",
            "bitsandbytes", "pandas", "bench")

_CACHE: dict[str, Any] = {}


def environment(refresh: bool = False) -> dict[str, Any]:
    """The record's `env`: git_commit, git_dirty, versions, hardware, python, platform, hostname.

    Unknown values are null (no git, not a repository, a package not installed).
    """
    if refresh or "env" not in _CACHE:
        commit, dirty = git_state(Path(__file__).resolve().parent)
        _CACHE["env"] = {
            "git_commit": commit,
            "git_dirty": dirty,
            "versions": versions(),
            "hardware": hardware(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "hostname": socket.gethostname(),
        }
    return copy.deepcopy(_CACHE["env"])  # callers may edit their record's copy


def git_state(path: str | os.PathLike[str]) -> tuple[str | None, bool | None]:
    """(commit, dirty) of the git working tree holding `path`; (None, None) outside one.

    Dirty means tracked files differ from the commit (staged or not), as `git describe
    --dirty` has it; untracked files (results, scratch) do not count.
    """
    commit = _git(path, "rev-parse", "HEAD")
    if commit is None:
        return None, None
    status = _git(path, "status", "--porcelain", "--untracked-files=no")
    return commit, None if status is None else bool(status)


def _git(path: str | os.PathLike[str], *args: str) -> str | None:
    try:
        done = subprocess.run(["git", "-C", str(path), *args], capture_output=True, text=True,
                              timeout=10, env={**os.environ, "GIT_OPTIONAL_LOCKS": "0"})
    except (OSError, subprocess.SubprocessError):  # no git binary, hung filesystem
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def versions(packages: tuple[str, ...] = PACKAGES) -> dict[str, str | None]:
    """Installed version of each package (None when absent), read without importing it."""
    from importlib import metadata

    found: dict[str, str | None] = {}
    for name in packages:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    if "bench" in found and found["bench"] is None:  # a checkout without `pip install -e`
        import bench

        found["bench"] = bench.__version__
    return found


def hardware() -> dict[str, Any]:
    """cpu model, cores (logical CPUs this process may use), ram_bytes, gpus [{name, memory_bytes}]."""
    import psutil

    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # macOS has no affinity call
        cores = os.cpu_count()
    return {"cpu": _cpu_model(), "cores": cores,
            "ram_bytes": int(psutil.virtual_memory().total), "gpus": _gpus()}


def _cpu_model() -> str | None:
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or None


def _gpus() -> list[dict[str, Any]]:
    """GPUs NVML sees (every device on the machine, not only CUDA_VISIBLE_DEVICES)."""
    nv = nvml()
    if nv is None:
        return []
    gpus = []
    try:
        for i in range(nv.nvmlDeviceGetCount()):
            h = nv.nvmlDeviceGetHandleByIndex(i)
            gpus.append({"name": text(nv.nvmlDeviceGetName(h)),
                         "memory_bytes": int(nv.nvmlDeviceGetMemoryInfo(h).total)})
    except Exception:  # a lost GPU or a driver error: report what was read so far
        pass
    return gpus


def text(value: Any) -> str:
    """A name NVML returned: bytes from older nvidia-ml-py, str from newer."""
    return value.decode() if isinstance(value, bytes) else str(value)


# -- NVML: GPU discovery shared with bench.monitor ----------------------------------------
_NVML: dict[str, Any] = {}  # {"mod": pynvml | None} once nvml() has run in this process


def nvml() -> Any | None:
    """The initialised `pynvml` module (from nvidia-ml-py), or None where NVML cannot run.

    Initialised once per process and never shut down: init costs tens of milliseconds and
    trials come one after another, so each Monitor reuses it.
    """
    if "mod" not in _NVML:
        _NVML["mod"] = _init_nvml()
    return _NVML["mod"]


def reset_nvml() -> None:
    """Forget the cached NVML state (tests swap in fakes; a forked child may re-init)."""
    _NVML.clear()


def _init_nvml() -> Any | None:
    try:
        import warnings

        with warnings.catch_warnings():  # the deprecated `pynvml` shim package warns
            warnings.simplefilter("ignore")
            import pynvml
        pynvml.nvmlInit()
        return pynvml
    except Exception:  # no library, no driver, no permission: the GPU fields stay null
        return None


def torch_cuda() -> Any | None:
    """torch.cuda if torch is already imported and sees a device; we never import torch."""
    torch = sys.modules.get("torch")
    try:
        return torch.cuda if torch is not None and torch.cuda.is_available() else None
    except Exception:
        return None


def nvml_handle(nv: Any, cuda_index: int) -> Any | None:
    """The NVML handle of CUDA device `cuda_index` as this process numbers it.

    CUDA numbers devices after CUDA_VISIBLE_DEVICES (indices or UUIDs) while NVML numbers
    all of them, so map through the PCI bus id when torch already holds a CUDA context, else
    through CUDA_VISIBLE_DEVICES.
    """
    cuda = torch_cuda()
    try:
        if cuda is not None and cuda.is_initialized():
            p = cuda.get_device_properties(cuda_index)
            bus = f"{p.pci_domain_id:08x}:{p.pci_bus_id:02x}:{p.pci_device_id:02x}.0"
            return nv.nvmlDeviceGetHandleByPciBusId(bus)
    except Exception:
        pass  # older torch without pci ids: fall through to the environment mapping
    try:
        visible = os.environ.get("CUDA_VISIBLE_DEVICES")
        if visible is None:
            return nv.nvmlDeviceGetHandleByIndex(cuda_index)
        entries = [e.strip() for e in visible.split(",") if e.strip()]
        if cuda_index >= len(entries):
            return None
        entry = entries[cuda_index]
        if entry.isdigit():
            return nv.nvmlDeviceGetHandleByIndex(int(entry))
        return nv.nvmlDeviceGetHandleByUUID(entry)
    except Exception:
        return None


def default_devices() -> list[int]:
    """Device 0 (or torch's current device) when this process can see a GPU, else none."""
    cuda = torch_cuda()
    if cuda is not None:
        try:
            return [cuda.current_device() if cuda.is_initialized() else 0]
        except Exception:
            return [0]
    nv = nvml()
    return [0] if nv is not None and nvml_handle(nv, 0) is not None else []
