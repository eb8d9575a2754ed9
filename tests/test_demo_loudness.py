"""Loudness of the page's audio (demo/loudness.py) on real audio: the bundled example outputs of
the embedded model, a FluidSynth-rendered drum pattern, and the tiny model's generations."""
from __future__ import annotations

import json
import math

import numpy as np
import pyloudnorm
import pytest
import soundfile as sf

from demo import loudness as L
from demo.examples import load_examples
from tests.conftest import Recorder, drum_track


def _example_output() -> tuple:
    example = next(e for e in load_examples() if e.get("output"))
    audio, rate = sf.read(example["output"], dtype="float32")
    return audio, rate


def _lufs(audio: np.ndarray, rate: int) -> float:
    return float(pyloudnorm.Meter(rate).integrated_loudness(audio.astype(np.float64)))


def test_a_quiet_model_output_is_brought_to_minus_14_lufs_under_the_true_peak_ceiling():
    audio, rate = _example_output()
    quiet = audio * (0.2 / np.abs(audio).max())            # the model's usual level: peaks near 0.2
    assert _lufs(quiet, rate) < -20
    out, done = L.normalise(quiet, rate)
    assert done.gain_db > 5 and math.isfinite(done.lufs_before)
    assert L.true_peak(out) <= 10 ** (L.CEILING_DBFS / 20) + 1e-6 and np.abs(out).max() <= 10 ** (-1 / 20)
    if done.gain_db < L.TARGET_LUFS - done.lufs_before - 0.01:    # lowered for the ceiling
        assert done.true_peak_dbfs == pytest.approx(L.CEILING_DBFS, abs=0.05)
    else:
        assert _lufs(out, rate) == pytest.approx(L.TARGET_LUFS, abs=0.1)
    assert np.allclose(out, quiet * 10 ** (done.gain_db / 20), atol=1e-6)   # one gain: the music is unchanged
    assert "LUFS" in done.describe() and "true peak" in done.describe()


def test_a_peaky_drum_track_is_held_under_the_ceiling_by_its_true_peak():
    drums = drum_track(22050)
    out, done = L.normalise(drums, 22050)
    assert done.true_peak_dbfs <= L.CEILING_DBFS + 1e-3 and np.abs(out).max() <= 10 ** (L.CEILING_DBFS / 20)
    assert _lufs(out, 22050) <= L.TARGET_LUFS + 0.1


def test_the_true_peak_sees_between_the_samples():
    rate = 22050
    n = np.arange(rate)
    sine = np.sin(2 * np.pi * (rate / 4) * n / rate + np.pi / 4)   # samples at +-0.707, the wave reaches 1
    assert np.abs(sine).max() == pytest.approx(0.7071, abs=1e-3)
    assert L.true_peak(sine) == pytest.approx(1.0, abs=0.02)


def test_silence_and_near_silence_are_left_as_they_are():
    for clip in (np.zeros(22050, np.float32), np.full(22050, 1e-5, np.float32)):
        out, done = L.normalise(clip, 22050)
        np.testing.assert_array_equal(out, clip)
        assert done.gain_db == 0 and done.lufs_before == -math.inf and done.describe() == "silent: left as it is"
        assert not np.any(np.isnan(out))
    assert L.loudness(np.zeros(0), 22050) == -math.inf


def test_a_clip_shorter_than_a_gating_block_is_measured_and_normalised():
    audio, rate = _example_output()
    short = audio[rate:rate + int(0.2 * rate)] * 0.1            # 0.2 s: half a BS.1770 block
    before = L.loudness(short, rate)
    assert math.isfinite(before)
    out, done = L.normalise(short, rate)
    assert math.isfinite(done.gain_db) and np.abs(out).max() <= 10 ** (L.CEILING_DBFS / 20)
    assert L.loudness(out, rate) <= L.TARGET_LUFS + 0.1


def test_generate_normalises_its_wavs_and_can_leave_the_raw_level(tiny_handlers):
    common = dict(text="mellow jazz piano", chords="C:0 F:1", seed=11, random_seed=False, adherence=False)
    raw = tiny_handlers.generate(**common, normalize=False, progress=Recorder())
    loud = tiny_handlers.generate(**common, progress=Recorder())          # on by default
    a, rate = sf.read(raw[0], dtype="float64")
    b, _ = sf.read(loud[0], dtype="float64")
    stats = dict(map(tuple, loud[6]))
    assert dict(map(tuple, raw[6]))["loudness"] == "as generated (not normalised)"
    assert "LUFS" in stats["loudness"] and np.abs(b).max() <= 10 ** (L.CEILING_DBFS / 20) + 1e-4
    # the raw WAV is the library's audio as it is; the page's one is the same audio times one gain
    result = tiny_handlers.pipeline.generate("mellow jazz piano", chords="C:0 F:1", seed=11,
                                             duration=tiny_handlers.defaults.duration)
    np.testing.assert_allclose(a, result.audio[0], atol=1.5 / 32768)
    gain = float(np.dot(a, b) / np.dot(a, a))
    np.testing.assert_allclose(b, a * gain, atol=3 / 32768 * max(gain, 1))
    assert json.load(open(loud[-3][-1]))["demo_inputs"]["normalize"] is True
    assert json.load(open(raw[-3][-1]))["demo_inputs"]["normalize"] is False
