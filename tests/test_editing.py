"""Repaint and extend: what is kept, what is new, lengths, and the errors that name the field."""
import os

import numpy as np
import pytest
import soundfile as sf
import torch

from jasco_core.editing import EditError, encode_audio, extension_known, region_known, splice


def test_region_and_extension_masks():
    known = region_known(500, 50.0, 10.0, 2.0, 4.5)
    assert (~known).sum() == 125 and not known[100] and not known[224] and known[99] and known[225]
    assert extension_known(3, 2).tolist() == [True, True, True, False, False]


@pytest.mark.parametrize("start, end, field", [(-1, 2, "start"), (2, 11, "end"), (5, 5, "end"), (6, 5, "end"),
                                               ("a", 3, "start"), (0, None, "end")])
def test_region_errors_name_the_field(start, end, field):
    with pytest.raises(EditError) as err:
        region_known(500, 50.0, 10.0, start, end)
    assert err.value.field == field


def test_splice_keeps_the_original_outside_with_crossfades():
    sr = 1000
    original, new = np.ones(5000, np.float32), np.full((1, 5000), -1.0, np.float32)
    out = splice(original, new, sr, 2.0, 3.0, fade=0.1)
    assert np.all(out[0, :1950] == 1) and np.all(out[0, 2050:2950] == -1) and np.all(out[0, 3050:] == 1)
    assert np.all(np.diff(out[0, 1940:2060]) <= 0)                     # a smooth ramp, no jump


@pytest.fixture(scope="module")
def pipe():
    import jasco_core
    return jasco_core.load_pipeline("embedded", device="cpu")


@pytest.fixture(scope="module")
def clip(pipe):
    return pipe.generate("mellow jazz piano", chords="C:0 Am:3 F:6 G:9 C:12 F:15", duration=18.0, seed=4)


def test_repaint_keeps_the_outside_in_latent_space_and_changes_the_inside(pipe, clip):
    audio = (clip.audio[0], clip.sample_rate)
    r = pipe.repaint(audio, 6.0, 12.0, "mellow jazz piano", chords="C:0 Am:3 D:6 E:9 C:12 F:15", seed=1)
    assert r.audio.shape == clip.audio.shape and np.isfinite(r.audio).all()
    z_in = encode_audio(pipe.bundle.codec, clip.audio[0], r.latents.shape[1])
    outside = torch.ones(r.latents.shape[1], dtype=torch.bool)
    outside[300:600] = False
    assert torch.equal(r.latents[0, outside], z_in[0, outside])
    assert (r.latents[0, ~outside] - z_in[0, ~outside]).abs().mean() > 0.1
    sr = clip.sample_rate
    assert np.array_equal(r.audio[0, :int(5.9 * sr)], clip.audio[0, :int(5.9 * sr)])
    assert np.array_equal(r.audio[0, int(12.1 * sr):], clip.audio[0, int(12.1 * sr):])
    assert r.parameters["edit"] == "repaint" and r.windows[0].known_frames > 0


def test_extend_continues_the_input(pipe, clip, tmp_path):
    path = tmp_path / "input.wav"
    sf.write(str(path), clip.audio[0, : 8 * clip.sample_rate], clip.sample_rate)
    r = pipe.extend(str(path), 7.0, "mellow jazz piano", chords="C:0 Am:3 F:6 G:9 C:12", seed=2)
    assert r.audio.shape == (1, 15 * clip.sample_rate) and np.isfinite(r.audio).all()
    np.testing.assert_allclose(r.audio[0, : int(7.9 * clip.sample_rate)], clip.audio[0, : int(7.9 * clip.sample_rate)],
                               atol=1e-4)   # a 16-bit WAV round trip
    assert np.abs(r.audio[0, 9 * clip.sample_rate:]).max() > 0.01
    assert r.parameters["edit"] == "extend" and r.parameters["seconds"] == 7.0


def test_edit_errors_name_the_field_and_leave_nothing_on_disk(pipe, clip, tmp_path):
    sr = clip.sample_rate
    audio = (clip.audio[0], sr)
    before = set(os.listdir(tmp_path))
    cases = [
        (lambda: pipe.repaint(audio, 10.0, 30.0), "end"),
        (lambda: pipe.repaint(audio, 8.0, 8.0), "end"),
        (lambda: pipe.repaint(audio, -2.0, 3.0), "start"),
        (lambda: pipe.repaint(str(tmp_path / "missing.wav"), 0, 1), "audio"),
        (lambda: pipe.repaint(b"not audio", 0, 1), "audio"),
        (lambda: pipe.repaint((np.zeros(int(sr * 301), np.float32) + 0.1, sr), 0, 1), "audio"),
        (lambda: pipe.extend(audio, 290.0), "seconds"),
        (lambda: pipe.extend(audio, 0.0), "seconds"),
        (lambda: pipe.extend(audio, "long"), "seconds"),
        (lambda: pipe.extend((np.zeros(int(sr * 300), np.float32) + 0.1, sr), 5.0), "audio"),
        (lambda: pipe.repaint(audio, 1, 2, seed=-3), "seed"),
    ]
    for call, field in cases:
        with pytest.raises(ValueError) as err:
            call()
        assert getattr(err.value, "field", None) == field, (field, str(err.value))
    (tmp_path / "bad.wav").write_bytes(b"RIFF....WAVEfmt garbage")
    with pytest.raises(ValueError) as err:
        pipe.extend(str(tmp_path / "bad.wav"), 2.0)
    assert err.value.field == "audio"
    assert set(os.listdir(tmp_path)) == before | {"bad.wav"}
