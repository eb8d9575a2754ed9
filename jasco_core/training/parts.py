"""Pitched parts of a generated piece: bass line, chord accompaniment, lead melody.

Each generator takes the piece's chord events (in beats), its :class:`Grid`
and a seeded ``random.Random`` and returns notes in seconds.  Rhythms are
written per bar as ``(position_beats, length_beats, role)`` so a style is a
short table; pitches come from the chord that sounds at each position, which
keeps every part consistent with the chord labels the piece reports.
"""

from __future__ import annotations

import math
import random
from typing import Sequence

from .grid import Grid, Note
from .harmony import SCALES, ChordEvent

__all__ = [
    "BASS_STYLES",
    "COMP_STYLES",
    "MELODY_RANGE",
    "bass_line",
    "comping",
    "melody",
    "chord_at",
    "voicing",
]

#: MIDI range of the lead melody (singable, as the brief of the model expects).
MELODY_RANGE = (55, 84)
_BASS_RANGE = (28, 52)
_COMP_RANGE = (48, 79)

# Bar patterns for the bass: (position, length, role); the meter picks the table.
_BASS_PATTERNS: dict[str, dict[int, tuple[tuple[tuple[float, float, str], ...], ...]]] = {
    "roots8": {4: (tuple((i * 0.5, 0.45, "root") for i in range(8)),),
               3: (tuple((i * 0.5, 0.45, "root") for i in range(6)),)},
    "roots_half": {4: (((0, 1.9, "root"), (2, 1.9, "root")),), 3: (((0, 2.9, "root"),),)},
    "roots_whole": {4: (((0, 3.9, "root"),),), 3: (((0, 2.9, "root"),),)},
    "sustained": {4: (((0, 4.0, "root"),),), 3: (((0, 3.0, "root"),),)},
    "root_fifth": {4: (((0, 1.8, "root"), (2, 1.8, "fifth")),
                       ((0, 0.9, "root"), (1, 0.9, "fifth"), (2, 0.9, "root"), (3, 0.9, "fifth"))),
                   3: (((0, 0.9, "root"), (1, 0.9, "fifth"), (2, 0.9, "fifth")),)},
    "funk": {4: (((0, 0.4, "root"), (0.75, 0.2, "root"), (1.5, 0.2, "octave"), (1.75, 0.2, "root"),
                  (2.5, 0.4, "b7"), (3, 0.2, "root"), (3.5, 0.2, "octave")),
                 ((0, 0.6, "root"), (1, 0.2, "octave"), (1.25, 0.2, "root"), (2, 0.4, "root"),
                  (2.75, 0.2, "fifth"), (3.25, 0.2, "b7"), (3.5, 0.4, "octave")),
                 ((0, 0.2, "root"), (0.25, 0.2, "root"), (0.75, 0.4, "octave"), (1.5, 0.4, "fifth"),
                  (2, 0.2, "root"), (2.5, 0.2, "b7"), (2.75, 0.2, "octave"), (3.5, 0.4, "fifth"))),
             3: (((0, 0.4, "root"), (0.75, 0.2, "root"), (1.5, 0.4, "octave"), (2.5, 0.4, "b7")),)},
    "octave": {4: (tuple((i * 0.5, 0.4, "root" if i % 2 == 0 else "octave") for i in range(8)),),
               3: (tuple((i * 0.5, 0.4, "root" if i % 2 == 0 else "octave") for i in range(6)),)},
    "offbeat": {4: (tuple((i + 0.5, 0.4, "root") for i in range(4)),),
                3: (tuple((i + 0.5, 0.4, "root") for i in range(3)),)},
    "boom": {4: (((0, 1.4, "root"), (1.75, 0.5, "root"), (2.5, 0.9, "fifth"), (3.5, 0.4, "octave")),
                 ((0, 2.4, "root"), (2.75, 0.7, "root"), (3.5, 0.4, "fifth"))),
             3: (((0, 1.4, "root"), (1.75, 0.5, "root"), (2.5, 0.4, "fifth")),)},
    "bossa": {4: (((0, 1.4, "root"), (1.5, 0.45, "fifth"), (2, 1.4, "fifth"), (3.5, 0.45, "root")),),
              3: (((0, 1.4, "root"), (1.5, 0.45, "fifth"), (2, 0.9, "fifth")),)},
    "reggae": {4: (((0, 0.7, "root"), (1.5, 0.4, "root"), (2, 0.9, "fifth"), (3, 0.45, "octave"),
                    (3.5, 0.45, "root")),),
               3: (((0, 0.7, "root"), (1.5, 0.4, "root"), (2, 0.9, "fifth")),)},
    "waltz_one": {3: (((0, 0.9, "alt"),),), 4: (((0, 0.9, "alt"), (2, 0.9, "fifth")),)},
    "boogie": {4: (tuple((i * 0.5, 0.45, role) for i, role in enumerate(
                   ("root", "third", "fifth", "sixth", "b7", "sixth", "fifth", "third"))),),
               3: (tuple((i * 0.5, 0.45, role) for i, role in enumerate(
                   ("root", "third", "fifth", "sixth", "fifth", "third"))),)},
}

