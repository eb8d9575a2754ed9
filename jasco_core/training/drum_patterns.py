"""Drum grooves on the General MIDI percussion map.

A pattern is one bar of sixteenth steps per drum, written as strings
(``X`` accent, ``x`` hit, ``g`` ghost note, ``.`` rest) so grooves read like a
drum machine grid.  :func:`drum_part` loops a pattern over the piece with
light velocity variation, an opening crash and occasional fills; swing comes
from the piece's :class:`Grid` so drums and the other parts share one feel.
"""

from __future__ import annotations

import random

from .grid import Grid, Note

__all__ = ["PATTERNS", "GM_DRUMS", "drum_part"]

#: GM percussion keys used below.
GM_DRUMS = {
    "kick": 36, "snare": 38, "rim": 37, "clap": 39, "hat": 42, "pedal_hat": 44, "open_hat": 46,
    "crash": 49, "ride": 51, "ride_bell": 53, "shaker": 70, "cabasa": 69, "tom_low": 45,
    "tom_mid": 47, "tom_high": 50, "floor_tom": 43, "tambourine": 54,
}

#: Grooves by name; 16 steps per 4/4 bar, 12 per 3/4 bar.
PATTERNS: dict[str, dict[str, str]] = {
    "rock": {"kick": "x.......x.x.....", "snare": "....X.......X...", "hat": "x.x.x.x.x.x.x.x."},
    "pop": {"kick": "x......x..x.....", "snare": "....X.......X...", "hat": "xgxgxgxgxgxgxgxg"},
    "funk": {"kick": "x..x..x...x..x..", "snare": "....X..g.g..X..g", "hat": "XgxgXgxgXgxgXg.g",
             "open_hat": "..............x."},
    "swing": {"ride": "x...x.x.x...x.x.", "pedal_hat": "....x.......x...", "kick": "g...g...g...g...",
              "snare": "..........g....."},
    "brushes": {"snare": "g...g...g...g...", "ride": "x...x.x.x...x.x.", "pedal_hat": "....x.......x..."},
    "shuffle": {"kick": "x.....x.x.......", "snare": "....X.......X...", "hat": "x.x.x.x.x.x.x.x."},
    "boom_bap": {"kick": "x......x.xx.....", "snare": "....X.......X...", "hat": "x.x.x.x.x.x.x.xg"},
    "four_on_floor": {"kick": "X...X...X...X...", "clap": "....x.......x...", "open_hat": "..x...x...x...x.",
                      "hat": "g.g.g.g.g.g.g.g."},
    "bossa": {"kick": "x..xx..xx..xx..x", "rim": "x..x..x...x..x..", "hat": "gxgxgxgxgxgxgxgx"},
    "ballad": {"kick": "x.......x.......", "rim": "....x.......x...", "hat": "x.x.x.x.x.x.x.x."},
    "one_drop": {"kick": "........X.......", "rim": "........x.......", "hat": "x.x.x.x.x.x.x.x.",
                 "snare": "..............g."},
    "train": {"kick": "x.......x.......", "snare": "ggxgggxgggxgggxg", "hat": "..x...x...x...x."},
    "waltz": {"kick": "x...........", "snare": "....x...x...", "hat": "x...x...x..."},
    "jazz_waltz": {"ride": "x...x.x.x...", "pedal_hat": "....x...x...", "kick": "g..........."},
}

_VELOCITY = {"X": 112, "x": 92, "g": 46}
_FILLS = (
    ("snare", "snare", "snare", "snare"),
    ("tom_high", "tom_high", "tom_mid", "tom_low"),
    ("snare", "tom_high", "tom_mid", "floor_tom"),
)


def _for_meter(name: str, beats_per_bar: int) -> dict[str, str]:
    """The pattern itself, or a 3/4 groove when the meter is triple."""
    pattern = PATTERNS[name]
    steps = len(next(iter(pattern.values())))
    if steps == beats_per_bar * 4:
        return pattern
    return PATTERNS["jazz_waltz" if name in ("swing", "brushes") else "waltz"]


def drum_part(rng: random.Random, grid: Grid, n_beats: float, pattern_name: str) -> list[Note]:
    """Loop a groove over ``n_beats`` with a crash on beat one and fills every fourth bar."""
    pattern = _for_meter(pattern_name, grid.beats_per_bar)
    steps_per_bar = grid.beats_per_bar * 4
    n_bars = int(-(-n_beats // grid.beats_per_bar))
    fill_prob = 0.0 if pattern_name in ("swing", "brushes", "bossa", "one_drop") else 0.5
    notes: list[Note] = []
    for bar in range(n_bars):
        fill = (bar % 4 == 3) and rng.random() < fill_prob
        fill_from = steps_per_bar - 4
        for drum, steps in pattern.items():
            for step, symbol in enumerate(steps):
                if symbol == "." or (fill and step >= fill_from and drum in ("snare", "hat", "rim")):
                    continue
                beat = bar * grid.beats_per_bar + step / 4.0
                if beat >= n_beats - 1e-9:
                    continue
                velocity = _VELOCITY[symbol] + rng.randint(-8, 8)
                notes.append(grid.note(GM_DRUMS[drum], beat, 0.1, velocity))
        if fill:
            drums = rng.choice(_FILLS)
            for k, drum in enumerate(drums):
                beat = bar * grid.beats_per_bar + (fill_from + k) / 4.0
                if beat < n_beats - 1e-9:
                    notes.append(grid.note(GM_DRUMS[drum], beat, 0.1, 88 + 6 * k + rng.randint(-5, 5)))
        if bar == 0 and rng.random() < 0.6 or (bar > 0 and bar % 4 == 0 and rng.random() < 0.4):
            notes.append(grid.note(GM_DRUMS["crash"], bar * grid.beats_per_bar, 0.5, 100 + rng.randint(-6, 6)))
    return notes
