"""The training-piece renderer: conditions must describe the rendered audio."""

from __future__ import annotations

import librosa
import numpy as np
import pretty_midi
import pytest

from jasco_core.conditions.chords import frame_chords
from jasco_core.conditions.vocabulary import load_vocabulary
from jasco_core.training.harmony import PROGRESSIONS, chord_label, parse_roman
from jasco_core.training.parts import MELODY_RANGE
from jasco_core.training.render import make_piece_spec, melody_to_frames, piece_to_midi, render_piece
from jasco_core.training.styles import INSTRUMENT_NAMES, STYLES
from jasco_core.training.synth import render_parts

SR = 22050
DURATION = 4.0
HOP = SR // 50  # 50 frames/s, the condition frame rate


def _first_seed(predicate, start=0):
    seed = start
    while not predicate(make_piece_spec(seed, DURATION)):
        seed += 1
    return seed


@pytest.fixture(scope="module")
def drum_seed():
    return _first_seed(lambda s: s.part("drums") is not None and s.meta["style"] != "waltz")


@pytest.fixture(scope="module")
def piece(drum_seed):
    return render_piece(drum_seed, DURATION, SR)


def test_audio_shape_and_loudness(piece):
    n = int(round(DURATION * SR))
    assert piece.audio.shape == (n,) and piece.drums.shape == (n,)
    assert piece.audio.dtype == np.float32
    assert np.abs(piece.audio).max() <= 0.95 + 1e-6
    rms = float(np.sqrt(np.mean(piece.audio.astype(np.float64) ** 2)))
    assert 0.03 < rms <= 0.1 + 1e-6
    assert piece.melody_pitch.shape == (int(DURATION * 50),)


def test_chord_labels_match_rendered_chroma():
    """In most frames the labelled chord's notes carry more chroma than the chord a tritone away."""
    vocab = load_vocabulary()
    for seed in (0, 1, 2):
        piece = render_piece(seed, DURATION, SR)
        assert piece.chords[0][1] == 0.0
        chroma = librosa.feature.chroma_cqt(y=piece.audio, sr=SR, hop_length=HOP)
        n = min(chroma.shape[1], len(piece.melody_pitch))
        indices = frame_chords(piece.chords, n, 50, vocab)
        wins, in_chord = 0, []
        for t in range(n):
            entry = vocab.entries[indices[t]]
            mask = np.zeros(12, bool)
            mask[list(entry.pitch_classes) + [entry.bass]] = True
            frame = chroma[:, t]
            wins += frame[mask].mean() > frame[np.roll(mask, 6)].mean()
            in_chord.append(frame[mask].sum() / frame.sum())
        assert wins / n > 0.8, (seed, piece.chords, wins / n)
        assert np.mean(in_chord) > 0.4, (seed, np.mean(in_chord))


def test_drum_stem_has_onsets_at_drum_notes(piece):
    drums = piece.spec.part("drums")
    assert drums is not None and drums.is_drum
    hits = np.unique(np.round([n.start for n in drums.notes if n.velocity >= 70], 3))
    all_hits = np.unique(np.round([n.start for n in drums.notes], 3))
    onsets = librosa.onset.onset_detect(y=piece.drums, sr=SR, hop_length=220, units="time")
    assert len(hits) >= 4 and len(onsets) >= 4
    recall = np.mean([np.min(np.abs(onsets - h)) < 0.05 for h in hits])
    precision = np.mean([np.min(np.abs(all_hits - o)) < 0.05 for o in onsets])
    assert recall >= 0.75, recall
    assert precision >= 0.75, precision
    # before the first drum note the stem is silent
    first = int(min(n.start for n in drums.notes) * SR)
    assert np.abs(piece.drums[:first]).max(initial=0.0) < 1e-4


def test_pieces_without_drums_have_a_silent_stem():
    seed = _first_seed(lambda s: s.part("drums") is None)
    piece = render_piece(seed, 2.0, SR)
    assert not piece.meta["has_drums"]
    assert not piece.drums.any()
    assert np.abs(piece.audio).max() > 0.1


