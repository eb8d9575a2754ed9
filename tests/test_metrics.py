"""Adherence metrics on rendered music: right conditions score high, wrong ones low."""
from __future__ import annotations

import numpy as np
import pretty_midi
import pytest

from jasco_core.conditions import load_drums
from jasco_core.metrics import (MetricInputError, chord_accuracy, drum_onset_f1, melody_agreement,
                                onset_times)
from tests.conftest import HITS

SR = 22050
SECONDS = 10.0
CHORD_LEN = 1.25
# (label, root MIDI note, intervals): G7 is scored as G major, the others as written
PROGRESSION = [("C", 60, (0, 4, 7)), ("Am", 57, (0, 3, 7)), ("F", 65, (0, 4, 7)), ("G7", 55, (0, 4, 7, 10)),
               ("Em", 64, (0, 3, 7)), ("Dm", 62, (0, 3, 7)), ("Bb", 58, (0, 4, 7)), ("E", 64, (0, 4, 7))]
CHORDS = [(label, CHORD_LEN * i) for i, (label, _, _) in enumerate(PROGRESSION)]


def render(*instruments: pretty_midi.Instrument, sample_rate: int = SR) -> np.ndarray:
    pm = pretty_midi.PrettyMIDI(initial_tempo=120)
    pm.instruments += list(instruments)
    audio = pm.fluidsynth(fs=sample_rate)
    n = int(SECONDS * sample_rate)
    return np.pad(audio, (0, max(0, n - len(audio))))[:n].astype(np.float32)


def piano_part() -> pretty_midi.Instrument:
    piano = pretty_midi.Instrument(program=0)
    for i, (_, root, intervals) in enumerate(PROGRESSION):
        start = CHORD_LEN * i
        piano.notes += [pretty_midi.Note(80, root + k, start, start + CHORD_LEN) for k in intervals]
        piano.notes.append(pretty_midi.Note(80, root - 12, start, start + CHORD_LEN))
    return piano


def flute_part() -> pretty_midi.Instrument:
    """A melody of chord tones, one octave above the piano, 8th and quarter notes."""
    rng = np.random.default_rng(3)
    flute = pretty_midi.Instrument(program=73)
    t = 0.0
    while t < SECONDS - 1e-9:
        index = min(int(t / CHORD_LEN), len(PROGRESSION) - 1)
        _, root, intervals = PROGRESSION[index]
        length = 0.25 * int(rng.integers(1, 3))
        pitch = root + 12 + int(rng.choice(intervals[:3]))
        flute.notes.append(pretty_midi.Note(100, pitch, t, min(t + length, SECONDS)))
        t += length
    return flute


def drum_part() -> pretty_midi.Instrument:
    drums = pretty_midi.Instrument(program=0, is_drum=True)
    for k in range(40):
        t = 0.25 * k
        drums.notes.append(pretty_midi.Note(80, 42, t, t + 0.1))
        if k % 4 in (0, 2):
            drums.notes.append(pretty_midi.Note(110, 36 if k % 4 == 0 else 38, t, t + 0.1))
    return drums


def melody_frames(instrument: pretty_midi.Instrument, frame_rate: float = 50.0) -> np.ndarray:
    """MIDI pitch per frame (-1 silent): a note covers frame i if start <= i / frame_rate < end."""
    pitches = np.full(int(SECONDS * frame_rate), -1, dtype=np.int64)
    for note in instrument.notes:
        first, last = int(np.ceil(note.start * frame_rate - 1e-9)), int(np.ceil(note.end * frame_rate - 1e-9))
        pitches[first:last] = note.pitch
    return pitches


def delayed(audio: np.ndarray, seconds: float) -> np.ndarray:
    shift = int(round(seconds * SR))
    return np.concatenate([np.zeros(shift, dtype=audio.dtype), audio[:-shift]])


@pytest.fixture(scope="module")
def piano() -> np.ndarray:
    return render(piano_part())


@pytest.fixture(scope="module")
def drums() -> np.ndarray:
    return render(drum_part())


@pytest.fixture(scope="module")
def band() -> np.ndarray:
    return render(piano_part(), flute_part(), drum_part())


# ----------------------------------------------------------------------------- chords
def test_chord_accuracy_right_and_wrong_labels(piano, band):
    right = chord_accuracy(piano, SR, CHORDS, SECONDS)
    assert right > 0.85, right
    assert chord_accuracy(band, SR, CHORDS, SECONDS) > 0.7  # drums and melody on top
    next_labels = [(CHORDS[(i + 1) % len(CHORDS)][0], start) for i, (_, start) in enumerate(CHORDS)]
    assert chord_accuracy(piano, SR, next_labels, SECONDS) < 0.3
    up_a_semitone = [("C#", 0.0), ("A#m", 1.25), ("F#", 2.5), ("G#7", 3.75), ("Fm", 5.0), ("D#m", 6.25),
                     ("B", 7.5), ("F", 8.75)]
    assert chord_accuracy(piano, SR, up_a_semitone, SECONDS) < 0.2
    # labels late by half a chord: about half of the frames agree
    late = [(label, start + CHORD_LEN / 2) for label, start in CHORDS]
    assert 0.3 < chord_accuracy(piano, SR, late, SECONDS) < 0.65


