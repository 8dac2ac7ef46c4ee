"""Data-parallel trials: the ranks of one `torchrun` / `accelerate launch` train each trial
together, every micro-batch split over them (DistributedDataParallel through accelerate).

Rank 0, the leader, is an ordinary bench worker: it alone talks to the storage, claims
trials, decides pruning and writes records. Before each trial it broadcasts an order (cell
id, parameters, seed, split); the other ranks, the followers, train the same trial on their
share of each micro-batch and hand their meters back (`bench.follow`). The ranks meet, in
the same order on every rank, only at these points:

1. the order (one broadcast per trial; `None` ends the followers' loop);
2. a readiness vote once the model and method are built, so a rank that failed to build
   them (an unavailable method, a load error) stops every rank together;
3. DistributedDataParallel's gradient all-reduce (once per optimizer step);
4. a divergence vote at each loss check (every CHECK_EVERY steps), so a NaN on one rank
   stops all of them at the same step;
5. the leader's verdict after each evaluation (go on, or stop: pruned, or its evaluation
   failed), evaluation running on the leader alone;
6. the sample and token counts, summed at the end of training, and the meters, gathered
   after the trial.

A failure anywhere else (an out-of-memory error inside a step on one rank) leaves the other
ranks waiting inside a collective: the team is then *broken*, the leader records the trial
as failed, and the launch ends with exit 1; relaunching with the same --run-id goes on with
the next trial (docs/scale-out.md).
"""
from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Iterator, Sequence

from bench.errors import BenchError

# How long a rank waits at a coordination point. Followers wait there while the leader
# evaluates, runs its final test evaluation, or waits for other workers' trials: an hour
# of silence is normal on a shared study, a day is not.
TIMEOUT = timedelta(hours=12)


class Stop(RuntimeError):
    """Another rank stopped this trial at a coordination point (every rank stops here)."""

    coordinated = True


class Broken(BenchError):
    """A rank failed outside a coordination point: the launch cannot go on (exit 1, with
    the reason; the failed trial is recorded, relaunching continues the run)."""

    exit_code = 1


@dataclass
class Team:
    """This process's place in a data-parallel launch: rank `rank` of `size`."""

    rank: int
    size: int
    device: Any = None  # where collective tensors live (cuda:LOCAL_RANK with NCCL)
    broken: bool = False

    @property
    def leader(self) -> bool:
        return self.rank == 0

    def broadcast(self, obj: Any = None) -> Any:
        """The leader's `obj` on every rank (pickled; small objects only)."""
        from accelerate.utils import broadcast_object_list

        box = [obj]
        broadcast_object_list(box, from_process=0)
        return box[0]

    def gather(self, obj: Any) -> list[Any]:
        """Every rank's `obj`, in rank order, on every rank."""
        from accelerate.utils import gather_object

        return list(gather_object([obj]))

    def reduce(self, values: Sequence[float], op: str) -> list[float]:
        """Element-wise "sum" / "min" of `values` over the ranks."""
        import torch
        import torch.distributed as dist

        t = torch.tensor([float(v) for v in values], dtype=torch.float64, device=self.device)
        dist.all_reduce(t, op={"sum": dist.ReduceOp.SUM, "min": dist.ReduceOp.MIN}[op])
        return t.tolist()

    def agree(self, ok: bool) -> bool:
        """True when every rank says ok."""
        return self.reduce([1.0 if ok else 0.0], "min")[0] == 1.0

    def shard(self, idx: list[int]) -> tuple[list[int], float]:
        """This rank's share of a micro-batch and the weight of its mean loss.

        DDP averages the ranks' gradients; weighting each rank's mean loss by
        size × (its examples / the batch's) makes that average the gradient of the whole
        micro-batch's mean loss, so a trial means the same on 1 or N devices. A rank left
        without an example (a batch smaller than the team) runs one with weight 0.
        """
        mine = idx[self.rank::self.size]
        if not mine:
            return idx[:1], 0.0
        return mine, self.size * len(mine) / len(idx)

    def close(self) -> None:
        """Leave the process group (a rank exiting without this aborts in gloo/NCCL).

        The garbage collector runs first: a trial's DistributedDataParallel wrapper, kept
        alive by a reference cycle, holds the process group, and when the interpreter's
        exit freed it after the group was destroyed, the rank died in the C++ teardown
        ("terminate called without an active exception", SIGABRT), failing a launch whose
        work was all done. A 2-rank script that trains DDP models and exits aborted so in
        5 of 18 runs, and in none of 18 with the collection."""
        import gc

        import torch.distributed as dist

        if dist.is_initialized():
            gc.collect()
            dist.destroy_process_group()

    @contextmanager
    def section(self) -> Iterator[None]:
        """Code between coordination points: an uncoordinated failure breaks the team."""
        try:
            yield
        except BaseException as exc:
            if not getattr(exc, "coordinated", False):
                self.broken = True
            raise


