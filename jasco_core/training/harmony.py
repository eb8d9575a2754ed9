"""Keys, scales and chord progressions for generated pieces.

Progressions are written in a small roman-numeral notation relative to the
tonic (major-scale degrees; ``b``/``#`` alter them), so one table serves all
twelve keys:

* case gives the triad: ``V`` major, ``vi`` minor;
* suffixes: ``7`` (dominant or minor seventh by case), ``maj7``, ``6`` (``m6``
  in lower case), ``dim``, ``aug``, ``7b5`` (half-diminished, lower case);
* a slash names the bass as an interval above the chord root: ``/3``,
  ``/5``, ``/2``, ``/b7`` (the slash chords the vocabulary has);
* ``*2`` or ``*0.5`` scales a chord's length relative to the harmonic rhythm.

Every generated chord is mapped to its exact label in the model vocabulary,
so the labels in a piece's conditions are what the model was trained on.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Optional

from jasco_core.conditions.vocabulary import ChordVocabulary, load_vocabulary

__all__ = [
    "SCALES",
    "PROGRESSIONS",
    "Progression",
    "ChordEvent",
    "RomanChord",
    "parse_roman",
    "chord_label",
    "key_name",
    "make_progression",
]

#: Pitch classes of each mode relative to the tonic.
SCALES: dict[str, tuple[int, ...]] = {
    "major": (0, 2, 4, 5, 7, 9, 11),
    "minor": (0, 2, 3, 5, 7, 8, 10),
    "dorian": (0, 2, 3, 5, 7, 9, 10),
    "mixolydian": (0, 2, 4, 5, 7, 9, 10),
    "lydian": (0, 2, 4, 6, 7, 9, 11),
    "blues": (0, 3, 4, 5, 7, 9, 10),
}

#: Intervals above the root for each chord quality of the vocabulary.
_QUALITY_INTERVALS: dict[str, tuple[int, ...]] = {
    "maj": (0, 4, 7),
    "m": (0, 3, 7),
    "7": (0, 4, 7, 10),
    "maj7": (0, 4, 7, 11),
    "m7": (0, 3, 7, 10),
    "6": (0, 4, 7, 9),
    "m6": (0, 3, 7, 9),
    "dim": (0, 3, 6),
    "aug": (0, 4, 8),
    "m7b5": (0, 3, 6, 10),
}

_DEGREES = {"I": 0, "II": 2, "III": 4, "IV": 5, "V": 7, "VI": 9, "VII": 11}
_BASS_INTERVALS = {"3": 4, "5": 7, "2": 2, "b7": 10}
_ROMAN_RE = re.compile(
    r"^(?P<acc>[b#]?)(?P<num>VII|VI|IV|V|III|II|I|vii|vi|iv|v|iii|ii|i)"
    r"(?P<suffix>maj7|7b5|dim|aug|7|6)?(?:/(?P<bass>b7|3|5|2))?(?:\*(?P<mult>[0-9.]+))?$"
)


@dataclass(frozen=True)
class Progression:
    """A named chord loop: the mode its melody uses and its roman numerals."""

    mode: str
    chords: tuple[str, ...]
    fixed_rhythm: bool = False  # True: one chord per bar whatever the style says


#: The progression table; names are referenced by :data:`styles.STYLES`.
PROGRESSIONS: dict[str, Progression] = {
    "axis": Progression("major", ("I", "V", "vi", "IV")),
    "doo_wop": Progression("major", ("I", "vi", "IV", "V")),
    "royal_road": Progression("major", ("IV", "V", "iii", "vi")),
    "sensitive": Progression("major", ("vi", "IV", "I", "V")),
    "descending_bass": Progression("major", ("I", "V/3", "vi", "I/5", "IV", "I/3", "ii", "V")),
    "pop_IV_V": Progression("major", ("I", "IV", "I/3", "V")),
    "secondary_dominant": Progression("major", ("I", "III7/3", "vi", "IV", "I", "IV/2", "I", "V")),
    "rock_I_IV_V": Progression("major", ("I", "IV", "V", "IV")),
    "mixolydian_rock": Progression("mixolydian", ("I", "bVII", "IV", "I")),
    "minor_rock": Progression("minor", ("i", "bVI", "bVII", "i")),
    "aeolian": Progression("minor", ("i", "bVI", "bIII", "bVII")),
    "epic_minor": Progression("minor", ("i", "bVII", "bVI", "bVII")),
    "minor_iv": Progression("minor", ("i", "iv", "bVII", "bIII")),
    "minor_vamp": Progression("minor", ("i", "bVI")),
    "minor_cadence": Progression("minor", ("i", "iv", "V7", "i")),
    "funk_dominant": Progression("mixolydian", ("I7", "I7", "IV7", "I7")),
    "dorian_vamp": Progression("dorian", ("i7", "IV7")),
    "funk_minor": Progression("dorian", ("i7", "i7", "iv7", "bVII")),
    "funk_ii_V": Progression("mixolydian", ("ii7", "V7")),
    "ii_V_I": Progression("major", ("ii7", "V7", "Imaj7", "Imaj7")),
    "rhythm_turnaround": Progression("major", ("Imaj7", "vi7", "ii7", "V7")),
    "iii_vi_ii_V": Progression("major", ("iii7", "vi7", "ii7", "V7", "Imaj7", "I6")),
    "minor_ii_V_i": Progression("minor", ("ii7b5", "V7", "i6", "i6")),
    "passing_diminished": Progression("major", ("Imaj7", "#idim", "ii7", "V7")),
    "jazz_line": Progression("major", ("I", "Iaug", "I6", "I7", "IVmaj7", "iv6", "Imaj7", "V7")),
    "line_cliche": Progression("major", ("I", "I/b7", "IV/3", "iv6")),
    "I_vi_ii_V": Progression("major", ("I", "vi", "ii", "V7")),
    "waltz_dominant": Progression("major", ("I", "I", "V7", "V7", "V7", "V7", "I", "I")),
    "blues": Progression("blues", ("I7", "I7", "I7", "I7", "IV7", "IV7", "I7", "I7", "V7", "IV7", "I7", "V7"), True),
    "quick_change_blues": Progression("blues", ("I7", "IV7", "I7", "I7", "IV7", "IV7", "I7", "I7", "V7", "IV7", "I7", "V7"), True),
    "minor_blues": Progression("minor", ("i7", "i7", "i7", "i7", "iv7", "iv7", "i7", "i7", "bVI7", "V7", "i7", "V7"), True),
    "neo_soul": Progression("dorian", ("ii7", "V7/3", "i7", "IV7")),
    "lofi_maj7": Progression("major", ("IVmaj7", "iii7", "ii7", "Imaj7")),
    "bossa_two_chord": Progression("major", ("Imaj7", "II7", "ii7", "V7")),
    "lydian_vamp": Progression("lydian", ("I", "II/3")),
    "plagal": Progression("major", ("I", "IV/3", "I", "IV")),
    "reggae_two_chord": Progression("major", ("I", "IV")),
    "country_cadence": Progression("major", ("I", "I", "IV", "V7")),
}


@dataclass(frozen=True)
class RomanChord:
    """One parsed roman numeral: root/bass intervals above the tonic, quality, length."""

    root: int
    quality: str
    bass: int
    length: float
    explicit: bool  # the numeral named a seventh/sixth/slash: don't extend it


@dataclass(frozen=True)
class ChordEvent:
    """A chord of a piece in beats, with its vocabulary label and notes."""

    label: str
    start_beat: float
    end_beat: float
    root: int
    bass: int
    pitch_classes: tuple[int, ...]


def parse_roman(token: str) -> RomanChord:
    """Parse one numeral of the progression notation (see module docstring)."""
    match = _ROMAN_RE.match(token)
    if match is None:
        raise ValueError(f"bad roman numeral {token!r}")
    num = match["num"]
    root = _DEGREES[num.upper()] + {"": 0, "b": -1, "#": 1}[match["acc"]]
    minor = num.islower()
    suffix = match["suffix"] or ""
    quality = {
        ("", False): "maj", ("", True): "m",
        ("7", False): "7", ("7", True): "m7",
        ("maj7", False): "maj7", ("6", False): "6", ("6", True): "m6",
        ("dim", True): "dim", ("aug", False): "aug", ("7b5", True): "m7b5",
    }.get((suffix, minor))
    if quality is None:
        raise ValueError(f"bad chord quality in {token!r}")
    bass = root + _BASS_INTERVALS[match["bass"]] if match["bass"] else root
    length = float(match["mult"]) if match["mult"] else 1.0
    return RomanChord(root % 12, quality, bass % 12, length, bool(suffix or match["bass"]))


@lru_cache(maxsize=None)
def _vocab() -> ChordVocabulary:
    return load_vocabulary()


def chord_label(root: int, quality: str, bass: Optional[int] = None) -> tuple[str, tuple[int, ...], int]:
    """Vocabulary label, chord tones and bass of a chord given by root pc and quality.

    Raises ``KeyError`` when the chord is not in the vocabulary (the tables
    above only produce vocabulary chords; a unit test keeps it that way).
    """
    root %= 12
    bass = root if bass is None else bass % 12
    pcs = tuple(sorted({(root + i) % 12 for i in _QUALITY_INTERVALS[quality]}))
    entry = _vocab().find(root, pcs, bass)
    if entry is None:
        raise KeyError(f"chord root={root} quality={quality} bass={bass} is not in the vocabulary")
    return entry.label, entry.pitch_classes, entry.bass


def key_name(tonic: int, mode: str) -> str:
    """Human key name with the vocabulary's root spelling, e.g. ``'Eb major'``."""
    label = chord_label(tonic, "maj")[0]
    word = "minor" if mode in ("minor", "dorian") else "major"
    return f"{label} {word}"