#: Bass-line algorithms (the bar patterns above plus the walking bass).
BASS_STYLES = tuple(_BASS_PATTERNS) + ("walking",)

# Comping rhythms per bar: (position, length); None means one chord per change.
_COMP_RHYTHMS: dict[str, dict[int, tuple[tuple[tuple[float, float], ...], ...]]] = {
    "block_half": {4: (((0, 1.9), (2, 1.9)),), 3: (((0, 2.9),),)},
    "block_beats": {4: (tuple((i, 0.85) for i in range(4)),), 3: (tuple((i, 0.85) for i in range(3)),)},
    "strum": {4: (((0, 1), (1, 0.5), (1.5, 1), (2.5, 0.5), (3, 0.5), (3.5, 0.5)),
                  ((0, 1), (1, 1), (2, 0.5), (2.5, 0.5), (3, 0.5), (3.5, 0.5)),
                  ((0, 1.5), (1.5, 0.5), (2, 1), (3, 0.5), (3.5, 0.5))),
              3: (((0, 1), (1, 0.5), (1.5, 0.5), (2, 1)), ((0, 1), (1, 1), (2, 1)))},
    "stabs": {4: (((0, 0.2), (0.75, 0.2), (1.5, 0.2), (2.25, 0.2), (3, 0.2), (3.5, 0.2)),
                  ((0, 0.3), (0.5, 0.2), (1.25, 0.2), (2, 0.3), (2.75, 0.2), (3.25, 0.2)),
                  ((0, 0.2), (1, 0.2), (1.75, 0.2), (2.5, 0.2), (3, 0.2), (3.75, 0.2))),
              3: (((0, 0.2), (0.75, 0.2), (1.5, 0.2), (2.25, 0.2)),)},
    "offbeat": {4: (((0, 0.35), (0.5, 0.35), (1.5, 0.35), (2.5, 0.35), (3.5, 0.35)),),
                3: (((0, 0.35), (0.5, 0.35), (1.5, 0.35), (2.5, 0.35)),)},
    "jazz_comp": {4: (((0, 1.0), (1.5, 0.5)), ((0, 1.4), (2.5, 0.9)), ((0, 0.9), (1.5, 0.4), (3, 0.9)),
                      ((0, 1.9), (2, 0.4), (3.5, 0.4))),
                  3: (((0, 0.9), (1.5, 0.4)), ((0, 1.9),), ((0, 0.9), (2, 0.9)))},
    "bossa_comp": {4: (((0, 0.9), (1.5, 0.4), (2.5, 0.9)), ((0, 0.4), (1, 0.9), (2.5, 0.4), (3, 0.9))),
                   3: (((0, 0.9), (1.5, 0.4)),)},
    "oompah": {3: (((0, 0.8), (1, 0.8), (2, 0.8)),), 4: (((0, 0.8), (1, 0.8), (3, 0.8)),)},
    "skank": {4: (((0, 0.4), (1, 0.4), (3, 0.4)),), 3: (((0, 0.4), (1, 0.4), (2, 0.4)),)},
}

