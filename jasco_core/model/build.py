"""Build a `FlowMatchingModel` from a configuration and an audiocraft-named state dict."""
from __future__ import annotations

import typing as tp

import torch

from .config import ModelConfig
from .flow_matching import FlowMatchingModel


def build_model(model_config: tp.Union[ModelConfig, tp.Mapping[str, tp.Any]],
                state_dict: tp.Optional[tp.Mapping[str, torch.Tensor]] = None,
                device: tp.Union[str, torch.device, None] = None) -> FlowMatchingModel:
    """The one way every model is made (embedded bundle, released checkpoint, parity fixture).

    `model_config` is a `ModelConfig`, or a flat mapping in the fixture / experiment format.
    With `state_dict`, weights are loaded strictly (missing or unexpected keys raise `KeyError`).
    The model is returned in eval mode.
    """
    cfg = model_config if isinstance(model_config, ModelConfig) else ModelConfig.from_flat(model_config)
    model = FlowMatchingModel(cfg)
    if state_dict is not None:
        model.load_audiocraft_state_dict(state_dict, strict=True)
    if device is not None:
        model.to(device)
    return model.eval().requires_grad_(False)
