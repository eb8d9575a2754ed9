"""Reading one chord symbol ("Dbmaj7/F", "A:min", "c#m7b5") into its notes.

Users write chords in many dialects: jazz lead sheets (``CΔ7``, ``Bø``,
``G7#9``), pop charts (``Am``, ``Csus4``, ``Fadd9``), Harte/MIREX syntax
(``A:min``, ``C:maj/3``, ``C:(1,3,5)``) and the Chordino spelling of the model
vocabulary (``Bbm7b5/Ab``).  Everything is reduced to a root, a set of pitch
classes and a bass pitch class; if that exact chord exists in the model
vocabulary the vocabulary's own spelling becomes the label, so any spelling
of one chord ends up as the same embedding row.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

from .errors import ConditionError
from .vocabulary import NO_PITCH_CLASS, ChordVocabulary, load_vocabulary

__all__ = ["Chord", "parse_chord_label", "to_vocabulary", "NO_CHORD_ALIASES"]

FIELD = "chords"
_EXAMPLES = "e.g. 'C', 'Am', 'F#m7', 'Bbmaj7', 'G7/B', 'Dsus4', 'Cdim', 'Eaug', 'A:min' or 'N' for no chord"

#: Spellings read as the no-chord symbol 'N' (compared case-insensitively).
NO_CHORD_ALIASES = frozenset({"n", "nc", "n.c.", "n.c", "no_chord", "nochord", "none"})

_ROOT_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
_LETTER_PC = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
_ACCIDENTAL = {"#": 1, "♯": 1, "b": -1, "♭": -1}
_NOTE_RE = re.compile(r"([A-Ga-g])([#b♯♭]*)")
# Scale degree (Harte / Roman style) -> semitones above the root.
_DEGREE = {1: 0, 2: 2, 3: 4, 4: 5, 5: 7, 6: 9, 7: 11, 9: 2, 11: 5, 13: 9}
_DEGREE_RE = re.compile(r"(\*)?([b#♭♯]*)(\d{1,2})")


@dataclass(frozen=True)
class Chord:
    """A chord reduced to notes.

    Attributes:
        label: the vocabulary spelling when this exact chord is in the
            vocabulary (``'db'`` -> ``'C#'``), otherwise a normalised spelling
            (root respelled, quality text kept).
        root: pitch class of the root, C=0 .. B=11 (-1 for 'N' / 'UNK').
        pitch_classes: sorted chord tones including the root; a slash bass
            that is not a chord tone is *not* included (vocabulary convention).
        bass: pitch class of the lowest note (= root unless a slash chord).
        in_vocabulary: whether ``label`` is a label of the vocabulary used.
    """

    label: str
    root: int
    pitch_classes: tuple[int, ...]
    bass: int
    in_vocabulary: bool = True

    @property
    def is_no_chord(self) -> bool:
        return self.root == NO_PITCH_CLASS


def _note_pc(match: re.Match) -> int:
    letter, accidentals = match.group(1).upper(), match.group(2)
    return (_LETTER_PC[letter] + sum(_ACCIDENTAL[a] for a in accidentals)) % 12


def _degree_semitones(text: str, label: str) -> tuple[int, bool]:
    """'b7' -> (10, False); '*5' -> (7, True) meaning "remove"."""
    match = _DEGREE_RE.fullmatch(text)
    if not match or int(match.group(3)) not in _DEGREE:
        raise ConditionError(FIELD, f"cannot read the scale degree {text!r} in chord {label!r}; degrees look like '3', 'b7', '#11'")
    shift = sum(_ACCIDENTAL[a] for a in match.group(2))
    return (_DEGREE[int(match.group(3))] + shift) % 12, bool(match.group(1))


# ---------------------------------------------------------------- qualities
# Stage 1: the quality word right after the root.  Order matters (longest first).
_QUALITY_WORD = re.compile(
    r"(?P<minmaj>(?i:minor|min|mi)(?:maj|ma|M|Δ|\^)|m(?:(?i:maj)|M|Δ|\^)|-(?:(?i:maj)|M|Δ|\^))"
    r"|(?P<hdim>(?i:hdim)|ø|Ø)"
    r"|(?P<dim>(?i:dim)|°|o)"
    r"|(?P<aug>(?i:aug)|\+)"
    r"|(?P<majword>(?i:major|maj)|(?i:ma)|M)"
    r"|(?P<majsym>Δ|\^|j)"
    r"|(?P<min>(?i:minor|min)|(?i:mi)|m|-)"
)
# Stage 2: the chord number.
_NUMBER = re.compile(r"69|13|11|9|7|6|5|4|2")
# Stage 3: modifiers, any number of times.
_MODIFIER = re.compile(
    r"(?P<sus>(?i:sus)(?P<susn>[24])?)"
    r"|(?P<add>(?i:add)(?P<addacc>[b#]?)(?P<addn>13|11|9|6|4|2))"
    r"|(?P<alt>(?P<altacc>[b#+-])(?P<altn>13|11|9|6|5))"
    r"|(?P<maj7>(?:(?i:maj)|M|Δ|\^)(?:7|9|11|13)?)"
    r"|(?P<no>(?i:no|omit)(?P<non>[35]))"
    r"|(?P<aug>(?i:aug)|\+)"
    r"|(?P<num>13|11|9|7|6|4|2)"
)
_EXT_ADDS = {9: {2}, 11: {2, 5}, 13: {2, 9}}
_ALT = {("b", 5): ("fifth", 6), ("#", 5): ("fifth", 8), ("b", 9): ("add", 1), ("#", 9): ("add", 3),
        ("#", 11): ("add", 6), ("b", 13): ("add", 8), ("b", 6): ("add", 8), ("#", 6): ("add", 10),
        ("b", 11): ("add", 4), ("#", 13): ("add", 10)}


def _quality_intervals(suffix: str, label: str) -> frozenset[int]:
    """Intervals (semitones above the root) of a quality text like 'm7b5'."""
    s = suffix
    if s in ("1",):  # Harte "root only"
        return frozenset({0})
    third: Optional[int] = 4
    fifth: Optional[int] = 7
    seventh: Optional[int] = None
    adds: set[int] = set()
    removed: set[int] = set()
    pos = 0

    word = _QUALITY_WORD.match(s, pos)
    kind = word.lastgroup if word else None
    if word:
        pos = word.end()
    if kind in ("min", "minmaj", "dim", "hdim"):
        third = 3
    if kind in ("dim", "hdim"):
        fifth = 6
    if kind == "aug":
        fifth = 8
    if kind in ("minmaj", "majsym"):
        seventh = 11
    if kind == "hdim":
        seventh = 10

    number = _NUMBER.match(s, pos)
    if number:
        pos = number.end()
        n = int(number.group())
        if n in (7, 9, 11, 13):
            if seventh is None:
                seventh = {"majword": 11, "dim": 9}.get(kind, 10)
            adds |= _EXT_ADDS.get(n, set())
        elif n in (6, 69):
            adds.add(9)
            if n == 69:
                adds.add(2)
        elif n == 5:
            if kind is None:
                third = None  # power chord
            else:
                raise ConditionError(FIELD, f"cannot read chord {label!r}: '5' after a quality; {_EXAMPLES}")
        elif n == 2:
            adds.add(2)
        elif n == 4:
            third = None
            adds.add(5)

    while pos < len(s):
        mod = _MODIFIER.match(s, pos)
        if not mod:
            raise ConditionError(
                FIELD, f"cannot read chord {label!r}: unrecognised quality text {s[pos:]!r}; {_EXAMPLES}")
        pos = mod.end()
        if mod.group("sus") is not None:
            third = None
            adds.add(2 if mod.group("susn") == "2" else 5)
        elif mod.group("add") is not None:
            semis, _ = _degree_semitones(mod.group("addacc") + mod.group("addn"), label)
            adds.add(semis)
        elif mod.group("alt") is not None:
            acc = {"+": "#", "-": "b"}.get(mod.group("altacc"), mod.group("altacc"))
            what, semis = _ALT.get((acc, int(mod.group("altn"))), (None, None))
            if what == "fifth":
                fifth = semis
            elif what == "add":
                adds.add(semis)
            else:
                raise ConditionError(FIELD, f"cannot read chord {label!r}: alteration {mod.group('alt')!r}; {_EXAMPLES}")
        elif mod.group("maj7") is not None:
            seventh = 11
            tail = re.sub(r"\D", "", mod.group("maj7"))
            adds |= _EXT_ADDS.get(int(tail), set()) if tail else set()
        elif mod.group("no") is not None:
            removed.add(4 if mod.group("non") == "3" else 7)
        elif mod.group("aug") is not None:
            fifth = 8
        elif mod.group("num") is not None:
            n = int(mod.group("num"))
            if n == 7:
                seventh = seventh if seventh is not None else 10
            elif n == 4:
                third = None
                adds.add(5)
            else:
                adds.add(_DEGREE[n])
    tones = {0} | adds
    if third is not None and not ({4, 3} & removed if third else False):
        tones.add(third)
    if fifth is not None and 7 not in removed:
        tones.add(fifth)
    if seventh is not None:
        tones.add(seventh)
    return frozenset(tones)


def _harte_intervals(quality: str, label: str) -> frozenset[int]:
    """Harte syntax after the colon: 'min7', 'maj(9)', '(1,b3,5)', 'sus4(b7)'."""
    match = re.fullmatch(r"([^()]*)(?:\(([^()]*)\))?", quality)
    if not match:
        raise ConditionError(FIELD, f"cannot read chord {label!r}: Harte quality {quality!r}; e.g. 'C:maj7', 'A:min', 'G:7(b9)'")
    shorthand, degrees = match.group(1), match.group(2)
    if shorthand:
        tones = set(_quality_intervals(shorthand, label))
    elif degrees is not None:
        tones = set()
    else:
        tones = {0, 4, 7}
    for item in (degrees or "").split(","):
        item = item.strip()
        if not item:
            continue
        semis, remove = _degree_semitones(item, label)
        (tones.discard if remove else tones.add)(semis)
    tones.add(0)
    return frozenset(tones)


# ---------------------------------------------------------------- label
def parse_chord_label(label: str, vocabulary: Optional[ChordVocabulary] = None) -> Chord:
    """Read one chord symbol into a :class:`Chord`.

    Accepted: root letter in any case with ``#``/``b``/``♯``/``♭``; qualities
    ``m``/``min``/``-``, ``maj7``/``M7``/``Δ``/``^7``/``j7``, ``7``, ``6``,
    ``9``/``11``/``13`` (with their sevenths), ``m7b5``/``ø``/``hdim7``,
    ``dim``/``°``/``o`` (``dim7``), ``aug``/``+``, ``sus2``/``sus4``/``sus``,
    ``5``, ``add9`` etc., alterations (``b5``, ``#5``, ``b9``, ``#9``,
    ``#11``, ``b13``), parentheses (``m7(b5)``), ``6/9``, slash basses as
    note names (``C/E``) or degrees (``C/3``, ``C:maj/b7``), Harte syntax
    (``A:min``, ``C:(1,3,5)``), and 'N' / 'NC' / 'N.C.' for no chord.

    The returned label is the vocabulary spelling if this exact chord (root,
    tones and bass) is in ``vocabulary``; otherwise ``in_vocabulary`` is False
    (see :func:`to_vocabulary` for the nearest substitute).

    Raises:
        ConditionError(field="chords"): for empty or unreadable text.
    """
    vocab = vocabulary if vocabulary is not None else load_vocabulary()
    if not isinstance(label, str):
        raise ConditionError(FIELD, f"a chord must be text, got {type(label).__name__} {label!r}; {_EXAMPLES}")
    text = label.strip()
    if not text:
        raise ConditionError(FIELD, f"empty chord symbol; {_EXAMPLES}")
    if text in vocab:
        entry = vocab.entry(text)
        return Chord(entry.label, entry.root, entry.pitch_classes, entry.bass, True)
    if text.lower() in NO_CHORD_ALIASES:
        entry = vocab.entries[vocab.no_chord_index]
        return Chord(entry.label, NO_PITCH_CLASS, (), NO_PITCH_CLASS, True)

    compact = re.sub(r"\s+", "", text)
    root_match = _NOTE_RE.match(compact)
    if not root_match:
        raise ConditionError(FIELD, f"cannot read chord {label!r}: it must start with a root note A-G; {_EXAMPLES}")
    root = _note_pc(root_match)
    rest = compact[root_match.end():].replace("6/9", "69")

    bass_text = None
    if "/" in rest:
        rest, bass_text = rest.rsplit("/", 1)
    harte = rest.startswith(":")
    quality = rest[1:] if harte else rest.replace("(", "").replace(")", "").replace(",", "")
    quality = quality.replace("♭", "b").replace("♯", "#")
    intervals = _harte_intervals(quality, label) if harte else _quality_intervals(quality, label)
    pitch_classes = tuple(sorted({(root + i) % 12 for i in intervals}))

    bass = root
    if bass_text is not None:
        if not bass_text:
            raise ConditionError(FIELD, f"cannot read chord {label!r}: nothing after '/'; slash chords look like 'C/E' or 'C/3'")
        note = _NOTE_RE.fullmatch(bass_text)
        bass = _note_pc(note) if note else (root + _degree_semitones(bass_text, label)[0]) % 12

    entry = vocab.find(root, pitch_classes, bass)
    if entry is not None:
        return Chord(entry.label, entry.root, entry.pitch_classes, entry.bass, True)
    suffix = (":" if harte else "") + (rest[1:] if harte else rest)
    name = _ROOT_NAMES[root] + suffix + (f"/{_ROOT_NAMES[bass]}" if bass != root else "")
    return Chord(name, root, pitch_classes, bass, False)


def to_vocabulary(chord: Chord, vocabulary: Optional[ChordVocabulary] = None) -> Chord:
    """The vocabulary chord for ``chord``: itself if in the vocabulary, else the nearest.

    Nearest means fewest differing pitch classes, then same bass, then same
    root (see :meth:`ChordVocabulary.nearest`).
    """
    vocab = vocabulary if vocabulary is not None else load_vocabulary()
    if chord.in_vocabulary and chord.label in vocab:
        return chord
    entry = vocab.nearest(chord.root, chord.pitch_classes, chord.bass)
    return Chord(entry.label, entry.root, entry.pitch_classes, entry.bass, True)
