"""The shared audio loader: formats, limits, and errors that name the field."""

import os
import tempfile

import numpy as np
import pytest
import soundfile as sf

from jasco_core.conditions import AudioLimits, ConditionError, DrumsConfig, load_audio, load_drums


def test_lossy_and_other_formats_read_without_temp_files(tmp_path, drums48k, monkeypatch):
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    for name, fmt in (("d.flac", "FLAC"), ("d.ogg", "OGG"), ("d.mp3", "MP3")):
        sf.write(str(tmp_path / name), drums48k, 48000, format=fmt)
        wav = load_drums(str(tmp_path / name), sample_rate=32000, duration=2.0)
        assert wav.shape == (64000,) and np.abs(wav).max() > 0.1
    (tmp_path / "fake.m4a").write_bytes(b"\x00" * 1000)        # neither decoder can read this
    with pytest.raises(ConditionError, match="not a supported audio format"):
        load_drums(str(tmp_path / "fake.m4a"))
    assert os.listdir(scratch) == []


def test_limits(tmp_path, drums48k):
    path = tmp_path / "long.wav"
    sf.write(str(path), drums48k, 48000)
    with pytest.raises(ConditionError, match="at most 1 s"):
        load_drums(str(path), config=DrumsConfig(AudioLimits(max_seconds=1.0)))
    with pytest.raises(ConditionError, match="at most 1 s"):
        load_drums((drums48k, 48000), config=DrumsConfig(AudioLimits(max_seconds=1.0)))
    with pytest.raises(ConditionError, match="MiB"):
        load_drums(str(path), config=DrumsConfig(AudioLimits(max_file_bytes=1000)))
    with pytest.raises(ConditionError) as info:
        load_drums(str(path), duration=0)
    assert info.value.field == "duration"


def test_shared_loader_names_the_field():
    with pytest.raises(ConditionError) as info:
        load_audio((np.zeros(100, np.float32), 16000), field="melody", sample_rate=16000)
    assert info.value.field == "melody"
    full = load_audio((np.ones(1000, np.float32) * 0.5, 8000), field="x", sample_rate=8000)
    assert full.shape == (1000,)                                 # no duration: kept whole
