"""The codec's signal processing alone: filterbanks, NNLS inverse, fast Griffin-Lim, spectral convergence."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from jasco_core.codecs import CodecInputError
from jasco_core.codecs.mel_dsp import (fast_griffin_lim, nnls_bands_to_linear, pitch_filterbank, slaney_mel_filterbank,
                                       spectral_convergence)

SR = 22050
N_FFT, HOP = 512, 128


def test_filterbank_matches_librosa():
    import librosa

    ours = slaney_mel_filterbank(22050, 2048, 64, 30.0, 11025.0)
    reference = librosa.filters.mel(sr=22050, n_fft=2048, n_mels=64, fmin=30.0, fmax=11025.0)
    assert ours.shape == (64, 1025)
    assert np.allclose(ours, reference, atol=1e-7)


def test_pitch_filterbank_peaks_at_each_semitone():
    bank = pitch_filterbank(22050, 2048, 36, 84)
    freqs = np.linspace(0, 11025, 1025)
    assert bank.shape == (49, 1025)
    assert np.allclose(bank.sum(axis=1), 1.0)
    for k in range(49):
        centre = 440.0 * 2 ** ((36 + k - 69) / 12)
        assert abs(freqs[np.argmax(bank[k])] - centre) <= 11025 / 1024  # within one bin
    # above ~200 Hz neighbouring semitones use different bins
    assert not np.allclose(bank[20], bank[21])


def test_helpers_are_still_importable_from_the_codec_module():
    from jasco_core import codecs
    from jasco_core.codecs import mel

    assert mel.slaney_mel_filterbank is slaney_mel_filterbank and mel.pitch_filterbank is pitch_filterbank
    assert mel.spectral_convergence is spectral_convergence is codecs.spectral_convergence


def tone(seconds: float = 1.0, hz: float = 440.0) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    return (0.5 * np.sin(2 * np.pi * hz * t) + 0.2 * np.sin(2 * np.pi * 3.01 * hz * t)).astype(np.float32)


def test_spectral_convergence_values_and_input_forms():
    x = tone()
    assert spectral_convergence(x, x) < 1e-6
    # |STFT| is linear in the gain: half the amplitude is half the magnitude everywhere
    assert spectral_convergence(x, 0.5 * x) == pytest.approx(0.5, abs=1e-3)
    # [n] and [B, n], arrays and tensors, cut to the shorter length
    batched = spectral_convergence(torch.from_numpy(x)[None], torch.from_numpy(0.5 * x)[None, : SR // 2])
    assert batched == pytest.approx(0.5, abs=1e-3)
    assert spectral_convergence(x, x, n_fft=N_FFT, hop_length=HOP, win_length=N_FFT) < 1e-6


def test_spectral_convergence_errors():
    x = tone()
    with pytest.raises(CodecInputError, match="silent"):
        spectral_convergence(np.zeros_like(x), x)
    with pytest.raises(CodecInputError, match="batch sizes"):
        spectral_convergence(np.stack([x, x]), x)
    with pytest.raises(CodecInputError, match="floating point"):
        spectral_convergence(np.ones(100, dtype=np.int16), x)


def test_nnls_inverts_a_filterbank_without_negative_values():
    basis = torch.from_numpy(slaney_mel_filterbank(SR, N_FFT, 32, 30.0, SR / 2).astype(np.float32))
    rng = np.random.default_rng(0)
    linear = torch.from_numpy(rng.random((2, N_FFT // 2 + 1, 20)).astype(np.float32))
    bands = basis @ linear
    start = torch.ones_like(linear)
    start[:, :3] = 0.0  # bins that start at zero stay at zero
    out = nnls_bands_to_linear(bands, basis, start, 200)
    assert out.shape == linear.shape and (out >= 0).all()
    assert torch.equal(out[:, :3], torch.zeros_like(out[:, :3]))
    def residual(x: torch.Tensor) -> float:
        return float(torch.linalg.vector_norm(basis @ x - bands) / torch.linalg.vector_norm(bands))

    assert residual(out) < 0.5 * residual(start) and residual(out) < 0.05
    assert torch.equal(nnls_bands_to_linear(bands, basis, start, 0), start)


def test_fast_griffin_lim_is_deterministic_and_finds_a_consistent_phase():
    window = torch.hann_window(N_FFT)
    audio = torch.from_numpy(tone())[None]
    stft = lambda x: torch.stft(x, N_FFT, HOP, window=window, return_complex=True)  # noqa: E731
    istft = lambda s: torch.istft(s, N_FFT, HOP, window=window, length=audio.shape[-1])  # noqa: E731
    magnitude = stft(audio).abs()
    first = fast_griffin_lim(magnitude, stft, istft, 32, 0.99, seed=0)
    assert first.shape == audio.shape and torch.isfinite(first).all()
    assert torch.equal(first, fast_griffin_lim(magnitude, stft, istft, 32, 0.99, seed=0))
    assert not torch.equal(first, fast_griffin_lim(magnitude, stft, istft, 32, 0.99, seed=1))
    kwargs = dict(n_fft=N_FFT, hop_length=HOP, win_length=N_FFT)
    random_phase = spectral_convergence(audio, fast_griffin_lim(magnitude, stft, istft, 0, 0.99, seed=0), **kwargs)
    iterated = spectral_convergence(audio, first, **kwargs)
    assert iterated < 0.5 * random_phase, (iterated, random_phase)
