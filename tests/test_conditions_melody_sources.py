"""Melody readers and dispatch: MIDI, rendered audio, salience files, arrays."""

import numpy as np
import pretty_midi
import pytest
import soundfile as sf
import torch

from jasco_core.conditions import (
    MELODY_LOWEST_MIDI,
    ConditionError,
    load_melody,
    melody_from_audio,
    melody_from_midi,
    melody_from_salience_file,
    pitches_to_salience,
)

FRAME_RATE = 50
# (pitch, start, end) of a small tune; a few notes start between frames
TUNE = [(67, 0.25, 0.7), (69, 0.75, 1.2), (71, 1.25, 1.7), (72, 1.75, 2.2), (74, 2.25, 2.71),
        (72, 2.75, 3.2), (71, 3.253, 3.7), (67, 3.75, 4.6), (76, 4.75, 5.2), (79, 5.25, 6.0)]
N_FRAMES = 325  # 6.5 s


class Payload:
    """An arbitrary object: loading it would need unpickling code."""


def tune_midi(program_name="Flute", extra_tracks=()):
    pm = pretty_midi.PrettyMIDI()
    lead = pretty_midi.Instrument(program=pretty_midi.instrument_name_to_program(program_name), name="Lead")
    lead.notes = [pretty_midi.Note(velocity=100, pitch=p, start=s, end=e) for p, s, e in TUNE]
    pm.instruments.append(lead)
    for inst in extra_tracks:
        pm.instruments.append(inst)
    return pm


def expected_pitches(notes, n_frames, frame_rate=FRAME_RATE):
    """Reference rule written out plainly: highest note with start <= t < end at t = i / frame_rate."""
    out = []
    for i in range(n_frames):
        t = i / frame_rate
        sounding = [p for p, s, e in notes if s <= t < e]
        out.append(max(sounding) if sounding else -1)
    return np.array(out)


# ------------------------------------------------------------------ MIDI
def test_midi_file_gives_exact_frames(tmp_path):
    path = tmp_path / "tune.mid"
    tune_midi().write(str(path))
    melody = load_melody(str(path), N_FRAMES, FRAME_RATE)
    want = expected_pitches(TUNE, N_FRAMES)
    assert np.array_equal(melody.pitches, want)            # 100 %
    assert np.array_equal(melody.salience, pitches_to_salience(want))
    assert melody.salience.shape == (53, N_FRAMES)
    assert melody.warnings == ()
    # the note starting at 3.253 s begins on frame 163 (3.26 s), not 162 (3.24 s)
    assert melody.pitches[162] == -1 and melody.pitches[163] == 71


def test_midi_skyline_and_track_choice(tmp_path):
    pad = pretty_midi.Instrument(program=0, name="Piano")
    pad.notes = [pretty_midi.Note(velocity=80, pitch=p, start=0.0, end=6.0) for p in (48, 52, 55)]
    bass = pretty_midi.Instrument(program=33, name="Bass")
    bass.notes = [pretty_midi.Note(velocity=80, pitch=36, start=0.0, end=6.0)]
    drums = pretty_midi.Instrument(program=0, is_drum=True, name="Kit")
    drums.notes = [pretty_midi.Note(velocity=80, pitch=90, start=0.0, end=6.0)]  # ignored: drum track
    pm = tune_midi(extra_tracks=(pad, bass, drums))
    path = tmp_path / "band.mid"
    pm.write(str(path))

    sky = melody_from_midi(str(path), N_FRAMES)
    want = expected_pitches(TUNE + [(48, 0.0, 6.0), (52, 0.0, 6.0), (55, 0.0, 6.0)], N_FRAMES)
    assert np.array_equal(sky.pitches, want)
    assert sky.pitches[0] == 55 and sky.pitches[20] == 67

    piano = melody_from_midi(pm, N_FRAMES, track="piano")          # by track name, any case
    assert set(piano.pitches[:300].tolist()) == {55}
    by_index = melody_from_midi(pm, N_FRAMES, track=0)
    assert np.array_equal(by_index.pitches, expected_pitches(TUNE, N_FRAMES))
    by_program = melody_from_midi(pm, N_FRAMES, track="Electric Bass (finger)")  # GM instrument name
    assert by_program.pitches[0] == 48                               # C2 folded up to C3
    assert any("octaves" in w for w in by_program.warnings)

    with pytest.raises(ConditionError) as info:
        melody_from_midi(pm, N_FRAMES, track="Violin")
    assert info.value.field == "melody" and "0: Lead" in str(info.value) and "2: Bass" in str(info.value)
    with pytest.raises(ConditionError, match="track 9 does not exist"):
        melody_from_midi(pm, N_FRAMES, track=9)


