"""Chord progressions: parse user text or lists, validate, and turn into frames.

A progression is a list of ``(label, start_seconds)`` chord changes; each
chord lasts until the next change (or the end of the clip).  Users may type it
in any of four notations (see :func:`parse_progression`); the result is
normalised to vocabulary labels so that it can be turned into the per-frame
index sequence the model embeds (:func:`frame_chords`).

Frame rule (used everywhere in this package): frame ``i`` is at time
``i / frame_rate`` and takes the LAST chord whose start is ``<=`` that time.
Frames before the first chord get 'N' (index 0, "no chord"), as audiocraft's
``construct_frame_chords`` does (``before_first="no_chord"``, the released
models' rule), or the vocabulary's null index, the "dropped condition" row
(``before_first="null"``, the rule the embedded model was trained with); a
model bundle states which (``ModelBundle.chords_before_first``).  A start within
1e-6 of a frame boundary counts as on the boundary, so ``0.1 + 0.2`` style
rounding never moves a change by a frame.
"""

from __future__ import annotations

import logging
import math
import numbers
import re
from dataclasses import dataclass
from typing import Iterable, Optional, Sequence, Union

import numpy as np

from .chord_labels import Chord, parse_chord_label, to_vocabulary
from .errors import ConditionError
from .vocabulary import ChordVocabulary, load_vocabulary

__all__ = [
    "Chord",
    "ChordLimits",
    "ChordSegment",
    "ParsedChords",
    "Tempo",
    "chord_segments",
    "frame_chords",
    "load_vocabulary",
    "parse_chord_label",
    "parse_progression",
    "parse_tempo",
]

logger = logging.getLogger(__name__)

#: What frames before the first chord get: the null ("dropped condition") row, or 'N' ("no chord").
BEFORE_FIRST = ("null", "no_chord")

FIELD = "chords"
EXAMPLES = ("expected e.g. 'C:0 F:2 G:4 C:6', 'C@0 F@2', '| C | F | G C |' (bars at the given tempo) "
            "or '[(C, 0.0), (F, 2.0)]' (label, start seconds)")
_BOUNDARY_TOLERANCE = 1e-6  # in frames
_HARTE_WORDS = ("maj", "min", "dim", "aug", "hdim", "sus", "(")


@dataclass(frozen=True)
class ChordLimits:
    """Size limits for a progression typed into a web form."""

    max_text_chars: int = 10_000
    max_chords: int = 1_000


@dataclass(frozen=True)
class Tempo:
    """Tempo and meter for bar notation: a bar lasts ``beats_per_bar * 60 / bpm`` s.

    ``bpm`` counts the meter's beat unit (the lower number): 6/8 at 120 BPM
    means 120 eighth notes per minute, a bar of 3 s.
    """

    bpm: float = 120.0
    beats_per_bar: int = 4
    beat_unit: int = 4

    @property
    def bar_seconds(self) -> float:
        return self.beats_per_bar * 60.0 / self.bpm


@dataclass(frozen=True)
class ChordSegment:
    """A chord and the time span it covers, for drawing a timeline."""

    label: str
    start: float
    end: float


@dataclass(frozen=True)
class ParsedChords:
    """A validated progression in vocabulary labels.

    Attributes:
        chords: ``(vocabulary_label, start_seconds)`` pairs, strictly increasing.
        warnings: human-readable notes (substituted chords, ignored changes).
        written: the chords as the user wrote them, parallel to ``chords``.
    """

    chords: tuple[tuple[str, float], ...]
    warnings: tuple[str, ...] = ()
    written: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.chords)

    def segments(self, duration: float) -> list[ChordSegment]:
        return chord_segments(self, duration)

    def frames(self, n_frames: int, frame_rate: float = 50.0,
               vocabulary: Optional[ChordVocabulary] = None, before_first: str = "null") -> np.ndarray:
        return frame_chords(self, n_frames, frame_rate, vocabulary, before_first=before_first)


# ----------------------------------------------------------------- tempo
def parse_tempo(bpm: Union[float, str] = 120.0, meter: Union[str, Sequence[int]] = "4/4") -> Tempo:
    """Validate a tempo (20..400 BPM) and a meter like ``'3/4'`` or ``(6, 8)``."""
    try:
        bpm_value = float(bpm)
    except (TypeError, ValueError):
        raise ConditionError("bpm", f"tempo must be a number of beats per minute, e.g. 120; got {bpm!r}") from None
    if not math.isfinite(bpm_value) or not 20.0 <= bpm_value <= 400.0:
        raise ConditionError("bpm", f"tempo must be between 20 and 400 beats per minute, e.g. 120; got {bpm!r}")
    if isinstance(meter, str):
        match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", meter)
        parts = (int(match.group(1)), int(match.group(2))) if match else None
    else:
        try:
            parts = tuple(int(x) for x in meter)
        except (TypeError, ValueError):
            parts = None
    if not parts or len(parts) != 2 or not 1 <= parts[0] <= 32 or parts[1] not in (1, 2, 4, 8, 16, 32):
        raise ConditionError("meter", f"meter must look like '4/4', '3/4' or '6/8' (1-32 beats of a 1/2/4/8/16/32 note); got {meter!r}")
    return Tempo(bpm_value, parts[0], parts[1])


