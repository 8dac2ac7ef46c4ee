"""Full fine-tuning: every parameter of the model trains (the baseline all methods chase)."""
from __future__ import annotations

import os
from typing import Any

from bench.methods._base import Applied, Context, method


@method(family="full", paper="Devlin et al. 2018, arXiv:1810.04805", lr=(1e-5, 2e-4),
        identity=True)
def apply(model: Any, ctx: Context) -> Applied:
    from functools import partial

    from bench.methods._common import head_names, train_only

    head = head_names(model, ctx.kind)
    train_only(model, lambda name, p: p.is_floating_point())
    return Applied(model=model, save=model.save_pretrained, load=partial(_load, model),
                   head_names=head)


def _load(model: Any, folder: str) -> None:
    """Load the weights `save_pretrained` wrote (all shards) into `model`."""
    from glob import glob

    from safetensors.torch import load_file

    from bench.errors import ModelError

    shards = sorted(glob(os.path.join(folder, "*.safetensors")))
    if not shards:
        raise ModelError(f"{folder} holds no *.safetensors weights to load")
    for shard in shards:
        model.load_state_dict(load_file(shard), strict=False)