#: Accompaniment algorithms.
COMP_STYLES = tuple(_COMP_RHYTHMS) + ("pad", "arpeggio")

# Lead rhythm cells: one bar of note lengths in beats, negative = rest.
_CELLS: dict[int, dict[str, tuple[tuple[float, ...], ...]]] = {
    4: {
        "slow": ((4,), (2, 2), (3, 1), (2, 1, 1), (1, 1, 2), (1.5, 0.5, 2), (-1, 1, 2), (2, -1, 1)),
        "medium": ((1, 1, 1, 1), (1, 1, 2), (0.5, 0.5, 1, 2), (1.5, 0.5, 1, 1), (-0.5, 0.5, 1, 1, 1),
                   (1, 0.5, 0.5, 2), (2, 0.5, 0.5, 1), (-1, 0.5, 0.5, 1, 1), (0.5, 1, 0.5, 2)),
        "busy": ((0.5,) * 8, (0.5, 0.5, 0.5, 0.5, 1, 1), (0.25, 0.25, 0.5, 1, 0.5, 0.5, 1),
                 (-0.5, 0.5, 0.5, 0.5, 1, 1), (0.75, 0.25, 0.5, 0.5, 1, 1), (0.5, 0.5, 1, 0.5, 0.5, 1),
                 (1, 0.5, 0.5, 0.5, 0.5, 1)),
        "end": ((2, -2), (1, 1, -2), (3, -1), (1.5, 0.5, -2), (1, 2, -1), (0.5, 0.5, 2, -1)),
    },
    3: {
        "slow": ((3,), (2, 1), (1, 2), (-1, 1, 1), (1.5, 0.5, 1)),
        "medium": ((1, 1, 1), (2, 1), (1, 0.5, 0.5, 1), (1.5, 0.5, 1), (-1, 1, 1), (0.5, 0.5, 1, 1)),
        "busy": ((0.5,) * 6, (1, 0.5, 0.5, 0.5, 0.5), (0.5, 0.5, 1, 1), (-0.5, 0.5, 0.5, 0.5, 1)),
        "end": ((2, -1), (1, 1, -1), (3,), (1.5, -1.5)),
    },
}

# Fraction of a note's slot that sounds, per lead program family (rest = legato).
_STACCATO_PROGRAMS = {11, 12, 13, 46, 45, 105, 24, 25, 26, 27}


def chord_at(chords: Sequence[ChordEvent], beat: float) -> ChordEvent:
    """The chord sounding at a beat (the last one starting at or before it)."""
    current = chords[0]
    for chord in chords:
        if chord.start_beat <= beat + 1e-9:
            current = chord
        else:
            break
    return current


def _nearest(pc: int, target: float, lo: int, hi: int) -> int:
    """The pitch of class ``pc`` in ``[lo, hi]`` closest to ``target``."""
    candidates = [p for p in range(lo, hi + 1) if p % 12 == pc % 12]
    return min(candidates, key=lambda p: (abs(p - target), p))


def _fifth(chord: ChordEvent) -> int:
    for interval in (7, 6, 8):
        if (chord.root + interval) % 12 in chord.pitch_classes:
            return (chord.root + interval) % 12
    return (chord.root + 7) % 12


def _third(chord: ChordEvent) -> int:
    for interval in (4, 3):
        if (chord.root + interval) % 12 in chord.pitch_classes:
            return (chord.root + interval) % 12
    return (chord.root + 4) % 12