# ----------------------------------------------------------------- text
_TUPLE_RE = re.compile(r"\(\s*(?P<q>['\"]?)(?P<label>[^,'\"]+?)(?P=q)\s*,\s*(?P<time>[^(),\s]+)\s*\)")
_TUPLE_SEPARATORS = re.compile(r"[\s,;\[\]]*")
_TIMED_TOKEN_RE = re.compile(r"(?P<label>.+)[@:](?P<time>[^@:]+)")


def _number(text: str, where: str) -> float:
    try:
        value = float(text)
    except ValueError:
        hint = " (Harte labels such as 'A:min' take '@' before the time: 'A:min@0')" if text.startswith(_HARTE_WORDS) else ""
        raise ConditionError(FIELD, f"{where}: start time {text!r} is not a number of seconds{hint}; {EXAMPLES}") from None
    return value


def _parse_tuple_text(text: str) -> list[tuple[str, float, str]]:
    out, pos = [], 0
    while True:
        pos = _TUPLE_SEPARATORS.match(text, pos).end()
        if pos >= len(text):
            return out
        match = _TUPLE_RE.match(text, pos)
        if not match:
            snippet = text[pos:pos + 20]
            raise ConditionError(FIELD, f"cannot read the text at character {pos + 1} ({snippet!r}): "
                                        f"each chord must be '(label, start_seconds)'; {EXAMPLES}")
        where = f"chord {len(out) + 1} ({match.group(0)!r})"
        out.append((match.group("label").strip(), _number(match.group("time"), where), where))
        pos = match.end()


def _parse_timed_tokens(text: str) -> list[tuple[str, float, str]]:
    out = []
    for number, match in enumerate(re.finditer(r"[^\s,;]+", text), start=1):
        token = match.group()
        where = f"token {number} ({token!r} at character {match.start() + 1})"
        timed = _TIMED_TOKEN_RE.fullmatch(token)
        if not timed:
            raise ConditionError(FIELD, f"{where} has no start time; write chords with times like 'C:0 F:2' or "
                                        f"'C@0 F@2', or bars like '| C | F |'; {EXAMPLES}")
        out.append((timed.group("label"), _number(timed.group("time"), where), where))
    return out


def _parse_bars(text: str, tempo: Tempo) -> list[tuple[str, float, str]]:
    out = []
    bars = [bar for bar in text.split("|") if bar.strip()]
    for bar_number, bar in enumerate(bars):
        labels = bar.split()
        bar_start = bar_number * tempo.bar_seconds
        step = tempo.bar_seconds / len(labels)
        for k, label in enumerate(labels):
            where = f"bar {bar_number + 1}, chord {k + 1} ({label!r})"
            out.append((label, bar_start + k * step, where))
    return out


def _loop_chart(items: list, text: str, tempo: Tempo, duration: float) -> tuple[list, str]:
    """A bar chart shorter than the clip repeats to fill it, as a musician's chart does (time
    notation keeps the original's 'the last chord holds'). Returns the items and a note."""
    bars = len([bar for bar in text.split("|") if bar.strip()])
    length = bars * tempo.bar_seconds
    if not items or length <= 0 or length >= duration - 1e-9:
        return items, ""
    repeats = math.ceil(duration / length - 1e-9)
    looped = [(label, start + k * length, f"{where}, repeat {k + 1}" if k else where)
              for k in range(repeats) for label, start, where in items if start + k * length < duration]
    return looped, (f"the {bars}-bar chart ({length:g} s at {tempo.bpm:g} BPM) repeats to fill the "
                    f"{duration:g} s clip ({duration / length:.3g} times)")


def _split_text(text: str, tempo: Tempo) -> list[tuple[str, float, str]]:
    stripped = text.strip()
    if "|" in stripped:
        return _parse_bars(stripped, tempo)
    if stripped.startswith(("(", "[")):
        return _parse_tuple_text(stripped)
    return _parse_timed_tokens(stripped)