def test_midi_errors(tmp_path):
    only_drums = pretty_midi.PrettyMIDI()
    kit = pretty_midi.Instrument(program=0, is_drum=True)
    kit.notes = [pretty_midi.Note(velocity=100, pitch=36, start=0, end=0.2)]
    only_drums.instruments.append(kit)
    with pytest.raises(ConditionError, match="no pitched notes") as info:
        melody_from_midi(only_drums, 100)
    assert info.value.field == "melody"
    late = pretty_midi.PrettyMIDI()
    inst = pretty_midi.Instrument(program=0)
    inst.notes = [pretty_midi.Note(velocity=100, pitch=60, start=20, end=21)]
    late.instruments.append(inst)
    with pytest.raises(ConditionError, match="first 10 s"):
        melody_from_midi(late, 500)
    broken = tmp_path / "broken.mid"
    broken.write_bytes(b"MThd this is not midi")
    with pytest.raises(ConditionError, match="cannot read MIDI file 'broken.mid'") as info:
        load_melody(str(broken), 100)
    assert info.value.field == "melody"
    with pytest.raises(ConditionError, match="does not exist"):
        load_melody(str(tmp_path / "missing.mid"), 100)


# ------------------------------------------------------------------ audio
def test_rendered_flute_melody_is_recovered(tmp_path):
    pm = tune_midi("Flute")
    wav = pm.fluidsynth(fs=44100)
    stereo = np.stack([wav, 0.8 * wav], axis=1).astype(np.float32)   # stereo file at 44.1 kHz
    path = tmp_path / "flute.wav"
    sf.write(str(path), stereo, 44100)

    melody = load_melody(str(path), N_FRAMES, FRAME_RATE)
    want = expected_pitches(TUNE, N_FRAMES)
    ref_voiced = want >= 0
    est_voiced = melody.pitches >= 0
    both = ref_voiced & est_voiced
    assert both.sum() / ref_voiced.sum() >= 0.85                       # voicing recall
    pc_match = np.mean(melody.pitches[both] % 12 == want[both] % 12)
    assert pc_match >= 0.90, pc_match
    # the rendered tune lies inside the bins, so exact pitches match too
    assert np.mean(melody.pitches[both] == want[both]) >= 0.90
    # silence before the first note is unvoiced
    assert not est_voiced[:10].any()
    assert melody.salience.shape == (53, N_FRAMES)
    assert np.array_equal(melody.salience, pitches_to_salience(melody.pitches))


def test_audio_pair_in_browser_order_and_low_voice_folding():
    # a low cello line (C2..G2) rendered at 22.05 kHz, given as (sample_rate, int16) like a recording
    low = [(36, 0.1, 0.9), (40, 1.0, 1.9), (43, 2.0, 2.9)]
    pm = pretty_midi.PrettyMIDI()
    cello = pretty_midi.Instrument(program=pretty_midi.instrument_name_to_program("Cello"))
    cello.notes = [pretty_midi.Note(velocity=110, pitch=p, start=s, end=e) for p, s, e in low]
    pm.instruments.append(cello)
    wav = pm.fluidsynth(fs=22050)
    pcm = np.clip(wav / np.abs(wav).max() * 20000, -32768, 32767).astype(np.int16)
    melody = load_melody((22050, pcm), 150, FRAME_RATE)
    want = expected_pitches(low, 150)
    both = (want >= 0) & (melody.pitches >= 0)
    assert both.sum() >= 0.8 * (want >= 0).sum()
    assert np.mean(melody.pitches[both] % 12 == want[both] % 12) >= 0.9
    assert melody.pitches[both].min() >= MELODY_LOWEST_MIDI      # folded into range
    assert any("octaves" in w for w in melody.warnings)


def test_silent_and_invalid_audio_are_rejected(tmp_path):
    path = tmp_path / "silence.wav"
    sf.write(str(path), np.zeros(16000, dtype=np.float32), 16000)
    with pytest.raises(ConditionError, match="silent") as info:
        load_melody(str(path), 100)
    assert info.value.field == "melody"
    bad = np.zeros(16000, dtype=np.float32)
    bad[100] = np.nan
    with pytest.raises(ConditionError, match="NaN") as info:
        melody_from_audio((bad, 16000), 100)
    assert info.value.field == "melody"


