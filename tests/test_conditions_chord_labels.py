"""Chord symbols: spellings, notes, Harte syntax, and the nearest vocabulary chord."""

import json

import pytest

from jasco_core.conditions import parse_chord_label, to_vocabulary
from jasco_core.conditions.vocabulary import DEFAULT_VOCABULARY_PATH
from tests.conftest import vocabulary

VOCAB = vocabulary()


def test_every_vocabulary_label_parses_to_itself():
    data = json.loads(DEFAULT_VOCABULARY_PATH.read_text())
    for raw in data["entries"]:
        chord = parse_chord_label(raw["label"])
        assert chord.label == raw["label"] and chord.in_vocabulary
        if raw["root"] is None:
            assert chord.is_no_chord and chord.pitch_classes == ()
        else:
            assert chord.root == raw["root_pc"]
            assert chord.bass == raw["bass_pc"]
            assert list(chord.pitch_classes) == sorted(raw["pitch_classes"])


def test_vocabulary_labels_reparsed_without_exact_lookup():
    # respelling each label (lowercase root, flats as '♭') forces the full parser
    for entry in VOCAB.entries:
        if not entry.has_notes:
            continue
        text = entry.label[0].lower() + entry.label[1:].replace("b", "♭", 1) if entry.label[1:2] == "b" else entry.label[0].lower() + entry.label[1:]
        chord = parse_chord_label(text)
        assert (chord.label, chord.root, chord.pitch_classes, chord.bass) == (
            entry.label, entry.root, entry.pitch_classes, entry.bass), text


@pytest.mark.parametrize("text,label", [
    ("Db", "C#"), ("C#", "C#"), ("Gb", "F#"), ("G#", "Ab"), ("A#", "Bb"), ("D#", "Eb"),
    ("E#", "F"), ("Fb", "E"), ("Cb", "B"), ("B#", "C"), ("C♯", "C#"), ("B♭", "Bb"),
    ("dbm7", "C#m7"), ("gbmaj7", "F#maj7"), ("Ebm7b5/Db", "Ebm7b5/Db"), ("D#m7b5/C#", "Ebm7b5/Db"),
])
def test_enharmonic_roots_and_basses(text, label):
    assert parse_chord_label(text).label == label


@pytest.mark.parametrize("text", ["am", "Am", "A:min", "Amin", "Ami", "A-", "aminor", "A min"])
def test_minor_spellings(text):
    assert parse_chord_label(text).label == "Am"


@pytest.mark.parametrize("text,label", [
    ("C", "C"), ("c", "C"), ("CM", "C"), ("Cmaj", "C"), ("C:maj", "C"),
    ("Cmaj7", "Cmaj7"), ("CM7", "Cmaj7"), ("CΔ7", "Cmaj7"), ("CΔ", "Cmaj7"), ("C^7", "Cmaj7"), ("Cj7", "Cmaj7"),
    ("C:maj7", "Cmaj7"), ("CMaj7", "Cmaj7"),
    ("C7", "C7"), ("C:7", "C7"), ("Cm7", "Cm7"), ("C-7", "Cm7"), ("Cmin7", "Cm7"), ("C:min7", "Cm7"),
    ("C6", "C6"), ("Cm6", "Cm6"), ("C:maj6", "C6"), ("C:min6", "Cm6"),
    ("Cm7b5", "Cm7b5"), ("Cø", "Cm7b5"), ("Cø7", "Cm7b5"), ("C:hdim7", "Cm7b5"), ("Cm7(b5)", "Cm7b5"),
    ("C-7b5", "Cm7b5"), ("Cmin7-5", "Cm7b5"),
    ("Cdim", "Cdim"), ("C°", "Cdim"), ("Co", "Cdim"), ("C:dim", "Cdim"), ("Cmb5", "Cdim"),
    ("Caug", "Caug"), ("C+", "Caug"), ("C(#5)", "Caug"), ("C:aug", "Caug"),
    ("C/E", "C/E"), ("C/G", "C/G"), ("C/Bb", "C/Bb"), ("C/A#", "C/Bb"), ("C/3", "C/E"), ("C:maj/b7", "C/Bb"),
    ("Db/F", "C#/E#"), ("A7/C#", "A7/C#"), ("A7/Db", "A7/C#"), ("G7/B", "G7/B"),
    ("C:(1,3,5)", "C"), ("N", "N"), ("NC", "N"), ("N.C.", "N"), ("n", "N"), ("UNK", "UNK"),
])
def test_quality_spellings_in_vocabulary(text, label):
    chord = parse_chord_label(text)
    assert chord.label == label and chord.in_vocabulary