def peer_failed(exc: BaseException) -> bool:
    """True when `exc` is a collective failing because another rank is gone (its process
    crashed or was killed): NCCL raises torch.distributed's DistError family, gloo a
    RuntimeError naming its transport."""
    import torch.distributed as dist

    dist_error = getattr(dist, "DistError", ())
    return isinstance(exc, dist_error) or (isinstance(exc, RuntimeError) and any(
        word in str(exc) for word in ("gloo/transport", "Connection closed by peer",
                                      "NCCL communicator was aborted")))


def coordinated(exc: BaseException) -> BaseException:
    """Mark `exc` as raised on every rank at the same coordination point."""
    try:
        exc.coordinated = True  # type: ignore[attr-defined]
    except AttributeError:
        pass
    return exc


def launched() -> bool:
    """True inside a multi-process launch (torchrun, accelerate launch)."""
    world = os.environ.get("WORLD_SIZE", "1")
    return os.environ.get("LOCAL_RANK") is not None and world.isdigit() and int(world) > 1


def join() -> Team | None:
    """This process's Team under torchrun / accelerate launch (initialising the process
    group: NCCL on GPUs, gloo on CPU), or None in a plain process."""
    if not launched():
        return None
    import torch
    from accelerate import PartialState

    state = PartialState(cpu=not torch.cuda.is_available(), timeout=TIMEOUT)
    return Team(rank=state.process_index, size=state.num_processes, device=state.device)


def ready(team: Team | None, build: Any) -> Any:
    """`build()` on every rank; all go on only if it succeeded on all of them.

    A rank whose build failed raises its own error, the others raise Stop: either way
    every rank leaves the trial at this point, so none waits for the rest in a collective.
    """
    if team is None:
        return build()
    try:
        out = build()
    except Exception as exc:
        team.agree(False)
        raise coordinated(exc)
    if not team.agree(True):
        raise Stop("another rank failed to prepare this trial (see its log)")
    return out


def merge_meters(stats: list[dict[str, Any]]) -> dict[str, Any]:
    """One trial's meter from its ranks' Monitor stats: memory, energy, CPU time and device
    counts summed (the trial's footprint on all its devices), utilisation averaged."""
    if len(stats) == 1:
        return dict(stats[0])
    out = dict(stats[0])
    for key in ("peak_rss_bytes", "cpu_s", "nvml_peak_bytes", "alloc_peak_bytes",
                "reserved_peak_bytes", "energy_j", "power_mean_w", "gpu_count",
                "samples_taken"):
        values = [s.get(key) for s in stats]
        out[key] = None if None in values else sum(values)
    utils = [s.get("gpu_util_mean") for s in stats]
    out["gpu_util_mean"] = None if None in utils else sum(utils) / len(utils)
    devices = [s.get("device") or "cpu" for s in stats]
    gpus = all(d.startswith("cuda:") for d in devices)
    out["device"] = "cuda:" + ",".join(d[5:] for d in devices) if gpus else devices[0]
    names = [s.get("gpu_name") for s in stats if s.get("gpu_name")]
    out["gpu_name"] = " + ".join(dict.fromkeys(names)) or None
    out["ranks"] = len(stats)
    return out