def _extend(chord: RomanChord, rng: random.Random, scale: tuple[int, ...]) -> str:
    """Turn a plain triad into a seventh or sixth chord whose added note is in the scale."""
    if chord.quality == "maj":
        options = ("7",) if chord.root == 7 else ("maj7", "maj7", "6", "7")
    elif chord.quality == "m":
        options = ("m7", "m7", "m6")
    else:
        return chord.quality
    fitting = [q for q in options if all((chord.root + i) % 12 in scale for i in _QUALITY_INTERVALS[q])]
    return rng.choice(fitting) if fitting else chord.quality


def make_progression(
    rng: random.Random,
    progression: Progression,
    tonic: int,
    n_beats: float,
    beats_per_bar: int,
    bars_per_chord: float,
    extension_prob: float,
    random_chord_prob: float = 0.04,
    inversion_prob: float = 0.08,
) -> list[ChordEvent]:
    """Loop a progression over ``n_beats``, starting at beat 0.

    Chords start on bar or half-bar boundaries (half bars only in 4/4);
    consecutive equal labels are merged so the chord list only holds changes.
    A chord is replaced by a random vocabulary chord with
    ``random_chord_prob`` so rarer labels also occur in training data; plain
    major triads are inverted (``C/E``, ``C/G``) with ``inversion_prob``.
    """
    if progression.fixed_rhythm or beats_per_bar % 2:
        bars_per_chord = max(1.0, bars_per_chord)
    unit = bars_per_chord * beats_per_bar
    vocab = _vocab()
    random_labels = [e for e in vocab.entries if e.has_notes]
    parsed = [parse_roman(token) for token in progression.chords]
    # Decide extensions once per numeral so each loop repeats the same chords.
    qualities = [
        _extend(c, rng, SCALES[progression.mode]) if (not c.explicit and rng.random() < extension_prob) else c.quality
        for c in parsed
    ]
    # ... and occasionally put a plain major triad in first or second inversion.
    basses = [
        (c.root + rng.choice((4, 7))) % 12 if (q == "maj" and not c.explicit and rng.random() < inversion_prob) else c.bass
        for c, q in zip(parsed, qualities)
    ]
    events: list[ChordEvent] = []
    beat, k = 0.0, 0
    while beat < n_beats - 1e-9:
        chord, quality, chord_bass = parsed[k % len(parsed)], qualities[k % len(parsed)], basses[k % len(parsed)]
        length = max(beats_per_bar / 2 if beats_per_bar % 2 == 0 else beats_per_bar, unit * chord.length)
        if rng.random() < random_chord_prob:
            entry = rng.choice(random_labels)
            label, pcs, bass, root = entry.label, entry.pitch_classes, entry.bass, entry.root
        else:
            label, pcs, bass = chord_label(tonic + chord.root, quality, tonic + chord_bass)
            root = (tonic + chord.root) % 12
        end = min(beat + length, n_beats)
        if events and events[-1].label == label:
            last = events[-1]
            events[-1] = ChordEvent(label, last.start_beat, end, last.root, last.bass, last.pitch_classes)
        else:
            events.append(ChordEvent(label, beat, end, root, bass, pcs))
        beat += length
        k += 1
    return events