@pytest.mark.parametrize("text,notes,bass", [
    ("Csus2", (0, 2, 7), 0), ("Csus4", (0, 5, 7), 0), ("Csus", (0, 5, 7), 0), ("C7sus4", (0, 5, 7, 10), 0),
    ("C9", (0, 2, 4, 7, 10), 0), ("Cadd9", (0, 2, 4, 7), 0), ("Cmaj9", (0, 2, 4, 7, 11), 0),
    ("Cm9", (0, 2, 3, 7, 10), 0), ("C6/9", (0, 2, 4, 7, 9), 0), ("C5", (0, 7), 0), ("Cdim7", (0, 3, 6, 9), 0),
    ("C°7", (0, 3, 6, 9), 0), ("CmM7", (0, 3, 7, 11), 0), ("Cm(maj7)", (0, 3, 7, 11), 0), ("C7#9", (0, 3, 4, 7, 10), 0),
    ("C7b9", (0, 1, 4, 7, 10), 0), ("C13", (0, 2, 4, 7, 9, 10), 0),
    ("Csus4/G", (0, 5, 7), 7), ("C:sus4(b7)", (0, 5, 7, 10), 0), ("C/D", (0, 4, 7), 2),
])
def test_chord_notes(text, notes, bass):
    chord = parse_chord_label(text)
    assert chord.pitch_classes == notes and chord.bass == bass and chord.root == 0


@pytest.mark.parametrize("text,nearest", [
    ("Csus4", "C"),        # same distance as F/C; bass equal for both, root decides
    ("Csus2", "C"),
    ("C9", "C7"), ("C13", "C7"), ("Cmaj9", "Cmaj7"), ("Cm9", "Cm7"), ("Cadd9", "C"),
    ("Cdim7", "Cdim"), ("C7#9", "C7"), ("CmM7", "Cm"),
    ("Am7/C", "C6"),       # same notes as C6 and Am7: the bass (C) decides
    ("Am7/G", "Am7"),      # same notes, neither bass is G: the root decides
    ("F#9", "F#7"), ("Dbmaj9", "C#maj7"),
    # an inversion the vocabulary lacks keeps the written root position, never another inversion
    ("A7/E", "A7"), ("A7/G", "A7"), ("E7/B", "E7"), ("Cm/Eb", "Cm"), ("Cmaj7/E", "Cmaj7"),
])
def test_nearest_vocabulary_chord(text, nearest):
    chord = parse_chord_label(text)
    assert not chord.in_vocabulary
    assert to_vocabulary(chord).label == nearest


def test_inversions_that_exist_are_kept_and_missing_ones_fall_back_to_root_position():
    """Over the whole released vocabulary: every entry maps to itself; every other inversion of a
    vocabulary chord maps to a chord with the written bass when one exists, else to root position."""
    names = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"]
    for entry in VOCAB.entries:
        if not entry.has_notes:
            continue
        assert to_vocabulary(parse_chord_label(entry.label)).label == entry.label
        if "/" in entry.label:
            continue
        for bass in sorted(set(entry.pitch_classes) - {entry.root}):
            written = parse_chord_label(f"{entry.label}/{names[bass]}")
            target = to_vocabulary(written)
            assert set(target.pitch_classes) == set(entry.pitch_classes), (written.label, target.label)
            if written.label in VOCAB:
                assert target.label == written.label
            else:
                same_bass = [e for e in VOCAB.entries if e.has_notes and e.bass == bass
                             and set(e.pitch_classes) == set(entry.pitch_classes)]
                assert target.bass == (bass if same_bass else target.root), (written.label, target.label)
