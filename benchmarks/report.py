"""`bench report` over 10,000 synthetic trial records: wall time of the command, by phase.

The run is GLUE-shaped: 3 models × 8 tasks × 15 methods = 360 cells, each with 25 tuning
trials (about a fifth pruned, a few failed; 6 evaluation points of history each) and
3 final records whose per-example predictions (dev-set sized, up to 1,000 examples) feed
the paired bootstrap: 10,080 records, every one a full schema-1 record
(`bench.records.new_record`). Measured: `bench report RUN_DIR` end to end in a fresh
process (median of repeats; target: a few seconds), wall and CPU seconds (on a shared
machine the CPU time is the steadier figure), and in-process the time of each phase
(loading, aggregation, sections, HTML, markdown) and of each section.

    python benchmarks/report.py [--repeats 3] [--records-only DIR] [--out FILE]
"""
from __future__ import annotations

import math
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _common as C

MODELS = {"minilm": 22_700_000, "mpnet": 109_500_000, "roberta-base": 124_600_000}
TASKS = {"cola": 1043, "sst2": 872, "mrpc": 408, "stsb": 1500, "qqp": 1000, "mnli": 1000,
         "qnli": 1000, "rte": 277}
METHODS = {"full": 1.0, "linear_probe": 0.0001, "partial": 0.2, "bitfit": 0.001,
           "adapter": 0.01, "lora": 0.004, "qlora": 0.004, "dora": 0.0045, "vera": 0.0002,
           "loha": 0.006, "lokr": 0.002, "adalora": 0.005, "ia3": 0.0003, "prefix": 0.01,
           "prompt": 0.0001}
TRIALS, SEEDS, POINTS = 25, (0, 1, 2), 6


def env() -> dict:
    return {"git_commit": "0" * 40, "git_dirty": False, "versions": {"torch": "2.13.0"},
            "hardware": {"cpu": "synthetic", "cores": 16, "ram_bytes": 2**37, "gpus": []},
            "python": "3.11.7", "platform": "linux", "hostname": "synthetic"}


def cell(model: str, task: str, method: str) -> dict:
    return {"cell_id": f"{model}-{task}-{method}", "model": model, "model_ref": model,
            "dtype": "float32", "quantization": "nf4" if method == "qlora" else None,
            "task": task, "task_kind": "regression" if task == "stsb" else "classification",
            "method": method, "label": method, "options": {},
            "train": {"epochs": 3, "batch_size": 32, "eval_points": POINTS},
            "search": {"lr": {"low": 1e-5, "high": 1e-2, "log": True}}}


def meter(rng: random.Random, total: int, share: float, steps: int) -> dict:
    train_s = steps * (0.05 + 0.1 * share) * rng.uniform(0.9, 1.1)
    return {"wall_load_s": rng.uniform(0.5, 2), "wall_train_s": train_s,
            "wall_eval_s": train_s / 5, "train_steps": steps, "train_samples": steps * 32,
            "train_tokens": steps * 32 * 60, "samples_per_s": steps * 32 / train_s,
            "tokens_per_s": steps * 1920 / train_s, "peak_rss_bytes": 2**31,
            "cpu_s": train_s * 1.1, "device": "cuda:0", "gpu_name": "NVIDIA H100 80GB HBM3",
            "gpu_count": 1, "nvml_peak_bytes": int(total * 16 * (0.3 + share)),
            "alloc_peak_bytes": int(total * 14 * (0.3 + share)),
            "reserved_peak_bytes": int(total * 15 * (0.3 + share)), "gpu_util_mean": 80.0,
            "power_mean_w": 400.0, "energy_j": 400.0 * train_s, "mfu": 0.3 * rng.random(),
            "flops": 1e15, "sample_hz": 20, "samples_taken": int(train_s * 20)}