# ------------------------------------------------------------------ salience files
def test_salience_file_round_trip(tmp_path):
    want = expected_pitches(TUNE, N_FRAMES)
    salience = pitches_to_salience(want)
    np.save(tmp_path / "m.npy", salience)
    torch.save(torch.from_numpy(salience), tmp_path / "m.pt")
    torch.save(torch.from_numpy(salience.T.copy()), tmp_path / "m_time_major.th")   # [T, 53] like the released examples
    torch.save({"salience": torch.from_numpy(salience)}, tmp_path / "m_dict.pt")
    for name in ("m.npy", "m.pt", "m_time_major.th", "m_dict.pt"):
        melody = load_melody(str(tmp_path / name), N_FRAMES)
        assert np.array_equal(melody.salience, salience), name
        assert np.array_equal(melody.pitches, want), name
    assert any("transposed" in w for w in melody_from_salience_file(tmp_path / "m_time_major.th").warnings)
    assert melody_from_salience_file(tmp_path / "m.npy").warnings == ()


def test_salience_values_binarised_and_length_conformed(tmp_path):
    rng = np.random.default_rng(0)
    soft = rng.random((53, 60)).astype(np.float32)
    soft[:, 10] = 0.0
    np.save(tmp_path / "soft.npy", soft)
    melody = load_melody(str(tmp_path / "soft.npy"), 50)
    assert melody.salience.shape == (53, 50)
    assert np.array_equal(melody.pitches[:50] - 43, np.where(np.arange(50) == 10, -44, soft[:, :50].argmax(0)))
    assert set(np.unique(melody.salience)) == {0.0, 1.0}
    assert any("only the first 50" in w for w in melody.warnings)
    padded = load_melody(str(tmp_path / "soft.npy"), 80)
    assert padded.salience.shape == (53, 80) and padded.salience[:, 60:].sum() == 0
    assert any("padded" in w for w in padded.warnings)


@pytest.mark.parametrize("array,fragment", [
    (np.zeros((52, 100)), "53 pitch rows"),
    (np.zeros((53, 100, 1)), "2-D"),
    (np.zeros((53, 0)), "no frames"),
    (np.full((53, 10), np.nan), "NaN"),
    (np.full((53, 10), np.inf), "NaN or infinite"),
])
def test_salience_shape_and_value_errors(tmp_path, array, fragment):
    np.save(tmp_path / "bad.npy", array.astype(np.float32))
    with pytest.raises(ConditionError) as info:
        load_melody(str(tmp_path / "bad.npy"), 100)
    assert info.value.field == "melody" and fragment in str(info.value)
    assert "[53" in str(info.value) or "finite" in str(info.value)


def test_salience_file_errors(tmp_path):
    (tmp_path / "garbage.npy").write_bytes(b"not numpy")
    with pytest.raises(ConditionError, match="cannot read melody file 'garbage.npy'"):
        load_melody(str(tmp_path / "garbage.npy"), 100)
    # arbitrary pickled objects are refused (weights_only loading)
    torch.save({"a": torch.zeros(53, 5), "b": torch.zeros(53, 5)}, tmp_path / "two.pt")
    with pytest.raises(ConditionError, match="2 arrays"):
        load_melody(str(tmp_path / "two.pt"), 100)
    torch.save(Payload(), tmp_path / "object.pt")
    with pytest.raises(ConditionError, match="cannot read melody file 'object.pt'"):
        load_melody(str(tmp_path / "object.pt"), 100)


# ------------------------------------------------------------------ dispatcher
def test_dispatcher_forms(tmp_path):
    want = expected_pitches(TUNE, 100)
    assert np.array_equal(load_melody(pitches_to_salience(want), 100).pitches, want)
    assert np.array_equal(load_melody(torch.from_numpy(pitches_to_salience(want)), 100).pitches, want)
    assert np.array_equal(load_melody(want, 100).pitches, want)                   # 1-D pitch list
    assert np.array_equal(load_melody(want.tolist(), 100).pitches, want)
    assert np.array_equal(load_melody(tune_midi(), 100).pitches, want)            # PrettyMIDI object
    with pytest.raises(ConditionError, match="extension '.txt'") as info:
        load_melody(str(tmp_path / "melody.txt"), 100)
    assert info.value.field == "melody" and ".mid" in str(info.value)
    with pytest.raises(ConditionError, match="no melody given"):
        load_melody(None, 100)
    with pytest.raises(ConditionError, match="cannot use a dict"):
        load_melody({"x": 1}, 100)


def test_readers_are_the_package_exports():
    import jasco_core.conditions as conditions
    from jasco_core.conditions import melody_sources

    for name in melody_sources.__all__:
        assert getattr(conditions, name) is getattr(melody_sources, name), name
