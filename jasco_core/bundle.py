"""`ModelBundle`: everything that differs between the embedded model and a released checkpoint.

The pipeline's code path is the same for both; a bundle supplies the parts: the flow-matching model,
the codec (latents <-> audio), the text encoder, the drum encoder (waveform -> drum latents the model
was trained on), the chord vocabulary, duration limits and measured generation defaults.
"""
from __future__ import annotations

import dataclasses
import typing as tp

import numpy as np
import torch

from .guidance import Guidance
from .model import FlowMatchingModel
from .solvers import SolverConfig


@tp.runtime_checkable
class TextEncoder(tp.Protocol):
    dim: int

    def encode(self, texts: tp.Sequence[str]) -> tp.Tuple[torch.Tensor, torch.Tensor]:
        """Per-token states [B, L, dim] and mask [B, L] (all-zero row for an empty text)."""
        ...


@tp.runtime_checkable
class DrumEncoder(tp.Protocol):
    latent_dim: int

    def encode(self, wav: np.ndarray, sample_rate: int, n_frames: int) -> np.ndarray:
        """Drum stem samples -> drum latents [n_frames, latent_dim]."""
        ...

    def silence(self, n_frames: int) -> np.ndarray:
        """What a silent stem encodes to: [latent_dim] or [n_frames, latent_dim]."""
        ...


class FeatureDrumEncoder:
    """Embedded models: a few-band onset/energy envelope of the stem (`jasco_core.drum_features`)."""

    def __init__(self, latent_dim: int):
        self.latent_dim = latent_dim

    def encode(self, wav: np.ndarray, sample_rate: int, n_frames: int) -> np.ndarray:
        from .drum_features import drum_features
        feats = drum_features(wav, sample_rate, n_frames)
        if feats.shape[-1] != self.latent_dim:
            raise ValueError(f"drum features have {feats.shape[-1]} channels, the model expects {self.latent_dim}")
        return feats

    def silence(self, n_frames: int) -> np.ndarray:
        return np.zeros(self.latent_dim, dtype=np.float32)


@dataclasses.dataclass
class GenerationDefaults:
    guidance: Guidance = Guidance()
    solver: SolverConfig = SolverConfig()
    duration: float = 10.0

    def to_dict(self) -> dict:
        return {"guidance": self.guidance.to_dict(), "solver": self.solver.to_dict(), "duration": self.duration}

    @classmethod
    def from_dict(cls, d: tp.Mapping[str, tp.Any]) -> "GenerationDefaults":
        return cls(guidance=Guidance.from_dict(d.get("guidance", {})),
                   solver=SolverConfig.from_dict(d.get("solver", {})),
                   duration=float(d.get("duration", 10.0)))


@dataclasses.dataclass
class ModelBundle:
    name: str
    model: FlowMatchingModel
    codec: tp.Any                       # a `jasco_core.codecs.Codec`
    text_encoder: TextEncoder
    drum_encoder: tp.Optional[DrumEncoder]
    vocabulary: tp.Any                  # `jasco_core.conditions.ChordVocabulary` or None
    defaults: GenerationDefaults = dataclasses.field(default_factory=GenerationDefaults)
    max_duration: float = 10.0
    info: tp.Dict[str, tp.Any] = dataclasses.field(default_factory=dict)

    @property
    def frame_rate(self) -> float:
        return float(self.codec.frame_rate)

    @property
    def sample_rate(self) -> int:
        return int(self.codec.sample_rate)

    @property
    def accepts(self) -> tp.Tuple[str, ...]:
        """Conditions this model takes: 'text' and any of 'chords', 'drums', 'melody'."""
        names = {"chords": "chords", "self_wav": "drums", "melody": "melody"}
        return ("text", *(names[n] for n in self.model.cfg.temporal_conditions))