def cell_records(rng: random.Random, model: str, task: str, method: str) -> list[dict]:
    """25 tuning trials and 3 finals of one cell, as `bench run` would write them."""
    from bench.records import new_record

    c, total, share = cell(model, task, method), MODELS[model], METHODS[method]
    metric = "pearson" if task == "stsb" else "accuracy"
    quality = 0.6 + 0.3 * rng.random()
    steps, out = 600, []
    base = dict(run_id="synthetic", suite="glue", cell=c, primary=metric, env=env(),
                suite_path="suites/glue.toml", trials_budget=TRIALS, worker="host:1")
    counts = {"trainable": int(total * share), "method": int(total * share), "head": 0,
              "total": total, "percent": 100 * share, "stored_bytes": int(4 * total * share)}
    for t in range(TRIALS):
        lr = 10 ** rng.uniform(-5, -2)
        final = quality - 0.05 * abs(math.log10(lr) + 3.5) + rng.gauss(0, 0.01)
        hist = [{"step": steps * (k + 1) // POINTS, "value": final * (0.7 + 0.3 * (k + 1) / POINTS)}
                for k in range(POINTS)]
        status = "failed" if rng.random() < 0.03 else ("pruned" if rng.random() < 0.2 else
                                                       "complete")
        cut = rng.randint(1, POINTS - 1) if status == "pruned" else POINTS
        out.append(new_record(**base, phase="tune", trial=t, seed=0, split="validation",
                              params={"lr": lr}, status=status, history=hist[:cut],
                              metrics={metric: final, "loss": 1 - final}
                              if status == "complete" else {},
                              objective=final if status == "complete" else None,
                              reason="diverged: loss nan" if status == "failed" else None,
                              counts=counts, meter=meter(rng, total, share, steps * cut // POINTS),
                              started_at=1_764_000_000 + t, finished_at=1_764_000_060 + t))
    for seed in SEEDS:
        n, acc = TASKS[task], quality + rng.gauss(0, 0.005)
        labels = ([rng.random() * 5 for _ in range(n)] if task == "stsb"
                  else [i % 2 for i in range(n)])
        preds = ([y + rng.gauss(0, 0.5) for y in labels] if task == "stsb" else
                 [y if rng.random() < acc else 1 - y for y in labels])
        out.append(new_record(**base, phase="final", trial=0, seed=seed, split="test",
                              params={"lr": 3e-4}, status="complete",
                              metrics={metric: acc, "loss": 1 - acc}, objective=acc,
                              predictions={"preds": preds, "labels": labels}, counts=counts,
                              meter=meter(rng, total, share, steps)))
    return out


def write_run(folder: Path) -> int:
    """Write the synthetic run folder; the number of records."""
    import json

    rng = random.Random(0)
    folder.mkdir(parents=True, exist_ok=True)
    n = 0
    with open(folder / "records.jsonl", "w") as fh:
        for model in MODELS:
            for task in TASKS:
                for method in METHODS:
                    for rec in cell_records(rng, model, task, method):
                        fh.write(json.dumps(rec, separators=(",", ":")) + "\n")
                        n += 1
    (folder / "suite.toml").write_text('[suite]\nname = "glue"\n')
    return n


def command(run_dir: Path, out: Path) -> tuple[float, float]:
    """(wall, CPU) seconds of `bench report RUN_DIR --out OUT` in a fresh process."""
    code = ("import sys; from bench.cli import main; sys.exit(main(sys.argv[1:]))")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", code, "report", str(run_dir), "--out",
                           str(out)], cwd=C.REPO, capture_output=True, text=True)
    elapsed = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"bench report failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed, cpu


def timed_sections(data: object) -> tuple[list, dict[str, float]]:
    """`build_sections(data)` with the seconds of each section function alongside."""
    from bench.report import sections as S

    seconds: dict[str, float] = {}

    def timer(fn):
        def run(d):
            t0 = time.perf_counter()
            out = fn(d)
            seconds[fn.__name__] = time.perf_counter() - t0
            return out
        return run

    original = list(S.SECTIONS)
    S.SECTIONS[:] = [timer(fn) for fn in original]
    try:
        return S.build_sections(data), seconds
    finally:
        S.SECTIONS[:] = original


def phases(run_dir: Path, out: Path) -> tuple[dict[str, float], dict[str, float]]:
    """Seconds of each phase of `bench.report.build`, and of each section, in this process
    (imports warm)."""
    from bench.report import html, markdown, title_of
    from bench.report.aggregate import ReportData
    from bench.report.load import load_runs

    t = {}
    t0 = time.perf_counter()
    dirs, records = load_runs([run_dir])
    t["load records"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    data = ReportData.build(dirs, records)
    t["aggregate"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    sections, per_section = timed_sections(data)
    t["sections"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    page = html.render(title_of(data), sections)
    t["html"] = time.perf_counter() - t0
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    markdown.render(title_of(data), sections, out)
    t["markdown"] = time.perf_counter() - t0
    t["html_bytes"] = len(page.encode())
    return t, per_section


def main() -> None:
    p = C.parser("report", __doc__, repeats=3)
    p.add_argument("--records-only", metavar="DIR", help="only write the synthetic run")
    args = p.parse_args()
    folder = Path(args.records_only or tempfile.mkdtemp(prefix="bench-report-"))
    t0 = time.perf_counter()
    n = write_run(folder / "run")
    print(f"{n} records written to {folder / 'run'} in {time.perf_counter() - t0:.1f} s "
          f"({(folder / 'run' / 'records.jsonl').stat().st_size / 2**20:.0f} MiB)")
    if args.records_only:
        return
    repeats = 1 if args.quick else args.repeats
    runs = [command(folder / "run", folder / f"out{i}") for i in range(repeats)]
    walls, cpus = [w for w, _ in runs], [c for _, c in runs]
    inproc, per_section = phases(folder / "run", folder / "phases")
    summary = {"records": n, "records_mib": (folder / "run" / "records.jsonl").stat().st_size
               / 2**20, "command_wall_s": C.spread(walls), "command_cpu_s": C.spread(cpus),
               "phases_s": inproc, "sections_s": per_section,
               "target": "bench report over 10,000 records in a few seconds"}
    rows = [["bench report (fresh process), wall", C.median(walls)],
            ["bench report (fresh process), CPU", C.median(cpus)]] + [
        [f"  in-process: {k}", v] for k, v in inproc.items() if k != "html_bytes"] + [
        [f"    section {k}", v] for k, v in per_section.items()]
    print(C.table(rows, ["phase", "seconds"]))
    print(f"HTML page: {inproc['html_bytes'] / 2**20:.1f} MiB")
    C.write_summary("report", args.out, summary)


if __name__ == "__main__":
    main()
