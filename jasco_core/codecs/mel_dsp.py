"""Signal processing behind `MelCodec`: filterbanks, NNLS, fast Griffin-Lim, spectral convergence.

Only numpy and torch are needed. `slaney_mel_filterbank` gives the same filters as librosa's
default (Slaney mel scale, unit-area triangles); `pitch_filterbank` adds one band per MIDI pitch;
`spectral_convergence` is the STFT-magnitude error the codec is measured with (docs/codec.md).

Decoding (`MelCodec.decode`). Undo the normalisation and the log, map the bands back to the 1025
linear bins by non-negative least squares (`nnls_bands_to_linear`: multiplicative updates started
from the clamped pseudo-inverse or a flat spectrum, `MelCodecConfig.nnls_init`), then recover a
phase with fast Griffin-Lim (`fast_griffin_lim`; Perraudin et al. 2013, momentum 0.99) started from
a fixed-seed random phase, so the same latents always give bit-identical audio on a given device.
Everything is torch (`torch.stft` / `torch.istft`) and follows the latents' device.
"""
from __future__ import annotations

import math
import typing as tp

import numpy as np
import torch

from .base import CodecInputError

__all__ = ["slaney_mel_filterbank", "pitch_filterbank", "nnls_bands_to_linear", "fast_griffin_lim",
           "spectral_convergence"]


def _hz_to_slaney_mel(hz: np.ndarray) -> np.ndarray:
    """Slaney's mel scale: linear (200/3 Hz per mel) below 1 kHz, logarithmic above."""
    hz = np.asarray(hz, dtype=np.float64)
    linear = hz / (200.0 / 3.0)
    log_part = 15.0 + np.log(np.maximum(hz, 1e-10) / 1000.0) / (np.log(6.4) / 27.0)
    return np.where(hz >= 1000.0, log_part, linear)


def _slaney_mel_to_hz(mel: np.ndarray) -> np.ndarray:
    mel = np.asarray(mel, dtype=np.float64)
    linear = mel * (200.0 / 3.0)
    log_part = 1000.0 * np.exp((np.log(6.4) / 27.0) * (mel - 15.0))
    return np.where(mel >= 15.0, log_part, linear)


