"""One rank of a data-parallel `fit` for tests/test_team.py, started by torchrun (or alone).

    torchrun --nproc_per_node 2 tests/team_worker.py MODE OUT_DIR

MODE "train": fit a dropout-free tiny BERT on 21 examples (odd batches, accumulation) and
save the final weights and the FitResult counts from rank 0 to OUT_DIR/<world size>.pt.
MODE "prune": the leader's on_eval raises at the first evaluation point; every rank
writes the exception it saw to OUT_DIR/prune-<rank>.txt.
MODE "nan": rank 1 alone feeds a NaN label weight at step 3 (a poisoned loss); every rank
writes what it raised to OUT_DIR/nan-<rank>.txt.
MODE "teardown": with the garbage collector off, a DDP wrapper left in a reference cycle
(as a trial's can be); after `Team.close()` every rank writes how many DDP objects are still
alive to OUT_DIR/teardown-<rank>.txt (freed after the process group, they abort the rank).
"""
from __future__ import annotations

import os
import sys
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, os.path.dirname(__file__))

import torch  # noqa: E402

from bench.defaults import TrainSpec  # noqa: E402
from bench.methods._base import Applied  # noqa: E402
from bench.team import join  # noqa: E402
from bench.train import fit  # noqa: E402
from tiny import bert_config, minilm_tokenizer  # noqa: E402


def examples(n: int) -> list[dict]:
    tok = minilm_tokenizer()
    words = ["good", "bad", "film", "plot", "great", "awful", "the", "story"]
    out = []
    for i in range(n):
        text = " ".join(words[(i * k) % len(words)] for k in range(1, 3 + i % 4))
        enc = tok(text, truncation=True, max_length=16)
        out.append({**{k: list(v) for k, v in enc.items()}, "labels": i % 2})
    return out


def model():
    from transformers import BertForSequenceClassification

    cfg = bert_config(2)
    cfg.hidden_dropout_prob = cfg.attention_probs_dropout_prob = 0.0
    torch.manual_seed(0)
    return BertForSequenceClassification(cfg)


class Poison(torch.nn.Module):
    """Wraps a model: on rank 1 the loss of the 3rd forward pass becomes NaN."""

    def __init__(self, inner, rank: int):
        super().__init__()
        self.inner, self.rank, self.calls = inner, rank, 0

    def forward(self, **batch):
        out = self.inner(**batch)
        self.calls += 1
        if self.rank == 1 and self.calls == 3:
            out.loss = out.loss * float("nan")
        return out


def teardown(team, out: Path) -> None:
    import gc

    from torch.nn.parallel import DistributedDataParallel as DDP

    gc.disable()
    box: dict = {"ddp": DDP(model())}
    box["self"] = box
    del box
    team.close()
    alive = sum(isinstance(o, DDP) for o in gc.get_objects())
    (out / f"teardown-{team.rank}.txt").write_text(str(alive))


def main(mode: str, out: Path) -> None:
    from transformers import DataCollatorWithPadding

    team = join()
    if mode == "teardown":
        return teardown(team, out)
    rank, size = (team.rank, team.size) if team else (0, 1)
    collate = DataCollatorWithPadding(minilm_tokenizer())
    spec = replace(TrainSpec(), batch_size=8, grad_accum=2, lr=1e-3, warmup_ratio=0.0,
                   epochs=2, eval_points=2, precision="fp32")
    net = model()
    if mode == "nan":
        net = Poison(net, rank)
    evaluate = (lambda m, v: {"accuracy": 0.5}) if mode != "train" else None

    def on_eval(step, metrics):
        raise RuntimeError(f"pruned at step {step}")

    try:
        result = fit(Applied(model=net, save=lambda d: None), examples(21), examples(4), spec,
                     collate=collate, evaluate_fn=evaluate, seed=0, team=team,
                     on_eval=on_eval if mode == "prune" and rank == 0 else None)
    except Exception as exc:
        (out / f"{mode}-{rank}.txt").write_text(f"{type(exc).__name__}: {exc}")
    else:
        if mode == "train" and rank == 0:
            torch.save({"state": net.state_dict(), "samples": result.train_samples,
                        "tokens": result.train_tokens, "steps": result.steps},
                       out / f"{size}.pt")
    if team is not None:
        team.close()


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]))
