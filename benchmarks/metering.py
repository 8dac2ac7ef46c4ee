"""Cost of metering: training step time with the `Monitor` sampler at 0, 20 and 100 Hz.

The same cell as benchmarks/overhead.py (real MiniLM + LoRA on real SST-2, batch 16) is
trained by `bench.train.fit` inside `bench.monitor.Monitor(hz)`, the three rates
interleaved round by round in one process. Step times are taken inside the loop, after
its first 8 steps (from `fit`'s progress callbacks). Reported per rate: the median step
time, the per-round slowdown against 0 Hz in wall time and in process CPU time per step
(the CPU time includes the sampler thread's own work and is far steadier on shared cores;
target <= 1% at 20 Hz, bench's default), and the sampler's direct cost: microseconds per
sample (`Monitor._sample`, timed in a tight loop) times the rate, i.e. the share of one
core the sampler thread itself takes.

    python benchmarks/metering.py [--steps 24] [--repeats 16] [--out FILE]
"""
from __future__ import annotations

import time

import _common as C

RATES = (0.0, 20.0, 100.0)


def train_once(cell, cache, hz: float) -> dict:
    """One fit inside a Monitor at `hz`: wall and process-CPU seconds per optimizer step
    of the loop after its first CHECK_EVERY steps (timed from fit's progress callbacks, so
    set-up, warm-up and clean-up are left out; the sampler thread's CPU is included)."""
    from bench.methods import METHODS
    from bench.methods._base import Context
    from bench.monitor import Monitor
    from bench.train import fit
    from bench.trial import fresh_model

    spec = cell.train
    model = fresh_model(cache, 0)
    applied = METHODS["lora"](model, Context(kind="seq_cls", total_steps=spec.max_steps),
                              **cell.options)
    marks: list[tuple[int, float, float]] = []  # (step, wall, process CPU)

    def mark(step: int, total: int) -> None:
        marks.append((step, time.perf_counter(), time.process_time()))

    with Monitor(hz=hz) as mon:
        result = fit(applied, cache.prepared.train, [], spec, collate=cache.prepared.collate,
                     progress=mark)
    stats = mon.stats()
    (s0, w0, c0), (s1, w1, c1) = marks[0], marks[-1]
    return {"step_s": (w1 - w0) / (s1 - s0), "cpu_step_s": (c1 - c0) / (s1 - s0),
            "samples_taken": stats["samples_taken"],
            "peak_rss_bytes": stats["peak_rss_bytes"], "train_s": result.train_s}


def sample_cost_us(n: int = 2000) -> dict:
    """Microseconds one sampler tick costs (RSS read, plus NVML reads on a GPU)."""
    from bench.monitor import Monitor

    mon = Monitor(hz=0).start()
    costs = []
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(n):
            mon._sample()
        costs.append((time.perf_counter() - t0) / n * 1e6)
    mon.stop()
    return C.spread(costs)


def main() -> None:
    from overhead import build

    p = C.parser("metering", __doc__, repeats=16)
    p.add_argument("--steps", type=int, default=24, help="optimizer steps per fit (> 8)")
    args = p.parse_args()
    steps = 16 if args.quick else args.steps
    repeats = 2 if args.quick else args.repeats
    C.quiet()
    cell, cache = build(steps)
    runs: dict[float, list[dict]] = {hz: [] for hz in RATES}

    def arm(hz):
        def go():
            r = train_once(cell, cache, hz)
            runs[hz].append(r)
            return r["step_s"]
        return go

    C.interleave({f"{hz:g} Hz": arm(hz) for hz in RATES}, repeats)
    summary = summarise({hz: rs[1:] for hz, rs in runs.items()}, sample_cost_us(), steps)
    print_summary(summary)
    C.write_summary("metering", args.out, summary)


def summarise(runs: dict[float, list[dict]], cost: dict, steps: int) -> dict:
    base = [r["step_s"] for r in runs[0.0]]
    base_cpu = [r["cpu_step_s"] for r in runs[0.0]]
    rates = {}
    for hz, rs in runs.items():
        times = [r["step_s"] for r in rs]
        slow = [x - 1.0 for x in C.paired_ratios(times, base)]
        cpu = [r["cpu_step_s"] for r in rs]
        rates[f"{hz:g}"] = {
            "step_s": C.spread(times), "slowdown_vs_0hz": C.spread(slow),
            "cpu_step_s": C.spread(cpu),
            "cpu_slowdown_vs_0hz": C.spread([x - 1.0 for x in C.paired_ratios(cpu, base_cpu)]),
            "slowdown_ratio_of_medians": C.median(times) / C.median(base) - 1.0,
            "samples_taken": C.median([r["samples_taken"] for r in rs]),
            "direct_cost_share_of_core": hz * cost["median"] * 1e-6,
        }
    return {"cell": {"model": "all-MiniLM-L6-v2", "method": "lora r=8", "task": "SST-2",
                     "batch_size": 16, "steps_per_fit": steps},
            "sample_cost_us": cost, "rates": rates,
            "target": "slowdown at 20 Hz <= 1% (wall and CPU time per step)",
            "met": rates["20"]["slowdown_vs_0hz"]["median"] <= 0.01
            and rates["20"]["cpu_slowdown_vs_0hz"]["median"] <= 0.01}


def print_summary(s: dict) -> None:
    rows = []
    for hz, r in s["rates"].items():
        sl = r["slowdown_vs_0hz"]
        cs = r["cpu_slowdown_vs_0hz"]
        rows.append([hz, r["step_s"]["median"], f"{100 * sl['median']:+.2f}%",
                     f"{100 * sl['q1']:+.1f}%…{100 * sl['q3']:+.1f}%",
                     f"{100 * cs['median']:+.2f}%",
                     f"{100 * cs['q1']:+.1f}%…{100 * cs['q3']:+.1f}%",
                     f"{100 * r['direct_cost_share_of_core']:.3f}%", r["samples_taken"]])
    print(C.table(rows, ["Hz", "step s (median)", "wall slowdown (median of paired)",
                         "wall IQR", "CPU-time slowdown", "CPU IQR", "sampler CPU (direct)",
                         "samples/fit"]))
    print(f"one sample costs {s['sample_cost_us']['median']:.1f} µs")
    print(f"target <= 1% at 20 Hz: {'met' if s['met'] else 'NOT met'}")


if __name__ == "__main__":
    main()
