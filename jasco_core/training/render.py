"""Seeded, musical training pieces rendered from symbolic parts.

:func:`make_piece_spec` turns a seed into a symbolic piece: a style, key,
tempo and meter, a chord progression mapped to exact vocabulary labels, and
four parts (bass, chord accompaniment, monophonic lead, drums).
:func:`render_piece` synthesises it with FluidSynth and returns the mix, the
drum stem and the conditions exactly as a user would give them (chord labels
with start times, melody notes, per-frame melody pitch, a text description).

Everything is a pure function of the seed: the same seed gives the same
piece and bit-identical audio, so a dataset is described by its seed range.
Each part draws from its own random stream, so changing one generator does
not reshuffle the others.
"""

from __future__ import annotations

import logging
import math
import random
from dataclasses import dataclass, field
from typing import Optional, Sequence

import numpy as np

from .describe import choose_mood, describe
from .drum_patterns import drum_part
from .grid import Grid, Note
from .harmony import PROGRESSIONS, ChordEvent, key_name, make_progression
from .parts import bass_line, comping, melody
from .styles import STYLES, instrument_name
from .synth import Part, render_parts

__all__ = [
    "FRAME_RATE",
    "RenderConfig",
    "PieceSpec",
    "Piece",
    "make_piece_spec",
    "piece_to_midi",
    "render_piece",
    "render_spec",
    "melody_to_frames",
]

logger = logging.getLogger(__name__)

#: Condition frame rate of the model (frames per second).
FRAME_RATE = 50
_MIN_TEMPO, _MAX_TEMPO = 70, 160
# Loudness of each stem relative to the lead before the mix is normalised (dB).
_STEM_LEVELS_DB = {"lead": 0.0, "comp": -2.0, "bass": -3.0, "drums": -1.0}


@dataclass(frozen=True)
class RenderConfig:
    """Mix and synthesis settings shared by all pieces."""

    target_rms_db: float = -20.0  # loudness of the normalised mix
    peak_limit: float = 0.95  # the mix never exceeds this absolute sample value
    level_jitter_db: float = 1.5  # random per-stem level variation
    random_chord_prob: float = 0.04  # chance a chord is replaced by any vocabulary chord
    frame_rate: int = FRAME_RATE
    soundfont: Optional[str] = None  # None: the GM soundfont bundled with pretty_midi


@dataclass(frozen=True)
class PieceSpec:
    """A symbolic piece: parts in seconds plus the conditions derived from them."""

    seed: int
    duration: float
    tempo: int
    beats_per_bar: int
    swing: float
    tonic: int
    mode: str
    style: str
    parts: tuple[Part, ...]
    chords: tuple[tuple[str, float], ...]
    melody_notes: tuple[tuple[int, float, float], ...]
    description: str
    meta: dict = field(compare=False)

    def part(self, name: str) -> Optional[Part]:
        """The part with this role name ("bass", "comp", "lead", "drums"), if present."""
        return next((p for p in self.parts if p.name == name), None)


@dataclass
class Piece:
    """A rendered piece and its conditions.

    Attributes:
        audio: mono float32 mix, ``round(duration * sample_rate)`` samples.
        drums: the drum stem alone (same gain as in the mix; zeros without drums).
        chords: ``(label, start_seconds)`` chord changes, first at 0.0.
        melody_notes: ``(midi_pitch, start, end)`` of the monophonic lead.
        melody_pitch: per-frame MIDI pitch at 50 fps, ``-1`` for rests.
        description: text prompt describing the piece.
        meta: tempo, meter, key, style, programs, instrument names, mood, ...
        seed, sample_rate: what produced it.
        spec: the symbolic piece (for :func:`piece_to_midi`).
    """

    audio: np.ndarray
    drums: np.ndarray
    chords: list[tuple[str, float]]
    melody_notes: list[tuple[int, float, float]]
    melody_pitch: np.ndarray
    description: str
    meta: dict
    seed: int
    sample_rate: int
    spec: PieceSpec

    def conditions(self) -> dict:
        """The piece's chords, melody and drum stem as `Pipeline.generate` keywords (drums None when silent)."""
        from ..conditions import pitches_to_salience

        return dict(chords=[list(c) for c in self.chords], melody=pitches_to_salience(self.melody_pitch),
                    drums=(self.drums, self.sample_rate) if np.abs(self.drums).max() > 0 else None)


