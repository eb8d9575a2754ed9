"""The `Codec` interface shared by every latent codec, and the errors codecs raise.

A codec maps mono audio to a sequence of continuous latent frames and back. The flow-matching
model only ever sees latents, so anything that satisfies this Protocol can stand behind it: the
embedded mel codec (`jasco_core.codecs.mel.MelCodec`) or a neural codec for released models.
"""
from __future__ import annotations

import typing as tp

import torch

from ..errors import FieldError

__all__ = ["Codec", "CodecError", "CodecConfigError", "CodecInputError", "CodecNotFittedError"]


class CodecError(FieldError):
    """Base class of the errors a caller can cause when using a codec."""

    default_field = "codec"


class CodecConfigError(CodecError):
    """A codec configuration is invalid (unknown key, impossible parameter combination)."""


class CodecInputError(CodecError):
    """Audio or latents handed to a codec have the wrong shape, dtype or size."""

    default_field = "audio"


class CodecNotFittedError(CodecError):
    """The codec needs normalisation statistics that have not been fitted or loaded yet."""


@tp.runtime_checkable
class Codec(tp.Protocol):
    """Audio <-> latent codec.

    Attributes:
        sample_rate: audio sample rate in Hz that `encode` expects and `decode` returns.
        frame_rate: latent frames per second.
        dim: latent channels D.
    """

    sample_rate: int
    frame_rate: float
    dim: int

    def encode(self, audio: torch.Tensor) -> torch.Tensor:
        """Audio float32 [B, n] -> normalised latents float32 [B, T, D] (~zero mean, unit variance)."""
        ...

    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        """Latents [B, T, D] -> audio float32 [B, n]."""
        ...

    def frames_for(self, seconds: float) -> int:
        """Number of latent frames T that `encode` yields for `seconds` of audio."""
        ...
