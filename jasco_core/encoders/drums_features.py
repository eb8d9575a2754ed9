"""Drum conditioning features: a few-band onset envelope of a drum stem at the latent frame rate.

The embedded model follows a drum track through these features rather than through codec
latents of the stem: they are cheap, level-independent and say *when* something is hit and
*roughly what* (low kick band, mid snare band, high hat band), which is what a rhythm condition
needs.

Definition (`drum_features`, 4 channels per frame):

1. The stem is resampled to 22050 Hz and transformed with a Hann STFT (n_fft 1024, hop
   22050 / frame_rate, centred frames), so frame ``i`` is centred on time ``i / frame_rate``.
2. Power is summed in three bands: low 20-100 Hz (kick), mid 150-3000 Hz (snare body),
   high 8000-11025 Hz (hats, cymbals, snare wires).
3. Each band energy ``e`` is divided by a reference ``max(max(e), 10**-3 * max over all bands)``:
   its own peak, unless the band never gets within 30 dB of the loudest band, in which case the
   loudest band sets the scale (so a band that only carries leakage stays small).
4. Compressed with ``c = log1p(100 x) / log(101)`` (in [0, 1]); the onset strength is the
   positive part of the frame-to-frame difference of ``c`` (channels 0-2, in [0, 1]).
5. Channel 3 is the frame energy in dB relative to the loudest frame, mapped from [-60, 0] dB
   to [0, 1].

Every step is relative to the stem's own level, so scaling the stem by any gain leaves the
features unchanged. A stem whose peak amplitude is below 1e-4 (-80 dBFS) counts as silence and
gives all zeros. The output always has exactly ``n_frames`` rows: cut, or zero-padded at the end.
"""
from __future__ import annotations

import logging
import typing as tp

import numpy as np

from ..errors import FieldError

logger = logging.getLogger(__name__)

__all__ = ["DRUM_FEATURE_DIM", "DRUM_BANDS_HZ", "DrumFeatureError", "FeatureDrumEncoder", "drum_features"]

DRUM_FEATURE_DIM = 4
DRUM_BANDS_HZ: tp.Tuple[tp.Tuple[float, float], ...] = ((20.0, 100.0), (150.0, 3000.0), (8000.0, 11025.0))

_ANALYSIS_RATE = 22050
_N_FFT = 1024
_BAND_FLOOR = 1e-3  # a band's reference is at least 30 dB below the loudest band
_COMPRESSION = 100.0
_ENERGY_RANGE_DB = 60.0
_SILENCE_PEAK = 1e-4
HIT_THRESHOLD = 0.1   # onset strength of a hit shown in previews (features are in [0, 1])


class DrumFeatureError(FieldError):
    """The drum stem or the requested framing is unusable (field `drums`)."""

    default_field = "drums"


def _check_inputs(audio: tp.Any, sample_rate: int, n_frames: int, frame_rate: float) -> np.ndarray:
    audio = np.asarray(audio)
    if audio.ndim != 1:
        raise DrumFeatureError(f"drum stem must be mono with shape [n], got shape {audio.shape}")
    if not np.issubdtype(audio.dtype, np.floating):
        raise DrumFeatureError(f"drum stem must be floating point audio, got dtype {audio.dtype}")
    if not np.all(np.isfinite(audio)):
        raise DrumFeatureError("drum stem contains NaN or infinite samples")
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, (int, np.integer)) or sample_rate <= 0:
        raise DrumFeatureError(f"sample_rate must be a positive integer, got {sample_rate!r}")
    if isinstance(n_frames, bool) or not isinstance(n_frames, (int, np.integer)) or n_frames < 0:
        raise DrumFeatureError(f"n_frames must be an integer >= 0, got {n_frames!r}")
    if not frame_rate > 0 or abs(_ANALYSIS_RATE / frame_rate - round(_ANALYSIS_RATE / frame_rate)) > 1e-9:
        raise DrumFeatureError(
            f"frame_rate must divide {_ANALYSIS_RATE} Hz into a whole hop (e.g. 50, 25, 100), got {frame_rate}")
    return audio.astype(np.float64, copy=False)


