"""Warm start of a training run from trained weights (fine-tuning).

`load_warm_start` reads the EMA weights of an earlier run or of an exported bundle (whose folded
text projection is unfolded back onto the PCA coordinates of the text features, see
`text_features.TEXT_PROJECTION`), and `widen_flow_dim` gives them zero weights for latent channels
the new codec added, so the widened model starts out predicting exactly what the old one did.
"""
from __future__ import annotations

import json
import os
import typing as tp

import numpy as np
import torch

from ..model import ModelConfig

__all__ = ["widen_flow_dim", "load_warm_start"]


def widen_flow_dim(state: tp.Mapping[str, torch.Tensor], old_flow_dim: int, new_flow_dim: int) -> tp.Dict[str, torch.Tensor]:
    """Weights of a model trained on `old_flow_dim` latent channels, for a model whose latent has
    extra channels appended (e.g. a codec that gained bands). The input projection gets zero
    columns for the new channels and the output projection zero rows, so the widened model gives
    exactly the old velocity on the old channels and 0 on the new ones until it is trained."""
    if new_flow_dim < old_flow_dim:
        raise ValueError(f"cannot narrow the latent from {old_flow_dim} to {new_flow_dim} channels")
    out = dict(state)
    extra = new_flow_dim - old_flow_dim
    emb = state["emb.weight"]
    out["emb.weight"] = torch.cat([emb[:, :old_flow_dim], emb.new_zeros(emb.shape[0], extra), emb[:, old_flow_dim:]], dim=1)
    lin = state["linear.weight"]
    out["linear.weight"] = torch.cat([lin, lin.new_zeros(extra, lin.shape[1])])
    if "linear.bias" in state:
        out["linear.bias"] = torch.cat([state["linear.bias"], state["linear.bias"].new_zeros(extra)])
    return out


def load_warm_start(run: str, model_cfg: ModelConfig, text_path: tp.Optional[str] = None) -> tp.Dict[str, torch.Tensor]:
    """EMA weights of an earlier training run (`ema.safetensors` or its shards, with its
    model_config.json), or of an exported bundle (its text projection unfolded back onto the PCA
    coordinates of `text_path`'s features), widened to `model_cfg.flow_dim` if the latent gained
    channels."""
    from .shards import load_run_weights
    with open(os.path.join(run, "model_config.json")) as f:
        old_flow_dim = int(json.load(f)["flow_dim"])
    if os.path.exists(os.path.join(run, "bundle.json")):
        from safetensors.torch import load_file

        from .text_features import TEXT_PROJECTION, unfold_text_projection
        if text_path is None:
            raise ValueError("starting from a bundle needs the text features (their PCA) to unfold its text projection")
        state = load_file(os.path.join(run, "model.safetensors"))
        with np.load(text_path, allow_pickle=False) as t:
            mean, components = t["pca_mean"], t["pca_components"]
        weight, bias = TEXT_PROJECTION + "weight", TEXT_PROJECTION + "bias"
        state[weight], state[bias] = unfold_text_projection(state[weight], state[bias], mean, components)
    else:
        state = load_run_weights(run)
    return widen_flow_dim(state, old_flow_dim, model_cfg.flow_dim) if old_flow_dim != model_cfg.flow_dim else state