def slaney_mel_filterbank(sample_rate: int, n_fft: int, n_mels: int, fmin: float, fmax: float) -> np.ndarray:
    """Triangular mel filters [n_mels, n_fft // 2 + 1] on Slaney's mel scale, each scaled to unit
    area (2 / bandwidth), the usual "slaney" normalisation. Kept here so the codec needs only
    numpy and torch."""
    edges = _slaney_mel_to_hz(np.linspace(_hz_to_slaney_mel(fmin), _hz_to_slaney_mel(fmax), n_mels + 2))
    freqs = np.linspace(0.0, sample_rate / 2.0, n_fft // 2 + 1)
    widths = np.diff(edges)
    offsets = edges[:, None] - freqs[None, :]
    rising = -offsets[:-2] / widths[:-1, None]
    falling = offsets[2:] / widths[1:, None]
    weights = np.maximum(0.0, np.minimum(rising, falling))
    return weights * (2.0 / (edges[2:] - edges[:-2]))[:, None]


def pitch_filterbank(sample_rate: int, n_fft: int, lowest_midi: int, highest_midi: int) -> np.ndarray:
    """Semitone filters [highest - lowest + 1, n_fft // 2 + 1], one per MIDI pitch (A4 = 440 Hz).

    Filter ``k`` is a triangle on the linear-frequency axis peaking at pitch ``lowest_midi + k``
    and reaching zero one semitone either side, normalised to sum to 1 over the STFT bins (so a
    band is a weighted mean of the magnitude around its pitch). A filter narrower than the bin
    spacing keeps the bin nearest its centre. Why: below about 1 kHz the mel bands are several
    semitones wide, so a log-mel latent cannot say which notes of a chord sound; these bands can.
    """
    freqs = np.linspace(0.0, sample_rate / 2.0, n_fft // 2 + 1)
    midi = np.arange(lowest_midi, highest_midi + 1, dtype=np.float64)
    hz = lambda m: 440.0 * 2.0 ** ((m - 69.0) / 12.0)  # noqa: E731
    left, centre, right = hz(midi - 1.0), hz(midi), hz(midi + 1.0)
    rising = (freqs[None, :] - left[:, None]) / (centre - left)[:, None]
    falling = (right[:, None] - freqs[None, :]) / (right - centre)[:, None]
    weights = np.maximum(0.0, np.minimum(rising, falling))
    for k in np.flatnonzero(weights.sum(axis=1) == 0.0):
        weights[k, int(np.argmin(np.abs(freqs - centre[k])))] = 1.0
    return weights / weights.sum(axis=1, keepdims=True)


# ----------------------------------------------------------------- decoding
def nnls_bands_to_linear(bands: torch.Tensor, basis: torch.Tensor, initial: torch.Tensor,
                         iters: int) -> torch.Tensor:
    """Non-negative least-squares inverse of a filterbank: linear magnitudes [B, F, T] >= 0 with
    ``basis @ linear`` close to `bands` [B, dim, T], by `iters` multiplicative updates started
    from `initial` [B, F, T] (bins that start at zero stay at zero)."""
    linear = initial
    target = basis.transpose(0, 1) @ bands
    for _ in range(iters):
        # multiplicative update for min ||B x - y||^2 s.t. x >= 0; keeps x non-negative
        linear = linear * target / (basis.transpose(0, 1) @ (basis @ linear) + 1e-10)
    return linear


def _initial_phase(shape: tp.Sequence[int], seed: int, device: torch.device) -> torch.Tensor:
    """Fixed-seed random phase [1, F, frames], drawn on the CPU so every device starts alike
    and shared by all batch items so an item decodes the same alone or in a batch."""
    generator = torch.Generator(device="cpu").manual_seed(seed)
    phase = torch.rand((1, *shape[-2:]), generator=generator, dtype=torch.float32) * (2 * math.pi)
    return torch.polar(torch.ones_like(phase), phase).to(device)


def fast_griffin_lim(magnitude: torch.Tensor, stft: tp.Callable[[torch.Tensor], torch.Tensor],
                     istft: tp.Callable[[torch.Tensor], torch.Tensor], iters: int, momentum: float,
                     seed: int) -> torch.Tensor:
    """Fast Griffin-Lim (Perraudin et al. 2013): the signal `istft` makes of `magnitude`
    [B, F, frames] with a phase found by `iters` iterations with `momentum`, started from the
    fixed-seed random phase of `seed` (so the result is deterministic)."""
    angles = _initial_phase(magnitude.shape, seed, magnitude.device).expand(magnitude.shape)
    previous = torch.zeros_like(angles)
    accel = momentum / (1.0 + momentum)
    for _ in range(iters):
        rebuilt = stft(istft(magnitude * angles))
        angles = rebuilt - accel * previous
        angles = angles / (angles.abs() + 1e-16)
        previous = rebuilt
    return istft(magnitude * angles)


# ----------------------------------------------------------------- audio inputs and spectral convergence
def _to_tensor_2d(audio: tp.Any, name: str) -> torch.Tensor:
    """Accept a [B, n] float tensor or array; return a float32 tensor."""
    if isinstance(audio, np.ndarray):
        audio = torch.from_numpy(np.ascontiguousarray(audio))
    if not isinstance(audio, torch.Tensor):
        raise CodecInputError(f"{name} must be a torch.Tensor or numpy array, got {type(audio).__name__}")
    if audio.dim() != 2:
        raise CodecInputError(f"{name} must have shape [B, n], got {tuple(audio.shape)}")
    if audio.shape[-1] == 0 or audio.shape[0] == 0:
        raise CodecInputError(f"{name} is empty: shape {tuple(audio.shape)}")
    if not (audio.is_floating_point()):
        raise CodecInputError(f"{name} must be floating point, got {audio.dtype}")
    return audio.to(torch.float32)


def _paired_2d(ref_audio: tp.Any, out_audio: tp.Any) -> tp.Tuple[torch.Tensor, torch.Tensor]:
    ref = torch.as_tensor(np.asarray(ref_audio) if not isinstance(ref_audio, torch.Tensor) else ref_audio)
    out = torch.as_tensor(np.asarray(out_audio) if not isinstance(out_audio, torch.Tensor) else out_audio)
    ref = ref[None] if ref.dim() == 1 else ref
    out = out[None] if out.dim() == 1 else out
    ref = _to_tensor_2d(ref, "ref_audio")
    out = _to_tensor_2d(out, "out_audio").to(ref.device)
    if ref.shape[0] != out.shape[0]:
        raise CodecInputError(f"batch sizes differ: {ref.shape[0]} vs {out.shape[0]}")
    n = min(ref.shape[-1], out.shape[-1])
    return ref[..., :n], out[..., :n]


def _sc(ref_mag: torch.Tensor, out_mag: torch.Tensor) -> float:
    denom = torch.linalg.vector_norm(ref_mag)
    if float(denom) == 0.0:
        raise CodecInputError("reference audio is silent: spectral convergence is undefined")
    return float(torch.linalg.vector_norm(ref_mag - out_mag) / denom)


def spectral_convergence(ref_audio: tp.Any, out_audio: tp.Any, n_fft: int = 2048,
                         hop_length: int = 441, win_length: int = 1764) -> float:
    """|| |STFT(ref)| - |STFT(out)| ||_F / || |STFT(ref)| ||_F  (0 = identical magnitudes).

    Audio is [n] or [B, n] (tensor or array); both are cut to the shorter length. Defaults match
    `MelCodecConfig` so the figure measures what the codec's own STFT sees.
    """
    ref, out = _paired_2d(ref_audio, out_audio)
    window = torch.hann_window(win_length, device=ref.device)

    def mag(x: torch.Tensor) -> torch.Tensor:
        return torch.stft(x, n_fft=n_fft, hop_length=hop_length, win_length=win_length,
                          window=window, center=True, return_complex=True).abs()

    return _sc(mag(ref), mag(out))
