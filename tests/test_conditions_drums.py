"""Drums input: files, recordings, resampling, padding, and what is refused."""

import numpy as np
import pytest
import soundfile as sf
import soxr

from jasco_core.conditions import ConditionError, load_drums, read_drums


def test_stereo_file_at_other_rate(tmp_path, drums48k):
    stereo = np.stack([drums48k, 0.5 * drums48k], axis=1)
    path = tmp_path / "drums.wav"
    sf.write(str(path), stereo, 48000)
    clip = read_drums(str(path), sample_rate=32000, duration=3.0)
    assert clip.samples.dtype == np.float32 and clip.samples.shape == (96000,)
    assert clip.sample_rate == 32000
    assert any("only the first 3 s" in w for w in clip.warnings)
    want = soxr.resample(0.75 * drums48k[:144000], 48000, 32000)
    assert np.corrcoef(clip.samples[:95000], want[:95000])[0, 1] > 0.999
    assert np.max(np.abs(clip.samples - want[:96000])) < 0.05


def test_browser_recording_int16_and_padding(drums48k):
    pcm = np.clip(drums48k[:48000] * 20000, -32768, 32767).astype(np.int16)
    stereo_pcm = np.stack([pcm, pcm], axis=1)                  # (samples, channels), int16, like Gradio
    clip = read_drums((48000, stereo_pcm), sample_rate=16000, duration=2.0)
    assert clip.samples.shape == (32000,)
    assert clip.samples[17000:].max() == 0.0 and clip.samples[:16000].any()   # padded with silence
    assert any("padded with silence" in w for w in clip.warnings)
    want = soxr.resample(pcm.astype(np.float32) / 32768, 48000, 16000)
    assert np.allclose(clip.samples[:15900], want[:15900], atol=1e-3)
    channels_first = load_drums((stereo_pcm.T.astype(np.float32) / 32768, 48000), sample_rate=16000, duration=1.0)
    assert np.allclose(channels_first, clip.samples[:16000], atol=1e-4)


@pytest.mark.parametrize("make,fragment", [
    (lambda p: (np.zeros(32000, np.float32), 32000), "silent"),
    (lambda p: (np.full(32000, 1e-6, np.float32), 32000), "silent"),
    (lambda p: (np.where(np.arange(32000) == 5, np.nan, 0.1).astype(np.float32), 32000), "NaN"),
    (lambda p: (np.where(np.arange(32000) == 5, np.inf, 0.1).astype(np.float32), 32000), "NaN or infinite"),
    (lambda p: (np.zeros(0, np.float32), 32000), "empty"),
    (lambda p: (np.ones(100, np.float32) * 0.1, 2000), "outside the accepted range 4000..192000"),
    (lambda p: (np.ones(100, np.float32) * 0.1, 400000), "outside the accepted range"),
    (lambda p: (np.ones(100, np.float32) * 0.1, 44100.5), "whole number"),
    (lambda p: (np.ones((2, 2, 100), np.float32), 32000), "1-D (mono) or 2-D"),
    (lambda p: (np.ones(100, bool), 32000), "booleans"),
    (lambda p: str(p / "missing.wav"), "does not exist"),
    (lambda p: (p / "empty.wav").write_bytes(b"") and str(p / "empty.wav") or str(p / "empty.wav"), "0 bytes"),
    (lambda p: (p / "text.wav").write_text("hello " * 100) and str(p / "text.wav"), "cannot decode"),
    (lambda p: None, "no audio given"),
    (lambda p: 12345, "cannot read audio from int"),
])
def test_invalid_drums_raise_condition_error(tmp_path, make, fragment):
    with pytest.raises(ConditionError) as info:
        load_drums(make(tmp_path), sample_rate=32000, duration=1.0)
    assert info.value.field == "drums"
    assert str(info.value).startswith("drums:") and fragment in str(info.value)


def test_silent_file_is_rejected(tmp_path):
    path = tmp_path / "quiet.wav"
    sf.write(str(path), np.zeros((22050, 2), np.float32), 22050)
    with pytest.raises(ConditionError, match="silent") as info:
        load_drums(str(path))
    assert info.value.field == "drums"