def _split_sequence(value: Iterable) -> list[tuple[str, float, str]]:
    out = []
    for number, item in enumerate(value, start=1):
        where = f"item {number} ({item!r})"
        if isinstance(item, Chord):
            raise ConditionError(FIELD, f"{where}: a Chord has no start time; give (label, start_seconds) pairs; {EXAMPLES}")
        if isinstance(item, (str, bytes)) or not isinstance(item, Sequence) or len(item) != 2:
            raise ConditionError(FIELD, f"{where} is not a (label, start_seconds) pair; {EXAMPLES}")
        label, start = item
        if not isinstance(label, str):
            raise ConditionError(FIELD, f"{where}: the chord label must be text like 'Am'; {EXAMPLES}")
        if isinstance(start, bool) or not isinstance(start, numbers.Real):
            raise ConditionError(FIELD, f"{where}: the start time must be a number of seconds, got {start!r}; {EXAMPLES}")
        out.append((label, float(start), where))
    return out


# ----------------------------------------------------------------- main entry
def parse_progression(
    value: Union[str, Sequence, ParsedChords],
    *,
    duration: Optional[float] = None,
    bpm: Union[float, str] = 120.0,
    meter: Union[str, Sequence[int]] = "4/4",
    vocabulary: Optional[ChordVocabulary] = None,
    limits: ChordLimits = ChordLimits(),
) -> ParsedChords:
    """Parse, normalise and validate a chord progression.

    Args:
        value: text in one of the notations below, a list of
            ``(label, start_seconds)`` pairs, or an already parsed progression.
            Notations: ``'C:0 F:2'`` / ``'C@0 F@2'`` (label, then ``:`` or
            ``@`` and start seconds; separate with spaces, commas or
            semicolons; Harte labels containing ``:`` need ``@``, e.g.
            ``A:min@0``); ``'(C, 0.0), (F, 2.0)'`` with optional ``[ ]`` and
            quotes; bar notation ``'| C | F | G C |'`` where each bar lasts
            one bar at ``bpm``/``meter`` and several chords in a bar share it
            evenly (empty bars are skipped).
        duration: clip length in seconds; chords starting at or after it are
            dropped with a warning.  ``None`` skips that check.
        bpm, meter: tempo for bar notation (default 120 BPM, 4/4).
        vocabulary: chord vocabulary (default: the released models').

    Returns:
        :class:`ParsedChords` with vocabulary labels; a chord outside the
        vocabulary is replaced by its nearest vocabulary chord and a warning
        names both.

    Raises:
        ConditionError(field="chords"): empty or unreadable input, a bad
        label, a start time that is not a finite number >= 0, or start times
        that do not strictly increase (``bpm``/``meter`` for a bad tempo).
    """
    vocab = vocabulary if vocabulary is not None else load_vocabulary()
    if isinstance(value, ParsedChords):
        value = list(value.chords)
    if value is None:
        raise ConditionError(FIELD, f"no chords given; {EXAMPLES}")
    if isinstance(value, str):
        if not value.strip():
            raise ConditionError(FIELD, f"the chord progression is empty; {EXAMPLES}")
        if len(value) > limits.max_text_chars:
            raise ConditionError(FIELD, f"the chord text is {len(value)} characters long; at most {limits.max_text_chars} are accepted")
        tempo = parse_tempo(bpm, meter) if "|" in value else None
        items = _split_text(value, tempo)
    elif isinstance(value, Iterable):
        items = _split_sequence(value)
    else:
        raise ConditionError(FIELD, f"chords must be text or a list of (label, start_seconds) pairs, got {type(value).__name__}; {EXAMPLES}")
    if not items:
        raise ConditionError(FIELD, f"the chord progression is empty; {EXAMPLES}")
    if len(items) > limits.max_chords:
        raise ConditionError(FIELD, f"{len(items)} chords given; at most {limits.max_chords} are accepted")
    if duration is not None and (not math.isfinite(duration) or duration <= 0):
        raise ConditionError("duration", f"duration must be a positive number of seconds, e.g. 10; got {duration!r}")

    chords, written, warnings = [], [], []
    if isinstance(value, str) and tempo is not None and duration is not None:
        items, note = _loop_chart(items, value, tempo, duration)
        warnings.extend([note] if note else [])
    previous: Optional[float] = None
    for label, start, where in items:
        if not math.isfinite(start):
            raise ConditionError(FIELD, f"{where}: start time {start} is not finite; {EXAMPLES}")
        if start < 0:
            raise ConditionError(FIELD, f"{where}: start time {start:g} s is negative; times count seconds from 0; {EXAMPLES}")
        if previous is not None and start <= previous:
            raise ConditionError(FIELD, f"{where}: start time {start:g} s is not after the previous chord's "
                                        f"{previous:g} s; start times must strictly increase; {EXAMPLES}")
        previous = start
        try:
            chord = parse_chord_label(label, vocab)
        except ConditionError as error:
            raise ConditionError(FIELD, f"{where}: {error.message}") from None
        if duration is not None and start >= duration:
            warnings.append(f"chord {label!r} at {start:g} s starts at or after the end of the clip ({duration:g} s) and is ignored")
            continue
        target = to_vocabulary(chord, vocab)
        if target.label != chord.label:
            warnings.append(f"chord {label!r} at {start:g} s is not in the model vocabulary; "
                            f"using the nearest chord {target.label!r} instead")
        elif target.label == vocab.labels[vocab.unk_index]:
            warnings.append(f"chord 'UNK' at {start:g} s has an untrained embedding in the released models; prefer 'N' or a real chord")
        chords.append((target.label, float(start)))
        written.append(label)
    if not chords:
        warnings.append("no chord starts before the end of the clip; the chord condition is empty")
    for message in warnings:
        logger.warning("chords: %s", message)
    return ParsedChords(tuple(chords), tuple(warnings), tuple(written))


