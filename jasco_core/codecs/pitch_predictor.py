"""Learnt semitone detail for the mel codec: predict the semitone bands from the mel bands.

Why: below 1 kHz the 64 mel bands are several semitones wide, so audio decoded from them alone has
a smeared chroma (chords are lost; docs/codec.md). The semitone bands of `MelCodec` fix that when
they are known, but a flow model trained on the 64-band latent does not generate them. The notes
of a chord are still implied by the mel frames: their upper harmonics (above 1 kHz the mel bands
are about a semitone apart) and the context of neighbouring frames. `PitchPredictor`, a small
dilated 1-D convolutional net over time trained on rendered music, learns that mapping, and
`PredictedPitchCodec` uses it when decoding, so the model's latent stays the 64 mel bands.
"""
from __future__ import annotations

import dataclasses
import typing as tp

import torch
from torch import nn

from .base import CodecInputError
from .mel import MelCodec

__all__ = ["PitchPredictor", "PredictedPitchCodec"]


class _Block(nn.Module):
    """Pre-norm residual block: GroupNorm, GELU, dilated conv, GELU, 1x1 conv."""

    def __init__(self, channels: int, kernel: int, dilation: int):
        super().__init__()
        self.norm = nn.GroupNorm(1, channels)
        self.conv = nn.Conv1d(channels, channels, kernel, dilation=dilation, padding=dilation * (kernel - 1) // 2)
        self.mix = nn.Conv1d(channels, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.mix(nn.functional.gelu(self.conv(nn.functional.gelu(self.norm(x)))))


class PitchPredictor(nn.Module):
    """Normalised mel latents [B, T, n_mels] -> normalised semitone-band latents [B, T, n_pitch].

    The dilations give each output frame a context of about +-1 s, long enough to see a chord's
    whole duration; `config` holds the constructor arguments so a checkpoint can rebuild it.
    """

    def __init__(self, n_mels: int = 64, n_pitch: int = 49, channels: int = 256, kernel: int = 3,
                 dilations: tp.Sequence[int] = (1, 2, 4, 8, 16, 1, 2, 4)):
        super().__init__()
        self.config = dict(n_mels=n_mels, n_pitch=n_pitch, channels=channels, kernel=kernel,
                           dilations=list(dilations))
        self.inp = nn.Conv1d(n_mels, channels, kernel, padding=(kernel - 1) // 2)
        self.blocks = nn.ModuleList(_Block(channels, kernel, d) for d in dilations)
        self.out = nn.Sequential(nn.GroupNorm(1, channels), nn.GELU(), nn.Conv1d(channels, n_pitch, 1))

    def forward(self, mel_latents: torch.Tensor) -> torch.Tensor:
        x = self.inp(mel_latents.transpose(1, 2))
        for block in self.blocks:
            x = block(x)
        return self.out(x).transpose(1, 2)


class PredictedPitchCodec:
    """A `Codec` whose latents are the mel bands of `inner` (a `MelCodec` with semitone bands);
    `decode` completes them with the semitone bands `predictor` infers, then decodes all bands.

    `encode` returns the mel channels of `inner.encode`, so a model trained on the 64-band latent
    works unchanged; `encode_full` gives all bands (the predictor's training target).
    """

    def __init__(self, inner: MelCodec, predictor: PitchPredictor):
        cfg = inner.config
        if not cfg.n_pitch:
            raise CodecInputError("PredictedPitchCodec needs a MelCodec configured with semitone bands")
        if predictor.config["n_mels"] != cfg.n_mels or predictor.config["n_pitch"] != cfg.n_pitch:
            raise CodecInputError(
                f"predictor maps {predictor.config['n_mels']} -> {predictor.config['n_pitch']} bands, the codec "
                f"has {cfg.n_mels} mel and {cfg.n_pitch} semitone bands")
        self.inner = inner
        self.predictor = predictor.eval().requires_grad_(False)

    # Codec attributes -----------------------------------------------------------------------
    @property
    def config(self):
        return self.inner.config

    @property
    def sample_rate(self) -> int:
        return self.inner.sample_rate

    @property
    def frame_rate(self) -> float:
        return self.inner.frame_rate

    @property
    def hop_length(self) -> int:
        return self.inner.hop_length

    @property
    def dim(self) -> int:
        return self.inner.config.n_mels

    def frames_for(self, seconds: float) -> int:
        return self.inner.frames_for(seconds)

    def frames_for_samples(self, n_samples: int) -> int:
        return self.inner.frames_for_samples(n_samples)

    def mel_spectrogram(self, audio: torch.Tensor) -> torch.Tensor:
        return self.inner.mel_spectrogram(audio)

    def to_dict(self) -> tp.Dict[str, tp.Any]:
        return {**self.inner.to_dict(), "pitch_predictor": dict(self.predictor.config)}

    def mel_only(self) -> MelCodec:
        """The plain 64-band codec of the same latents (no semitone bands): what decoding would
        give without the predictor, for comparisons."""
        cfg = self.inner.config
        return MelCodec(dataclasses.replace(cfg, pitch_lowest=None, pitch_highest=None,
                                            mean=cfg.mean[:cfg.n_mels], std=cfg.std[:cfg.n_mels]))

    # transforms -----------------------------------------------------------------------------
    def encode(self, audio: torch.Tensor) -> torch.Tensor:
        """Audio [B, n] -> mel latents [B, T, n_mels]."""
        return self.inner.encode(audio)[..., :self.dim]

    def encode_full(self, audio: torch.Tensor) -> torch.Tensor:
        """Audio [B, n] -> all bands [B, T, n_mels + n_pitch] (mel, then semitone)."""
        return self.inner.encode(audio)

    def complete(self, latents: torch.Tensor) -> torch.Tensor:
        """Mel latents [B, T, n_mels] -> [B, T, n_mels + n_pitch] with the predicted semitone bands."""
        if not isinstance(latents, torch.Tensor) or latents.dim() != 3 or latents.shape[-1] != self.dim:
            shape = tuple(latents.shape) if isinstance(latents, torch.Tensor) else type(latents).__name__
            raise CodecInputError(f"latents must have shape [B, T>0, {self.dim}], got {shape}")
        latents = latents.detach().to(torch.float32)
        predictor = self.predictor.to(latents.device)
        with torch.no_grad():
            return torch.cat([latents, predictor(latents)], dim=-1)

    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        """Mel latents [B, T, n_mels] -> audio [B, T * hop]."""
        return self.inner.decode(self.complete(latents))
