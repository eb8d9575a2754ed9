"""Melody representation: the 53 bins, octave folding, salience <-> per-frame pitches."""

import numpy as np
import pytest

from jasco_core.conditions import (
    MELODY_BINS,
    MELODY_HIGHEST_MIDI,
    MELODY_LOWEST_MIDI,
    bin_to_midi,
    midi_to_bin,
    pitches_to_salience,
    salience_to_pitches,
)


# ------------------------------------------------------------------ bins
def test_bin_mapping_constants():
    assert MELODY_BINS == 53
    assert (MELODY_LOWEST_MIDI, MELODY_HIGHEST_MIDI) == (43, 95)  # G2 .. B6
    assert midi_to_bin(43) == 0 and midi_to_bin(95) == 52 and midi_to_bin(60) == 17
    assert bin_to_midi(0) == 43 and bin_to_midi(52) == 95
    assert all(bin_to_midi(midi_to_bin(p)) == p for p in range(43, 96))
    with pytest.raises(ValueError):
        bin_to_midi(53)


def test_out_of_range_pitches_fold_by_octaves():
    assert midi_to_bin(42) == midi_to_bin(54) == 11   # F#2 -> F#3
    assert midi_to_bin(31) == midi_to_bin(43) == 0    # G1 -> G2
    assert midi_to_bin(96) == midi_to_bin(84) == 41   # C7 -> C6
    assert midi_to_bin(127) == midi_to_bin(91)
    assert midi_to_bin(0) == midi_to_bin(48)
    assert midi_to_bin(-1) == -1 and midi_to_bin(float("nan")) == -1
    assert midi_to_bin(60.4) == 17


def test_pitches_to_salience_is_one_hot():
    pitches = np.array([60, -1, 43, 95, 30, 100, 61])
    s = pitches_to_salience(pitches)
    assert s.shape == (53, 7) and s.dtype == np.float32
    assert s.sum(axis=0).tolist() == [1, 0, 1, 1, 1, 1, 1]
    assert s[:, 1].sum() == 0
    assert np.argmax(s[:, 0]) == 17 and np.argmax(s[:, 2]) == 0 and np.argmax(s[:, 3]) == 52
    assert salience_to_pitches(s).tolist() == [60, -1, 43, 95, 54, 88, 61]
    floats = pitches_to_salience(np.array([60.2, np.nan]))
    assert floats[17, 0] == 1 and floats[:, 1].sum() == 0
    with pytest.raises(ValueError):
        pitches_to_salience(np.zeros((2, 3)))


def test_fold_pitch_and_condition_properties():
    from jasco_core.conditions.melody import UNVOICED, MelodyCondition, fold_pitch

    assert fold_pitch(30) == 54 and fold_pitch(100) == 88 and fold_pitch(60) == 60
    assert fold_pitch(-5) == UNVOICED == -1
    pitches = np.array([60, -1, -1, 72])
    melody = MelodyCondition(pitches_to_salience(pitches), pitches, 50.0)
    assert melody.n_frames == 4 and melody.voiced_fraction == 0.5
    assert MelodyCondition(np.zeros((53, 0), np.float32), np.zeros(0, np.int64), 50.0).voiced_fraction == 0.0
