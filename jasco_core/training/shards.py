"""Weights split into size-limited safetensors shards, and read back (no heavy imports)."""
from __future__ import annotations

import glob
import os
import typing as tp

import torch

SHARD_BYTES = 15 * 2**20


def save_sharded(state: tp.Mapping[str, torch.Tensor], directory: str, prefix: str = "ema",
                 max_bytes: int = SHARD_BYTES) -> tp.List[str]:
    """Split a state dict into safetensors files of at most ~max_bytes (for size-limited transfers)."""
    from safetensors.torch import save_file
    shards: tp.List[tp.Dict[str, torch.Tensor]] = [{}]
    size = 0
    for key, value in state.items():
        nbytes = value.numel() * value.element_size()
        if shards[-1] and size + nbytes > max_bytes:
            shards.append({})
            size = 0
        shards[-1][key] = value.detach().cpu().contiguous()
        size += nbytes
    paths = []
    for i, shard in enumerate(shards):
        path = os.path.join(directory, f"{prefix}-{i + 1:02d}-of-{len(shards):02d}.safetensors")
        save_file(shard, path)
        paths.append(path)
    return paths


def load_run_weights(run: str) -> tp.Dict[str, torch.Tensor]:
    from safetensors.torch import load_file
    single = os.path.join(run, "ema.safetensors")
    if os.path.exists(single):
        return load_file(single)
    state: tp.Dict[str, torch.Tensor] = {}
    for path in sorted(glob.glob(os.path.join(run, "ema-*-of-*.safetensors"))):
        state.update(load_file(path))
    if not state:
        raise FileNotFoundError(f"no ema.safetensors or ema-*-of-*.safetensors in {run}")
    return state