def _rng(seed: int, stream: str) -> random.Random:
    """An independent, reproducible random stream of a piece."""
    return random.Random(f"jasco-piece:{int(seed)}:{stream}")


def _clip(notes: Sequence[Note], duration: float) -> tuple[Note, ...]:
    """Drop notes starting in the last 50 ms and cut the rest at ``duration``."""
    out = []
    for note in notes:
        if note.start < duration - 0.05:
            out.append(Note(note.pitch, round(note.start, 6), round(min(note.end, duration), 6), note.velocity))
    return tuple(out)


def make_piece_spec(seed: int, duration: float = 10.0, config: RenderConfig = RenderConfig()) -> PieceSpec:
    """The symbolic piece of a seed (no audio): style, harmony, parts, conditions, caption."""
    if duration <= 0:
        raise ValueError(f"duration must be positive, got {duration}")
    rng = _rng(seed, "plan")
    style = STYLES[rng.choice(sorted(STYLES))]
    beats_per_bar = 3 if rng.random() < style.three_four else 4
    tempo = min(_MAX_TEMPO, max(_MIN_TEMPO, rng.randint(*style.tempo)))
    swing = round(rng.uniform(*style.swing), 3)
    grid = Grid(float(tempo), beats_per_bar, swing)
    n_beats = grid.beats_in(duration)
    progression_name = rng.choice(style.progressions)
    progression = PROGRESSIONS[progression_name]
    tonic = rng.randrange(12)
    bars_per_chord = rng.choice(style.bars_per_chord)
    chords: list[ChordEvent] = make_progression(
        _rng(seed, "harmony"), progression, tonic, n_beats, beats_per_bar, bars_per_chord,
        style.extension_prob, config.random_chord_prob,
    )
    has_drums = bool(style.drum_patterns) and rng.random() >= style.no_drums_prob
    drum_pattern = rng.choice(style.drum_patterns) if has_drums else None
    if drum_pattern is not None and beats_per_bar == 3:
        drum_pattern = "jazz_waltz" if drum_pattern in ("swing", "brushes") else "waltz"
    drum_kit = rng.choice(style.drum_kits) if has_drums else None
    bass_style = rng.choice(style.bass_styles)
    comp_style = rng.choice(style.comp_styles)
    density = rng.choice(style.melody_density)
    programs = {
        "bass": rng.choice(style.bass_programs),
        "comp": rng.choice(style.comp_programs),
        "lead": rng.choice(style.lead_programs),
    }

    parts = [
        Part("bass", programs["bass"], False, _clip(bass_line(_rng(seed, "bass"), chords, grid, n_beats, bass_style), duration)),
        Part("comp", programs["comp"], False, _clip(comping(_rng(seed, "comp"), chords, grid, n_beats, comp_style), duration)),
        Part("lead", programs["lead"], False, _clip(
            melody(_rng(seed, "lead"), chords, grid, n_beats, tonic, progression.mode, density, programs["lead"]), duration)),
    ]
    if drum_pattern is not None:
        parts.append(Part("drums", drum_kit, True, _clip(drum_part(_rng(seed, "drums"), grid, n_beats, drum_pattern), duration)))

    chord_list = tuple((c.label, round(grid.time(c.start_beat), 6)) for c in chords if grid.time(c.start_beat) < duration)
    lead = parts[2]
    melody_notes = tuple((n.pitch, n.start, n.end) for n in lead.notes)
    key = key_name(tonic, progression.mode)
    text_rng = _rng(seed, "text")
    mood = choose_mood(text_rng, style, progression.mode, tempo)
    caption = describe(text_rng, style, tempo, beats_per_bar, key, mood, programs["lead"], programs["comp"],
                       programs["bass"], drum_pattern, drum_kit)
    instruments = {role: instrument_name(program) for role, program in programs.items()}
    if drum_kit is not None:
        instruments["drums"] = instrument_name(drum_kit, is_drum=True)
    meta = {
        "seed": int(seed),
        "duration": float(duration),
        "style": style.name,
        "genre": caption.genre,
        "tempo": tempo,
        "tempo_word": caption.tempo_word,
        "meter": f"{beats_per_bar}/4",
        "swing": swing,
        "key": key,
        "tonic": tonic,
        "mode": progression.mode,
        "progression": progression_name,
        "bars_per_chord": bars_per_chord,
        "mood": mood,
        "programs": {**programs, **({"drum_kit": drum_kit} if drum_kit is not None else {})},
        "instruments": instruments,
        "bass_style": bass_style,
        "comp_style": comp_style,
        "melody_density": density,
        "drum_pattern": drum_pattern,
        "has_drums": drum_pattern is not None,
    }
    return PieceSpec(
        seed=int(seed), duration=float(duration), tempo=tempo, beats_per_bar=beats_per_bar, swing=swing,
        tonic=tonic, mode=progression.mode, style=style.name, parts=tuple(parts), chords=chord_list,
        melody_notes=melody_notes, description=caption.text, meta=meta,
    )


