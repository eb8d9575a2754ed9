"""Drums condition input: a drum recording as mono float32 at the model's rate.

The user uploads a drum loop or records one in the browser; this module only
decodes, checks and conforms it (mono, resampled, cut or padded to the clip
length).  Turning the waveform into model features is done by the model's own
drum encoder (``jasco_core.encoders``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .audio import AudioClip, AudioLimits, read_audio

__all__ = ["DrumsConfig", "read_drums", "load_drums"]

logger = logging.getLogger(__name__)

FIELD = "drums"


@dataclass(frozen=True)
class DrumsConfig:
    """Limits for drum uploads (see :class:`AudioLimits`)."""

    limits: AudioLimits = field(default_factory=AudioLimits)


def read_drums(value: Any, sample_rate: int = 32_000, duration: float = 10.0,
               config: DrumsConfig = DrumsConfig()) -> AudioClip:
    """Drums as an :class:`AudioClip` (samples plus notes such as "padded").

    ``value``: a file path, ``(waveform, sample_rate)``, or the browser
    recorder's ``(sample_rate, int16 array)``.
    """
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, (int, np.integer)) or sample_rate <= 0:
        raise ValueError(f"sample_rate must be a positive integer, got {sample_rate!r}")
    return read_audio(value, field=FIELD, sample_rate=int(sample_rate), duration=duration, limits=config.limits)


def load_drums(value: Any, sample_rate: int = 32_000, duration: float = 10.0,
               config: DrumsConfig = DrumsConfig()) -> np.ndarray:
    """Drums as mono float32 samples, exactly ``round(duration * sample_rate)`` long.

    Raises:
        ConditionError(field="drums"): unreadable, empty, silent or NaN audio,
        or audio outside the limits.
    """
    return read_drums(value, sample_rate, duration, config).samples