# ----------------------------------------------------------------- outputs
def _as_pairs(progression: Union[ParsedChords, Sequence]) -> list[tuple[str, float]]:
    if isinstance(progression, ParsedChords):
        return list(progression.chords)
    return [(label, float(start)) for label, start in progression]


def frame_chords(
    progression: Union[ParsedChords, Sequence],
    n_frames: int,
    frame_rate: float = 50.0,
    vocabulary: Optional[ChordVocabulary] = None,
    *,
    before_first: str = "null",
) -> np.ndarray:
    """Per-frame vocabulary indices, shape ``[n_frames]``, dtype int64.

    Frame ``i`` (time ``i / frame_rate``) takes the last chord whose start is
    ``<= i / frame_rate``; frames before the first chord get
    ``vocabulary.null_index`` (``before_first="null"``) or 'N', the
    vocabulary's ``no_chord_index`` (``before_first="no_chord"``).  Labels that are not exact vocabulary labels
    are parsed and mapped to the nearest vocabulary chord (logged); passing
    a :class:`ParsedChords` avoids that work.  Starts must increase.
    """
    vocab = vocabulary if vocabulary is not None else load_vocabulary()
    if isinstance(n_frames, bool) or not isinstance(n_frames, numbers.Integral) or n_frames < 0:
        raise ValueError(f"n_frames must be a non-negative integer, got {n_frames!r}")
    if not frame_rate > 0:
        raise ValueError(f"frame_rate must be positive, got {frame_rate!r}")
    pairs = _as_pairs(progression)
    indices, first_frames = [], []
    for label, start in pairs:
        if label in vocab:
            index = vocab.index_of(label)
        else:
            target = to_vocabulary(parse_chord_label(label, vocab), vocab)
            if target.label != label:
                logger.info("chords: %r mapped to vocabulary chord %r", label, target.label)
            index = vocab.index_of(target.label)
        indices.append(index)
        first_frames.append(math.ceil(start * frame_rate - _BOUNDARY_TOLERANCE))
    if any(b < a for a, b in zip(first_frames, first_frames[1:])):
        raise ValueError("chord start times must be increasing")
    if before_first not in BEFORE_FIRST:
        raise ValueError(f"before_first must be one of {BEFORE_FIRST}, got {before_first!r}")
    fill = vocab.null_index if before_first == "null" else vocab.no_chord_index
    frames = np.full(int(n_frames), fill, dtype=np.int64)
    if not pairs:
        return frames
    which = np.searchsorted(np.asarray(first_frames), np.arange(int(n_frames)), side="right") - 1
    has_chord = which >= 0
    frames[has_chord] = np.asarray(indices, dtype=np.int64)[which[has_chord]]
    return frames


def chord_segments(progression: Union[ParsedChords, Sequence], duration: float) -> list[ChordSegment]:
    """Timeline for display: ``(label, start, end)`` per chord, clipped to ``duration``.

    Each chord ends where the next starts (the last one at ``duration``);
    consecutive repeats of one label are merged and chords starting at or after
    ``duration`` are left out.
    """
    pairs = [(label, start) for label, start in _as_pairs(progression) if start < duration]
    segments: list[ChordSegment] = []
    for k, (label, start) in enumerate(pairs):
        end = pairs[k + 1][1] if k + 1 < len(pairs) else float(duration)
        if segments and segments[-1].label == label:
            segments[-1] = ChordSegment(label, segments[-1].start, end)
        else:
            segments.append(ChordSegment(label, float(start), float(end)))
    return segments
