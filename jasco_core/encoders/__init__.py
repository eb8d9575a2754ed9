"""Text and drum encoders: one protocol each, and the choice of implementation from `bundle.json`.

- `TextEncoder`: prompt -> per-token states and mask (`text_minilm.MiniLMTextEncoder` for the
  embedded model, `text_t5.T5TextEncoder` for the released ones).
- `DrumEncoder`: drum stem -> the drum latents the model was trained on
  (`drums_features.FeatureDrumEncoder`, `drums_released.ReleasedDrumEncoder`).

A bundle folder names its encoders (`"text_encoder": {"type": "minilm"}`, `"drum_encoder":
{"type": "features"}`); `text_encoder_from_spec` / `drum_encoder_from_spec` build them, and an
unknown type is a `CheckpointError` rather than a silent substitute.
"""
from __future__ import annotations

import typing as tp

import numpy as np
import torch

from ..errors import CheckpointError, describe_value

__all__ = ["TextEncoder", "DrumEncoder", "TEXT_ENCODERS", "DRUM_ENCODERS", "text_encoder_from_spec",
           "drum_encoder_from_spec"]


@tp.runtime_checkable
class TextEncoder(tp.Protocol):
    """Per-token text encoder: `dim` and `encode(texts) -> (states [B, L, dim], mask [B, L])`.

    An empty prompt means "no text": its mask row is all zeros and its states are zero.
    """

    dim: int

    def encode(self, texts: tp.Sequence[str]) -> tp.Tuple[torch.Tensor, torch.Tensor]:
        ...


@tp.runtime_checkable
class DrumEncoder(tp.Protocol):
    """Drum stem -> drum latents [n_frames, latent_dim]; `silence` is what a silent stem encodes
    to ([latent_dim] or [n_frames, latent_dim]). An encoder may also offer `hits(latents)`: the
    times of the hits the model is shown (used by previews)."""

    latent_dim: int

    def encode(self, wav: np.ndarray, sample_rate: int, n_frames: int) -> np.ndarray:
        ...

    def silence(self, n_frames: int) -> np.ndarray:
        ...


TEXT_ENCODERS = ("minilm", "t5")
DRUM_ENCODERS = ("features",)   # bundle folders; released checkpoints build `ReleasedDrumEncoder` themselves


def _spec_type(spec: tp.Any, what: str, source: str) -> tp.Tuple[str, dict]:
    if isinstance(spec, str):
        return spec, {}
    if isinstance(spec, tp.Mapping) and isinstance(spec.get("type"), str):
        return spec["type"], {k: v for k, v in spec.items() if k != "type"}
    raise CheckpointError("model", f"{source}: {what} must be {{\"type\": ...}}, got {describe_value(spec)}")


def text_encoder_from_spec(spec: tp.Any, *, dim: int, device: tp.Union[str, torch.device] = "cpu",
                           source: str = "bundle.json") -> TextEncoder:
    """The text encoder a bundle names: `{"type": "minilm"}` or `{"type": "t5", "name": "t5-base"}`;
    its width must be the model's `text_dim`."""
    kind, options = _spec_type(spec, "text_encoder", source)
    if kind == "minilm":
        from .text_minilm import MiniLMTextEncoder
        encoder: tp.Any = MiniLMTextEncoder(device=device, **{k: v for k, v in options.items() if k == "max_length"})
    elif kind == "t5":
        from .text_t5 import T5TextEncoder
        encoder = T5TextEncoder(str(options.get("name", "t5-base")), device=device)
    else:
        raise CheckpointError("model", f"{source}: unknown text encoder {kind!r}; expected one of {TEXT_ENCODERS}")
    if int(encoder.dim) != int(dim):
        raise CheckpointError("model", f"{source}: the text encoder {kind!r} produces {encoder.dim} features, the "
                              f"model's text projection takes {dim}")
    return encoder


def drum_encoder_from_spec(spec: tp.Any, *, latent_dim: int, frame_rate: float,
                           source: str = "bundle.json") -> DrumEncoder:
    """The drum encoder a bundle names: `{"type": "features"}`."""
    kind, _ = _spec_type(spec, "drum_encoder", source)
    if kind == "features":
        from .drums_features import FeatureDrumEncoder
        return FeatureDrumEncoder(latent_dim, frame_rate=frame_rate)
    raise CheckpointError("model", f"{source}: unknown drum encoder {kind!r}; expected one of {DRUM_ENCODERS}")