def test_melody_pitch_matches_notes_and_audio(piece):
    notes = piece.melody_notes
    assert notes, "the lead has notes"
    for (_, _, end), (_, start, _) in zip(notes, notes[1:]):
        assert end <= start + 1e-9, "the lead is monophonic"
    assert all(MELODY_RANGE[0] <= p <= MELODY_RANGE[1] for p, _, _ in notes)
    frames = piece.melody_pitch
    times = np.arange(len(frames)) / 50.0
    expected = np.full(len(frames), -1)
    for pitch, start, end in notes:
        expected[(times >= start - 1e-9) & (times < end - 1e-9)] = pitch
    np.testing.assert_array_equal(frames, expected)
    assert np.array_equal(melody_to_frames(notes, len(frames)), frames)
    # the rendered lead plays those pitch classes
    lead = render_parts([piece.spec.part("lead")], DURATION, SR)
    chroma = librosa.feature.chroma_cqt(y=lead, sr=SR, hop_length=HOP)
    voiced = np.nonzero(frames[: chroma.shape[1]] >= 0)[0]
    accuracy = np.mean(np.argmax(chroma[:, voiced], axis=0) == frames[voiced] % 12)
    assert accuracy > 0.85, accuracy


def test_same_seed_same_audio_other_seed_differs(piece, drum_seed):
    render_piece(drum_seed + 1, 1.0, SR)  # rendering something else in between changes nothing
    again = render_piece(drum_seed, DURATION, SR)
    assert np.array_equal(piece.audio, again.audio)
    assert np.array_equal(piece.drums, again.drums)
    assert piece.chords == again.chords and piece.description == again.description
    other = render_piece(drum_seed + 1, DURATION, SR)
    assert not np.array_equal(piece.audio, other.audio)


def test_specs_are_musical_and_in_the_vocabulary():
    vocab = load_vocabulary()
    styles = set()
    for seed in range(120):
        spec = make_piece_spec(seed, 10.0)
        styles.add(spec.style)
        assert 70 <= spec.tempo <= 160
        bar = spec.beats_per_bar * 60.0 / spec.tempo
        grid = bar / 2 if spec.beats_per_bar == 4 else bar
        starts = [start for _, start in spec.chords]
        assert starts[0] == 0.0 and starts == sorted(starts) and starts[-1] < 10.0
        for label, start in spec.chords:
            assert label in vocab and label not in ("N", "UNK")
            assert abs(start / grid - round(start / grid)) < 1e-4, (label, start, grid)
        lead = STYLES[spec.style]
        assert spec.meta["programs"]["lead"] in lead.lead_programs
    assert styles == set(STYLES), set(STYLES) - styles


def test_descriptions_name_the_style_or_lead():
    texts = set()
    for seed in range(60):
        spec = make_piece_spec(seed, 10.0)
        text = spec.description.lower()
        texts.add(text)
        style = STYLES[spec.style]
        words = [w.lower() for w in style.genre_words + INSTRUMENT_NAMES[spec.meta["programs"]["lead"]]]
        assert any(w in text for w in words), (text, words)
        assert spec.meta["instruments"]["lead"] == INSTRUMENT_NAMES[spec.meta["programs"]["lead"]][0]
    assert len(texts) == 60  # varied templates and words


def test_every_progression_maps_to_vocabulary_chords():
    for progression in PROGRESSIONS.values():
        for token in progression.chords:
            chord = parse_roman(token)
            for tonic in range(12):
                label, pitch_classes, bass = chord_label(tonic + chord.root, chord.quality, tonic + chord.bass)
                assert (tonic + chord.bass) % 12 == bass
                assert label in load_vocabulary()


def test_piece_to_midi_round_trip(piece, tmp_path):
    path = tmp_path / "lead.mid"
    piece_to_midi(piece.spec, parts=("lead",)).write(str(path))
    midi = pretty_midi.PrettyMIDI(str(path))
    assert len(midi.instruments) == 1
    loaded = sorted((n.pitch, n.start, n.end) for n in midi.instruments[0].notes)
    assert len(loaded) == len(piece.melody_notes)
    for (p0, s0, e0), (p1, s1, e1) in zip(loaded, sorted(piece.melody_notes)):
        assert p0 == p1 and abs(s0 - s1) < 0.01 and abs(e0 - e1) < 0.01
    full = piece_to_midi(piece.spec)
    assert any(i.is_drum for i in full.instruments) and len(full.instruments) == 4
