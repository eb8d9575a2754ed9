"""Musical time: beats to seconds at a fixed tempo, with optional swing.

All part generators place notes in beats and convert through one
:class:`Grid`, so bass, chords, melody and drums share the same feel (swung
off-beat eighths land at the same instant in every part) and chord changes on
whole beats are never moved by swing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["Grid", "Note"]


@dataclass(frozen=True)
class Note:
    """One note of a part, in seconds."""

    pitch: int
    start: float
    end: float
    velocity: int


@dataclass(frozen=True)
class Grid:
    """Tempo, meter and swing of a piece.

    ``swing`` is where the off-beat eighth falls inside a beat: 0.5 is
    straight, 2/3 a triplet shuffle.  Positions between grid points are
    mapped piecewise-linearly, so the mapping stays monotonic.
    """

    tempo: float
    beats_per_bar: int = 4
    swing: float = 0.5

    @property
    def seconds_per_beat(self) -> float:
        return 60.0 / self.tempo

    @property
    def bar_seconds(self) -> float:
        return self.beats_per_bar * self.seconds_per_beat

    def time(self, beat: float) -> float:
        """Seconds of a beat position (beat 0 = time 0)."""
        whole = math.floor(beat + 1e-9)
        frac = max(0.0, beat - whole)
        if frac < 0.5:
            frac = frac / 0.5 * self.swing
        else:
            frac = self.swing + (frac - 0.5) / 0.5 * (1.0 - self.swing)
        return (whole + frac) * self.seconds_per_beat

    def beats_in(self, seconds: float) -> float:
        """Number of (unswung) beats in a duration."""
        return seconds / self.seconds_per_beat

    def note(self, pitch: int, start_beat: float, length_beats: float, velocity: int) -> Note:
        """A note from beat position and length, velocity clamped to MIDI range."""
        start = self.time(start_beat)
        end = self.time(start_beat + length_beats)
        return Note(int(pitch), start, end, int(min(127, max(1, velocity))))