def test_chord_accuracy_scoring_rule(piano):
    # 'N' and chords with no major/minor triad are left out of the score, so they agree exactly
    no_chord = [("N", 0.0)] + CHORDS[1:]
    diminished = [("Cdim", 0.0)] + CHORDS[1:]
    assert chord_accuracy(piano, SR, no_chord, SECONDS) == chord_accuracy(piano, SR, diminished, SECONDS)
    # extensions are reduced to the triad: Cmaj7 is scored as C major
    assert chord_accuracy(piano, SR, [("Cmaj7", 0.0)], CHORD_LEN) > 0.85
    # frames past `duration` are not scored
    assert chord_accuracy(piano, SR, [("C", 0.0)], CHORD_LEN) > 0.85
    assert chord_accuracy(piano, SR, [("N", 0.0)], SECONDS) == 0.0
    assert chord_accuracy(piano, SR, [], SECONDS) == 0.0


def test_chord_accuracy_silence_and_errors(piano):
    assert chord_accuracy(np.zeros(SR * 5, dtype=np.float32), SR, CHORDS, 5.0) == 0.0
    assert chord_accuracy(np.stack([piano, piano]), SR, CHORDS, SECONDS) > 0.85  # stereo is mixed down
    with pytest.raises(ValueError):
        chord_accuracy(piano, SR, [("H#q", 0.0)], SECONDS)
    with pytest.raises(MetricInputError):
        chord_accuracy(piano, SR, [("C",)], SECONDS)
    with pytest.raises(MetricInputError):
        chord_accuracy(piano, SR, CHORDS, 0.0)


# ----------------------------------------------------------------------------- melody
def test_melody_agreement_right_and_transposed():
    flute = flute_part()
    solo = render(flute)
    pitches = melody_frames(flute)
    assert melody_agreement(solo, SR, pitches) > 0.8
    assert melody_agreement(solo, SR, np.where(pitches >= 0, pitches + 2, -1)) < 0.2
    # an octave does not matter, the pitch class does
    assert melody_agreement(solo, SR, np.where(pitches >= 0, pitches - 12, -1)) > 0.8
    with_piano = render(flute, piano_part())
    assert melody_agreement(with_piano, SR, pitches) > 0.7
    assert melody_agreement(with_piano, SR, np.where(pitches >= 0, pitches + 5, -1)) < 0.2
    # same melody at another frame rate and sample rate
    assert melody_agreement(render(flute, sample_rate=16000), 16000, melody_frames(flute, 25.0), 25.0) > 0.8


def test_melody_agreement_silence_and_errors():
    pitches = melody_frames(flute_part())
    assert melody_agreement(np.zeros(SR * 10, dtype=np.float32), SR, pitches) == 0.0
    assert melody_agreement(render(flute_part()), SR, np.full(500, -1)) == 0.0
    with pytest.raises(MetricInputError):
        melody_agreement(np.zeros(SR), SR, pitches.astype(np.float32))
    with pytest.raises(MetricInputError):
        melody_agreement(np.zeros(SR), 0, pitches)


# ----------------------------------------------------------------------------- drums
def test_drum_onset_f1_self_mix_and_shifted(drums, band, piano):
    assert drum_onset_f1(drums, SR, drums, SR) > 0.95
    assert drum_onset_f1(band, SR, drums, SR) > 0.8
    # the same groove 125 ms late (half the hat spacing) matches nothing within 50 ms
    assert drum_onset_f1(delayed(drums, 0.125), SR, drums, SR) < 0.2
    assert drum_onset_f1(delayed(band, 0.125), SR, drums, SR) < 0.3
    assert drum_onset_f1(piano, SR, drums, SR) < 0.5
    # stem at another sample rate
    assert drum_onset_f1(band, SR, render(drum_part(), sample_rate=44100), 44100) > 0.8


def test_drum_onset_f1_silence(drums):
    silence = np.zeros(SR * 10, dtype=np.float32)
    assert drum_onset_f1(silence, SR, drums, SR) == 0.0
    assert drum_onset_f1(drums, SR, silence, SR) == 0.0
    with pytest.raises(MetricInputError):
        drum_onset_f1(np.full(SR, np.nan), SR, drums, SR)


def test_onsets_match_the_hits(drums48k):
    wav = load_drums((drums48k, 48000), sample_rate=32000, duration=4.0)
    onsets = onset_times(wav, 32000)
    expected = np.array(HITS) + 0.05
    found = [np.min(np.abs(onsets - t)) < 0.04 for t in expected]
    assert np.mean(found) >= 0.9, (onsets, expected)
    assert len(onsets) <= len(expected) + 3


def test_onset_times_refuses_non_finite_audio():
    with pytest.raises(MetricInputError):
        onset_times(np.full(1000, np.nan, np.float32), 16000)


# ----------------------------------------------------------------------------- joins of long clips