def _band_onsets(power: np.ndarray, freqs: np.ndarray) -> np.ndarray:
    """Onset strength [3, frames] of the band energies (steps 2-4 of the module docstring)."""
    energies = np.stack([power[(freqs >= lo) & (freqs <= hi)].sum(axis=0) for lo, hi in DRUM_BANDS_HZ])
    loudest = energies.max()
    onsets = np.zeros_like(energies)
    for band, energy in enumerate(energies):
        reference = max(energy.max(), _BAND_FLOOR * loudest)
        compressed = np.log1p(_COMPRESSION * energy / reference) / np.log1p(_COMPRESSION)
        onsets[band, 1:] = np.maximum(0.0, np.diff(compressed))
        # an event already sounding in the first frame counts as an onset there
        onsets[band, 0] = compressed[0]
    return onsets


def _energy_envelope(power: np.ndarray) -> np.ndarray:
    """Frame energy in dB relative to the loudest frame, mapped from [-60, 0] dB to [0, 1]."""
    energy = power.sum(axis=0)
    db = 10.0 * np.log10(np.maximum(energy / energy.max(), 1e-12))
    return np.clip((db + _ENERGY_RANGE_DB) / _ENERGY_RANGE_DB, 0.0, 1.0)


def drum_features(audio: np.ndarray, sample_rate: int, n_frames: int,
                  frame_rate: float = 50) -> np.ndarray:
    """Onset/energy features of a mono drum stem, float32 [n_frames, DRUM_FEATURE_DIM] in [0, 1].

    Args:
        audio: mono float audio [n], any level.
        sample_rate: its sample rate in Hz (resampled internally to 22050 Hz).
        n_frames: number of frames to return; row ``i`` describes time ``i / frame_rate``.
        frame_rate: frames per second; must divide 22050 into a whole hop.

    Channels: 0 low-band (kick) onset, 1 mid-band (snare) onset, 2 high-band (hat) onset,
    3 overall energy. Silence gives zeros. See the module docstring for the exact definition.
    """
    audio = _check_inputs(audio, sample_rate, n_frames, frame_rate)
    features = np.zeros((int(n_frames), DRUM_FEATURE_DIM), dtype=np.float32)
    if n_frames == 0 or audio.size == 0 or np.max(np.abs(audio)) < _SILENCE_PEAK:
        return features

    import librosa  # heavy import kept out of module import time
    import soxr

    if sample_rate != _ANALYSIS_RATE:
        audio = soxr.resample(audio, sample_rate, _ANALYSIS_RATE, quality="HQ")
    hop = int(round(_ANALYSIS_RATE / frame_rate))
    spectrum = librosa.stft(audio, n_fft=_N_FFT, hop_length=hop, window="hann", center=True,
                            pad_mode="constant")
    power = np.abs(spectrum) ** 2
    freqs = librosa.fft_frequencies(sr=_ANALYSIS_RATE, n_fft=_N_FFT)
    computed = np.concatenate([_band_onsets(power, freqs), _energy_envelope(power)[None]], axis=0).T
    keep = min(int(n_frames), computed.shape[0])
    features[:keep] = computed[:keep]
    return features


class FeatureDrumEncoder:
    """`DrumEncoder` of the embedded models: the few-band onset/energy envelope of `drum_features`."""

    def __init__(self, latent_dim: int = DRUM_FEATURE_DIM, frame_rate: float = 50.0):
        self.latent_dim = int(latent_dim)
        self.frame_rate = float(frame_rate)

    def encode(self, wav: np.ndarray, sample_rate: int, n_frames: int) -> np.ndarray:
        feats = drum_features(wav, sample_rate, n_frames, frame_rate=self.frame_rate)
        if feats.shape[-1] != self.latent_dim:
            raise DrumFeatureError(f"drum features have {feats.shape[-1]} channels, the model expects {self.latent_dim}")
        return feats

    def silence(self, n_frames: int) -> np.ndarray:
        return np.zeros(self.latent_dim, dtype=np.float32)

    def hits(self, latents: np.ndarray, threshold: float = HIT_THRESHOLD) -> np.ndarray:
        """Times (s) of the hits the model is shown: frames where an onset channel (kick, snare,
        hats) peaks above `threshold`, read from the encoded features themselves."""
        onsets = np.asarray(latents, np.float32)[:, :3].max(axis=1)   # [T]
        if onsets.size < 3:
            return np.zeros(0)
        peak = (onsets[1:-1] >= threshold) & (onsets[1:-1] >= onsets[:-2]) & (onsets[1:-1] > onsets[2:])
        return (np.flatnonzero(peak) + 1) / self.frame_rate
