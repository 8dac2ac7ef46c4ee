"""The environment stamp of a record (`env`): code version, package versions, hardware.

`environment()` is called once per trial and cached per process: the first call runs git
twice and reads /proc (tens of milliseconds), later calls return a copy of the cached dict.
Package versions come from installed metadata, so nothing heavy is imported.
"""
from __future__ import annotations

import copy
import os
import platform
import socket
import subprocess
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
    from bench.monitor import nvml

    nv = nvml()
    if nv is None:
        return []
    gpus = []
    try:
        for i in range(nv.nvmlDeviceGetCount()):
            h = nv.nvmlDeviceGetHandleByIndex(i)
            name = nv.nvmlDeviceGetName(h)
            gpus.append({"name": name.decode() if isinstance(name, bytes) else str(name),
                         "memory_bytes": int(nv.nvmlDeviceGetMemoryInfo(h).total)})
    except Exception:  # a lost GPU or a driver error: report what was read so far
        pass
    return gpus
