"""Start-up time of the light commands, and proof that they never import torch.

Times (wall clock, fresh process each time, the commands interleaved round by round):
`bench --help`, `bench validate suites/glue.toml`, `bench ls methods`, and a bare
`python -c pass` for the interpreter's own share. `bench` is the installed console script
run by this Python (a version manager's shim in front of it, such as pyenv's, adds its own
start-up on top, measured separately when one is on PATH). Target: <= 0.5 s each. CPU time
(user + system) of each run is reported beside the wall time: on shared cores the wall time
stretches with other processes' load while the CPU time stays what the command costs.
Each command is also run once under `python -X importtime`, which lists every module it
imported: torch (and transformers, peft, optuna, datasets, pandas) must be absent; the
slowest imports are printed.

    python benchmarks/startup.py [--repeats 15] [--out FILE]
"""
from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import _common as C

HEAVY = ("torch", "transformers", "peft", "optuna", "datasets", "pandas", "accelerate",
         "sklearn", "scipy", "plotly")
COMMANDS = {"--help": ["--help"], "validate glue": ["validate", "suites/glue.toml"],
            "ls methods": ["ls", "methods"]}
TARGET_S = 0.5


def console_script() -> list[str]:
    """The installed `bench` entry point of this interpreter, else `python -m bench.cli`."""
    script = Path(sys.executable).parent / "bench"
    if script.is_file():
        return [sys.executable, str(script)]  # skips a version manager's shim
    return [sys.executable, "-m", "bench.cli"]


CPU: dict[str, list[float]] = {}  # command label -> CPU seconds (user + system) per run


def run(label: str, argv: list[str]) -> float:
    """Wall seconds of one run of `argv` (its CPU seconds go to CPU[label])."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(argv, cwd=C.REPO, capture_output=True, text=True)
    elapsed = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({proc.returncode}):\n{proc.stderr}")
    CPU.setdefault(label, []).append(after.ru_utime - before.ru_utime
                                     + after.ru_stime - before.ru_stime)
    return elapsed


def imports(args: list[str]) -> dict:
    """Modules imported by `bench <args>` (from -X importtime) and the slowest of them."""
    code = ("import sys; sys.argv = ['bench'] + sys.argv[1:]; from bench.cli import main; "
            "sys.exit(main(sys.argv[1:]))")
    proc = subprocess.run([sys.executable, "-X", "importtime", "-c", code, *args],
                          cwd=C.REPO, capture_output=True, text=True)
    rows = []  # (name, nesting level, cumulative µs)
    for line in proc.stderr.splitlines():
        parts = line.split("|")
        if not line.startswith("import time:") or len(parts) != 3 or "cumulative" in line:
            continue
        raw = parts[2][1:]  # "  " per nesting level, then the module name
        name = raw.strip()
        rows.append((name, (len(raw) - len(raw.lstrip())) // 2, int(parts[1])))
    top = {n.split(".")[0] for n, _, _ in rows}
    heavy = sorted(h for h in HEAVY if h in top)
    slow = sorted(((n, c) for n, level, c in rows if level == 0), key=lambda r: -r[1])
    return {"modules": len(rows), "heavy_imported": heavy,
            "slowest_top_level_ms": [(n, c / 1000) for n, c in slow[:8]]}


def main() -> None:
    args = C.parser("startup", __doc__, repeats=15).parse_args()
    repeats = 3 if args.quick else args.repeats
    bench = console_script()
    arms = {"python -c pass": lambda: run("python -c pass", [sys.executable, "-c", "pass"])}
    for label, argv in COMMANDS.items():
        arms[f"bench {label}"] = (lambda a=argv, k=f"bench {label}": run(k, [*bench, *a]))
    shim = shutil.which("bench")
    if shim and os.path.realpath(shim) != os.path.realpath(bench[-1]):
        k = "bench --help via PATH shim"
        arms[k] = lambda: run(k, [shim, "--help"])
    times = C.interleave(arms, repeats)
    found = {label: imports(argv) for label, argv in COMMANDS.items()}
    summary = summarise(times, found, bench, shim)
    print_summary(summary)
    C.write_summary("startup", args.out, summary)


def summarise(times: dict, found: dict, bench: list[str], shim: str | None) -> dict:
    wall = {k: C.spread(v) for k, v in times.items()}
    cpu = {k: C.spread(v[1:]) for k, v in CPU.items()}  # [0]: the warm-up round
    cmds = [k for k in wall if k.startswith("bench ") and "shim" not in k]
    return {"console_script": " ".join(bench), "path_shim": shim, "wall_s": wall,
            "cpu_s": cpu, "load_avg_at_end": [round(x, 2) for x in os.getloadavg()],
            "imports": found, "target": f"each light command <= {TARGET_S} s, no torch",
            "met_wall": all(wall[k]["median"] <= TARGET_S for k in cmds),
            "met_cpu": all(cpu[k]["median"] <= TARGET_S for k in cmds),
            "no_heavy_imports": not any(f["heavy_imported"] for f in found.values())}


def print_summary(s: dict) -> None:
    rows = [[k, v["median"], v["min"], v["max"], s["cpu_s"][k]["median"]]
            for k, v in s["wall_s"].items()]
    print(C.table(rows, ["command", "wall median s", "wall min s", "wall max s",
                         "CPU median s"]))
    for label, f in s["imports"].items():
        slow = ", ".join(f"{n} {ms:.0f} ms" for n, ms in f["slowest_top_level_ms"][:5])
        print(f"bench {label}: {f['modules']} modules, heavy: {f['heavy_imported'] or 'none'};"
              f" slowest: {slow}")
    print(f"load average {s['load_avg_at_end']} on {os.cpu_count()} cores; target <= "
          f"{TARGET_S} s: wall {'met' if s['met_wall'] else 'NOT met'}, CPU "
          f"{'met' if s['met_cpu'] else 'NOT met'}; no heavy import: {s['no_heavy_imports']}")


if __name__ == "__main__":
    main()