def melody_to_frames(notes: Sequence[tuple[int, float, float]], n_frames: int, frame_rate: float = FRAME_RATE) -> np.ndarray:
    """Per-frame MIDI pitch (int16, ``-1`` = rest) of monophonic notes.

    Frame ``i`` (time ``i / frame_rate``) takes the note with
    ``start <= t < end``; boundaries use the same 1e-6-frame tolerance as the
    chord frames, so a note starting exactly on a frame owns that frame.
    """
    frames = np.full(int(n_frames), -1, dtype=np.int16)
    for pitch, start, end in notes:
        first = max(0, math.ceil(start * frame_rate - 1e-6))
        last = min(int(n_frames), math.ceil(end * frame_rate - 1e-6))
        if last > first:
            frames[first:last] = int(pitch)
    return frames


def _db(x: float) -> float:
    return 10.0 ** (x / 20.0)


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) if x.size else 0.0


def render_spec(spec: PieceSpec, sample_rate: int = 22050, config: RenderConfig = RenderConfig()) -> Piece:
    """Synthesise a :class:`PieceSpec`: balanced stems, a normalised mix and the frame conditions."""
    n_samples = int(round(spec.duration * sample_rate))
    level_rng = _rng(spec.seed, "levels")
    mix = np.zeros(n_samples, dtype=np.float64)
    drums = np.zeros(n_samples, dtype=np.float64)
    for part in spec.parts:
        stem = render_parts([part], spec.duration, sample_rate, config.soundfont).astype(np.float64)
        rms = _rms(stem)
        if rms <= 0:
            continue
        level = _STEM_LEVELS_DB[part.name] + level_rng.uniform(-config.level_jitter_db, config.level_jitter_db)
        stem *= 0.1 * _db(level) / rms
        mix += stem
        if part.is_drum:
            drums += stem
    rms, peak = _rms(mix), float(np.max(np.abs(mix))) if n_samples else 0.0
    gain = 1.0
    if rms > 0:
        gain = min(_db(config.target_rms_db) / rms, config.peak_limit / peak)
    n_frames = int(round(spec.duration * config.frame_rate))
    return Piece(
        audio=(mix * gain).astype(np.float32),
        drums=(drums * gain).astype(np.float32),
        chords=list(spec.chords),
        melody_notes=list(spec.melody_notes),
        melody_pitch=melody_to_frames(spec.melody_notes, n_frames, config.frame_rate),
        description=spec.description,
        meta=dict(spec.meta),
        seed=spec.seed,
        sample_rate=int(sample_rate),
        spec=spec,
    )


def render_piece(seed: int, duration: float = 10.0, sample_rate: int = 22050, config: RenderConfig = RenderConfig()) -> Piece:
    """Generate and render the piece of a seed (same seed -> identical piece and audio)."""
    spec = make_piece_spec(seed, duration, config)
    logger.debug("seed %d: %s, %d BPM, %s, %d chords", seed, spec.style, spec.tempo, spec.meta["key"], len(spec.chords))
    return render_spec(spec, sample_rate, config)


def piece_to_midi(spec: PieceSpec, parts: Optional[Sequence[str]] = None):
    """A ``pretty_midi.PrettyMIDI`` of the piece (or of the named parts, e.g. ``("lead",)``)."""
    import pretty_midi

    midi = pretty_midi.PrettyMIDI(initial_tempo=float(spec.tempo))
    midi.time_signature_changes.append(pretty_midi.TimeSignature(spec.beats_per_bar, 4, 0.0))
    for part in spec.parts:
        if parts is not None and part.name not in parts:
            continue
        instrument = pretty_midi.Instrument(program=int(part.program), is_drum=part.is_drum, name=part.name)
        instrument.notes = [pretty_midi.Note(n.velocity, n.pitch, n.start, n.end) for n in part.notes]
        midi.instruments.append(instrument)
    return midi