def _role_pc(chord: ChordEvent, role: str, bar_index: int) -> tuple[int, bool]:
    """Pitch class of a bass role, and whether it is the octave above the root."""
    if role == "alt":
        role = "root" if bar_index % 2 == 0 else "fifth"
    if role == "root":
        return chord.bass, False
    if role == "octave":
        return chord.bass, True
    if role == "fifth":
        return _fifth(chord), False
    if role == "third":
        return _third(chord), False
    if role == "sixth":
        return (chord.root + 9) % 12, False
    if role == "b7":
        seventh = (chord.root + 10) % 12
        return (seventh if seventh in chord.pitch_classes else _fifth(chord)), False
    raise ValueError(f"unknown bass role {role!r}")


def _bar_positions(n_beats: float, beats_per_bar: int):
    for bar in range(math.ceil(n_beats / beats_per_bar)):
        yield bar, bar * beats_per_bar


def bass_line(rng: random.Random, chords: Sequence[ChordEvent], grid: Grid, n_beats: float, style: str) -> list[Note]:
    """Bass notes: roots (slash basses included), fifths, octaves or a walking line."""
    if style == "walking":
        return _walking_bass(rng, chords, grid, n_beats)
    table = _BASS_PATTERNS[style]
    pattern = rng.choice(table.get(grid.beats_per_bar) or table[4])
    notes: list[Note] = []
    anchor = rng.randint(36, 43)
    for bar, bar_start in _bar_positions(n_beats, grid.beats_per_bar):
        for position, length, role in pattern:
            start = bar_start + position
            if start >= n_beats - 1e-9 or position >= grid.beats_per_bar:
                continue
            chord = chord_at(chords, start)
            pc, up = _role_pc(chord, role, bar)
            if role in ("root", "alt") or not notes:
                pitch = _nearest(pc, anchor, *_BASS_RANGE)
                if role in ("root", "alt"):
                    anchor = 0.7 * pitch + 0.3 * 40
            else:
                pitch = _nearest(pc, anchor + 3, *_BASS_RANGE)
            if up:
                pitch = _nearest(chord.bass, anchor, *_BASS_RANGE) + 12
            end = min(start + length, chord.end_beat, n_beats)
            if end - start < 0.1:
                continue
            accent = 8 if position == 0 else 0
            notes.append(grid.note(pitch, start, end - start, rng.randint(78, 92) + accent))
    return notes


def _walking_bass(rng: random.Random, chords: Sequence[ChordEvent], grid: Grid, n_beats: float) -> list[Note]:
    """Quarter-note walking line: chord bass on changes, chromatic approach before them."""
    notes: list[Note] = []
    prev = _nearest(chords[0].bass, rng.randint(36, 43), *_BASS_RANGE)
    starts = {round(c.start_beat, 6) for c in chords}
    for beat in range(math.ceil(n_beats - 1e-9)):
        chord = chord_at(chords, beat)
        if round(float(beat), 6) in starts or not notes:
            pitch = _nearest(chord.bass, prev, *_BASS_RANGE)
        elif round(float(beat + 1), 6) in starts and beat + 1 < n_beats:
            target = _nearest(chord_at(chords, beat + 1).bass, prev, *_BASS_RANGE)
            pitch = target + rng.choice((-1, 1, -2, 2)) if rng.random() < 0.8 else _nearest(_fifth(chord), prev, *_BASS_RANGE)
        else:
            options = [p for p in range(prev - 7, prev + 8)
                       if p != prev and _BASS_RANGE[0] <= p <= _BASS_RANGE[1] and p % 12 in chord.pitch_classes]
            pitch = rng.choice(options) if options else prev
        pitch = min(_BASS_RANGE[1], max(_BASS_RANGE[0], pitch))
        length = min(0.9, n_beats - beat)
        if length >= 0.1:
            notes.append(grid.note(pitch, beat, length, rng.randint(76, 90) + (6 if beat % grid.beats_per_bar == 0 else 0)))
        prev = pitch
    return notes


