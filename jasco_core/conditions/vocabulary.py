"""The chord vocabulary of the released JASCO models, read from its JSON file.

The models embed one chord symbol per frame.  The symbol set (194 labels: 'N'
for "no chord", 192 Chordino chords, 'UNK') and the extra "dropped condition"
row (``null_index``) are fixed by the checkpoints, so they are data, not code:
``assets/chords/chord_vocabulary.json`` is the single source of truth and this
module only loads it into an immutable, indexable object.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Optional, Union

from ..paths import CHORD_VOCABULARY_PATH

__all__ = [
    "DEFAULT_VOCABULARY_PATH",
    "NO_PITCH_CLASS",
    "VocabularyEntry",
    "ChordVocabulary",
    "load_vocabulary",
]

logger = logging.getLogger(__name__)

#: Location of the vocabulary shipped with the repository.
DEFAULT_VOCABULARY_PATH = Path(CHORD_VOCABULARY_PATH)

#: Stand-in pitch class for symbols without notes ('N', 'UNK').
NO_PITCH_CLASS = -1


@dataclass(frozen=True)
class VocabularyEntry:
    """One vocabulary symbol: its row index and its notes.

    ``root`` and ``bass`` are pitch classes (C=0 .. B=11) or ``NO_PITCH_CLASS``
    for 'N' and 'UNK'; ``pitch_classes`` are the chord tones (sorted), which for
    a slash chord whose bass is not a chord tone (e.g. 'C/D') do not include the
    bass, as in the vocabulary file.
    """

    index: int
    label: str
    root: int
    bass: int
    pitch_classes: tuple[int, ...]

    @property
    def has_notes(self) -> bool:
        return self.root != NO_PITCH_CLASS


@dataclass(frozen=True)
class ChordVocabulary:
    """Labels in embedding-row order plus the special indices.

    Attributes:
        labels: every label, ``labels[i]`` is embedding row ``i``.
        entries: the notes of each label, same order.
        null_index: the extra row meaning "condition dropped"; frames before
            the first chord of a progression get it.
        no_chord_index: row of 'N' (music without harmony), not the null row.
        unk_index: row of 'UNK' (present in the checkpoints, never trained on).
        frame_rate: chord frames per second expected by the models.
        segment_seconds: default generation length of the models.
    """

    labels: tuple[str, ...]
    entries: tuple[VocabularyEntry, ...]
    null_index: int
    no_chord_index: int
    unk_index: int
    frame_rate: float
    segment_seconds: float
    _by_label: dict = field(default=None, repr=False, compare=False, hash=False)
    _by_notes: dict = field(default=None, repr=False, compare=False, hash=False)

    def __post_init__(self):
        object.__setattr__(self, "_by_label", {label: i for i, label in enumerate(self.labels)})
        by_notes = {}
        for entry in self.entries:
            if entry.has_notes:
                by_notes.setdefault((entry.root, entry.pitch_classes, entry.bass), entry)
        object.__setattr__(self, "_by_notes", by_notes)

    def __len__(self) -> int:
        return len(self.labels)

    def __contains__(self, label: object) -> bool:
        return label in self._by_label

    def index_of(self, label: str) -> int:
        """Row index of an exact vocabulary label (e.g. ``'Bbmaj7'``).

        Raises ``KeyError`` for anything else; use
        :func:`jasco_core.conditions.chords.parse_chord_label` for free spelling.
        """
        try:
            return self._by_label[label]
        except KeyError:
            raise KeyError(f"{label!r} is not a label of the chord vocabulary") from None

    def entry(self, label: str) -> VocabularyEntry:
        return self.entries[self.index_of(label)]

    def pitch_classes(self, label: str) -> tuple[int, ...]:
        """Chord tones of a vocabulary label, e.g. ``'Am'`` -> ``(0, 4, 9)``."""
        return self.entry(label).pitch_classes

    def find(self, root: int, pitch_classes: tuple[int, ...], bass: int) -> Optional[VocabularyEntry]:
        """The entry with exactly this root, chord tones and bass, if any."""
        return self._by_notes.get((root, tuple(sorted(set(pitch_classes))), bass))

    def nearest(self, root: int, pitch_classes: tuple[int, ...], bass: int) -> VocabularyEntry:
        """The note-bearing entry closest to a chord by pitch-class content.

        Ordering (first difference decides): number of pitch classes in one
        chord but not the other; then whether the bass differs; then, when the
        written bass is not available, root position before another inversion
        (``A7/E`` becomes ``A7``, not ``A7/C#``, an inversion nobody wrote);
        then whether the root differs; then whether the chord's seventh (minor
        or major seventh above the root, if it has one) is missing, so that
        e.g. C13 becomes C7 rather than C6; then the vocabulary index
        (deterministic). 'N' and 'UNK' are never proposed.
        """
        target = set(pitch_classes)
        sevenths = {(root + 10) % 12, (root + 11) % 12} & target

        def key(entry: VocabularyEntry):
            return (
                len(target.symmetric_difference(entry.pitch_classes)),
                entry.bass != bass,
                entry.bass != bass and entry.bass != entry.root,
                entry.root != root,
                len(sevenths - set(entry.pitch_classes)),
                entry.index,
            )

        return min((e for e in self.entries if e.has_notes), key=key)


def _entry_from_json(raw: dict, labels: list[str]) -> VocabularyEntry:
    index, label = int(raw["index"]), str(raw["label"])
    if labels[index] != label:
        raise ValueError(f"vocabulary entry {index} is {label!r} but labels[{index}] is {labels[index]!r}")
    if raw.get("root") is None:
        return VocabularyEntry(index, label, NO_PITCH_CLASS, NO_PITCH_CLASS, ())
    return VocabularyEntry(
        index=index,
        label=label,
        root=int(raw["root_pc"]),
        bass=int(raw["bass_pc"]),
        pitch_classes=tuple(sorted(int(p) for p in raw["pitch_classes"])),
    )


def load_vocabulary(path: Union[str, Path, None] = None) -> ChordVocabulary:
    """Load (and cache) the chord vocabulary JSON; ``None`` means the bundled one."""
    return _load_cached(str(Path(path).resolve()) if path is not None else str(DEFAULT_VOCABULARY_PATH))


@lru_cache(maxsize=8)
def _load_cached(path: str) -> ChordVocabulary:
    with open(path, "r", encoding="utf-8") as handle:
        data = json.load(handle)
    labels = [str(label) for label in data["labels"]]
    entries = tuple(_entry_from_json(raw, labels) for raw in data["entries"])
    if len(entries) != len(labels):
        raise ValueError(f"{path}: {len(labels)} labels but {len(entries)} entries")
    vocabulary = ChordVocabulary(
        labels=tuple(labels),
        entries=entries,
        null_index=int(data["null_index"]),
        no_chord_index=int(data["no_chord"]["index"]),
        unk_index=int(data["unk"]["index"]),
        frame_rate=float(data.get("frame_rate_hz", 50)),
        segment_seconds=float(data.get("segment_seconds", 10)),
    )
    logger.debug("loaded chord vocabulary %s (%d labels)", path, len(labels))
    return vocabulary