def voicing(pitch_classes: Sequence[int], center: float, lo: int = _COMP_RANGE[0], hi: int = _COMP_RANGE[1]) -> list[int]:
    """A close voicing: every chord tone in the octave nearest ``center``."""
    return sorted(_nearest(pc, center, lo, hi) for pc in pitch_classes)


def comping(rng: random.Random, chords: Sequence[ChordEvent], grid: Grid, n_beats: float, style: str) -> list[Note]:
    """Chord accompaniment: sustained pads, block chords, strums, stabs or arpeggios."""
    center = rng.uniform(58, 66)
    voicings = {}
    notes: list[Note] = []
    for chord in chords:  # voice-lead through the progression
        v = voicing(chord.pitch_classes, center)
        if len(v) == 3 and style in ("strum", "pad", "block_half", "arpeggio"):
            v = sorted(set(v + [v[0] + 12 if v[0] + 12 <= _COMP_RANGE[1] else v[0]]))
        voicings[chord.start_beat] = v
        center = 0.6 * (sum(v) / len(v)) + 0.4 * 62
    if style == "pad":
        for chord in chords:
            velocity = rng.randint(58, 72)
            for pitch in voicings[chord.start_beat]:
                notes.append(grid.note(pitch, chord.start_beat, chord.end_beat - chord.start_beat, velocity))
        return notes
    if style == "arpeggio":
        return _arpeggio(rng, chords, grid, n_beats, voicings)
    table = _COMP_RHYTHMS[style]
    pattern_choices = table.get(grid.beats_per_bar) or table[4]
    alternate = style == "bossa_comp" and len(pattern_choices) > 1
    fixed = rng.choice(pattern_choices)
    for bar, bar_start in _bar_positions(n_beats, grid.beats_per_bar):
        pattern = pattern_choices[bar % 2] if alternate else (rng.choice(pattern_choices) if style == "jazz_comp" else fixed)
        for position, length in pattern:
            start = bar_start + position
            if start >= n_beats - 1e-9 or position >= grid.beats_per_bar:
                continue
            chord = chord_at(chords, start)
            end = min(start + length, chord.end_beat, n_beats)
            if end - start < 0.1:
                continue
            accent = 10 if position == int(position) else 0
            velocity = rng.randint(60, 74) + accent
            pitches = voicings[chord.start_beat]
            if style == "strum":
                notes.extend(_strum(grid, pitches, start, end, velocity, down=position == int(position)))
            else:
                notes.extend(grid.note(p, start, end - start, velocity) for p in pitches)
        # Changes inside a bar that no pattern position hits still get a chord.
        for chord in chords:
            if bar_start < chord.start_beat < bar_start + grid.beats_per_bar and not any(
                abs(bar_start + pos - chord.start_beat) < 1e-6 for pos, _ in pattern
            ):
                length = min(0.9, chord.end_beat - chord.start_beat)
                notes.extend(grid.note(p, chord.start_beat, length, 66) for p in voicings[chord.start_beat])
    return notes


def _strum(grid: Grid, pitches: Sequence[int], start: float, end: float, velocity: int, down: bool) -> list[Note]:
    """A strummed chord: strings enter 12 ms apart, low to high on down strokes."""
    order = list(pitches) if down else list(reversed(pitches))
    t0, t1 = grid.time(start), grid.time(end)
    notes = []
    for k, pitch in enumerate(order):
        onset = t0 + 0.012 * k
        if onset < t1 - 0.05:
            notes.append(Note(int(pitch), onset, t1, int(min(127, velocity - 3 * k))))
    return notes


def _arpeggio(rng: random.Random, chords: Sequence[ChordEvent], grid: Grid, n_beats: float, voicings: dict) -> list[Note]:
    """Broken chords in eighths, each note ringing for a beat like a held pedal."""
    shape = rng.choice(("up", "updown", "alberti"))
    notes: list[Note] = []
    for chord in chords:
        pitches = voicings[chord.start_beat]
        if shape == "up":
            order = pitches
        elif shape == "updown":
            order = pitches + pitches[-2:0:-1]
        else:
            order = [pitches[0], pitches[-1], pitches[1 % len(pitches)], pitches[-1]]
        step = 0
        position = chord.start_beat
        while position < chord.end_beat - 1e-9 and position < n_beats - 1e-9:
            end = min(position + 1.0, chord.end_beat, n_beats)
            velocity = rng.randint(56, 68) + (10 if step == 0 else 0)
            notes.append(grid.note(order[step % len(order)], position, end - position, velocity))
            position += 0.5
            step += 1
    return notes


def _scale_for(chord: ChordEvent, tonic: int, mode: str) -> set[int]:
    """Scale tones over a chord: the key's scale, with clashing neighbours of altered chord tones removed."""
    scale = {(tonic + i) % 12 for i in SCALES[mode]}
    for pc in chord.pitch_classes:
        if pc not in scale:
            scale.discard((pc + 1) % 12)
            scale.discard((pc - 1) % 12)
    return scale | set(chord.pitch_classes)


def melody(
    rng: random.Random,
    chords: Sequence[ChordEvent],
    grid: Grid,
    n_beats: float,
    tonic: int,
    mode: str,
    density: str,
    program: int,
) -> list[Note]:
    """A monophonic lead: chord tones on strong beats, scale steps in between, phrased rests.

    Bars follow an A B A C phrase (C ends the phrase with a held note and a
    rest).  Pitches move mostly by step, are pulled toward a per-piece centre
    and stay inside :data:`MELODY_RANGE`.
    """
    bpb = grid.beats_per_bar
    cells = _CELLS[bpb if bpb in _CELLS else 4]
    a, b, c = (rng.choice(cells[density]) for _ in range(3))
    ending = rng.choice(cells["end"])
    plan = (a, b, a, ending) if rng.random() < 0.6 else (a, b, c, ending)
    center = rng.randint(64, 74)
    lo, hi = max(MELODY_RANGE[0], center - 10), min(MELODY_RANGE[1], center + 10)
    legato = 0.8 if program in _STACCATO_PROGRAMS else 0.93
    strong_beats = {0, 2} if bpb == 4 else {0}
    first = chord_at(chords, 0.0)
    prev = _nearest(rng.choice(first.pitch_classes), center, lo, hi)
    notes: list[Note] = []
    for bar, bar_start in _bar_positions(n_beats, bpb):
        cell = plan[bar % len(plan)]
        position = bar_start
        for signed_length in cell:
            start, length = position, abs(signed_length)
            position += length
            if signed_length < 0 or start >= n_beats - 1e-9:
                continue
            chord = chord_at(chords, start)
            on_beat = abs(start - round(start)) < 1e-9
            strong = (on_beat and (round(start) - bar_start) in strong_beats) or length >= 1.5 \
                or abs(start - chord.start_beat) < 1e-9
            allowed = set(chord.pitch_classes) if strong else _scale_for(chord, tonic, mode)
            candidates = [p for p in range(lo, hi + 1) if p % 12 in allowed]
            weights = []
            spread = 3.5 if strong else 2.0
            for p in candidates:
                w = math.exp(-abs(p - prev) / spread) * math.exp(-abs(p - center) / 12.0)
                if p == prev:
                    w *= 0.35
                if abs(p - prev) > 9:
                    w *= 0.05
                weights.append(w)
            pitch = rng.choices(candidates, weights)[0]
            sounding = min(length * legato, n_beats - start)
            if sounding < 0.1:
                continue
            velocity = rng.randint(84, 100) + (8 if strong else 0)
            notes.append(grid.note(pitch, start, sounding, velocity))
            prev = pitch
    return notes

