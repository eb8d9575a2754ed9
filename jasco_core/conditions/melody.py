"""Melody condition: a one-hot pitch matrix ``[53, T]`` at the model frame rate.

The released models were trained on melody "salience" matrices made with the
multi-f0 Deep Salience model and post-processed into 53 semitone bins: bin
``k`` is the pitch MIDI ``MELODY_LOWEST_MIDI + k`` (G2 = 43, ~98 Hz, up to
B6 = 95, ~1976 Hz), see docs/conditions.md for how this was established.
Per frame the matrix holds a single 1 at the melody pitch, or a zero column
where there is no melody (the same binarisation the training data used).

Melodies can come from a MIDI file (highest note per frame or one named
track), from audio (monophonic pitch tracking with librosa's pYIN), from a
saved salience matrix (``.npy``, ``.pt``/``.th``), or from arrays.  Pitches
outside G2..B6 are moved by whole octaves into the range (a pitch class is
kept; the octave is the closest one available), and the user is told.
The readers and :func:`load_melody` are in :mod:`jasco_core.conditions.melody_sources`.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import Union

import numpy as np

from .audio import AudioLimits

__all__ = [
    "MELODY_BINS",
    "MELODY_LOWEST_MIDI",
    "MELODY_HIGHEST_MIDI",
    "UNVOICED",
    "MelodyConfig",
    "MelodyCondition",
    "midi_to_bin",
    "bin_to_midi",
    "fold_pitch",
    "pitches_to_salience",
    "salience_to_pitches",
]

logger = logging.getLogger(__name__)

FIELD = "melody"

#: Number of pitch bins of the released models' melody input.
MELODY_BINS = 53
#: MIDI pitch of bin 0 (G2).  Bins are consecutive semitones: bin k = MIDI 43 + k.
MELODY_LOWEST_MIDI = 43
#: MIDI pitch of the last bin (B6).
MELODY_HIGHEST_MIDI = MELODY_LOWEST_MIDI + MELODY_BINS - 1
#: Pitch value meaning "no melody in this frame".
UNVOICED = -1

MIDI_EXTENSIONS = frozenset({".mid", ".midi", ".smf", ".kar"})
SALIENCE_EXTENSIONS = frozenset({".npy", ".pt", ".th", ".pth"})
_FORMS = ("an audio file (WAV, FLAC, OGG, MP3), a MIDI file (.mid), a salience matrix (.npy, .pt, .th) "
          "of shape [53, T], (waveform, sample_rate), or an array")


@dataclass(frozen=True)
class MelodyConfig:
    """Settings of the audio and file melody readers.

    Attributes:
        analysis_sample_rate: rate audio is resampled to before pitch tracking.
        analysis_hop: pYIN hop in samples (10 ms at 16 kHz); frames are then
            sampled at the model frame times.
        fmin_midi, fmax_midi: pYIN search range.  Wider than the 53 bins below
            (C2) so low voices are tracked and then folded up an octave.
        resolution: pYIN pitch-grid step in semitones (0.25 is about 7x faster
            than librosa's 0.1 and gives the same semitone decisions).
        voicing_threshold: minimum pYIN voiced probability for a voiced frame.
        max_salience_file_bytes: size limit of uploaded matrices.
        max_frames: longest melody accepted (frames).
    """

    analysis_sample_rate: int = 16_000
    analysis_hop: int = 160
    frame_length: int = 2048
    fmin_midi: int = 36
    fmax_midi: int = MELODY_HIGHEST_MIDI + 1
    resolution: float = 0.25
    voicing_threshold: float = 0.5
    max_salience_file_bytes: int = 50 * 1024 * 1024
    max_frames: int = 50 * 600
    audio_limits: AudioLimits = field(default_factory=AudioLimits)


@dataclass(frozen=True)
class MelodyCondition:
    """A melody ready for the model.

    Attributes:
        salience: float32 ``[53, T]``; one 1 per voiced frame, zeros elsewhere.
        pitches: int64 ``[T]``; MIDI pitch of the active bin, ``-1`` if unvoiced.
        frame_rate: frames per second of both arrays.
        warnings: notes for the user (octave folding, transposition, padding).
        source: short description of where the melody came from.
    """

    salience: np.ndarray
    pitches: np.ndarray
    frame_rate: float
    warnings: tuple[str, ...] = ()
    source: str = ""

    @property
    def n_frames(self) -> int:
        return int(self.salience.shape[1])

    @property
    def voiced_fraction(self) -> float:
        return float(np.mean(self.pitches >= 0)) if self.pitches.size else 0.0


# ---------------------------------------------------------------- bins
def fold_pitch(pitch: int) -> int:
    """Move a MIDI pitch by whole octaves into G2..B6 (43..95); -1 stays -1."""
    pitch = int(pitch)
    if pitch < 0:
        return UNVOICED
    while pitch < MELODY_LOWEST_MIDI:
        pitch += 12
    while pitch > MELODY_HIGHEST_MIDI:
        pitch -= 12
    return pitch


def midi_to_bin(pitch: Union[int, float]) -> int:
    """Salience bin of a MIDI pitch (rounded, octave-folded into range); -1 for unvoiced (< 0)."""
    if pitch is None or (isinstance(pitch, float) and math.isnan(pitch)) or pitch < 0:
        return UNVOICED
    return fold_pitch(int(round(float(pitch)))) - MELODY_LOWEST_MIDI


def bin_to_midi(index: int) -> int:
    """MIDI pitch of a salience bin (0 -> 43, 52 -> 95)."""
    if not 0 <= int(index) < MELODY_BINS:
        raise ValueError(f"bin must be in 0..{MELODY_BINS - 1}, got {index}")
    return MELODY_LOWEST_MIDI + int(index)


def _fold_array(pitches: np.ndarray) -> np.ndarray:
    """Vectorised :func:`fold_pitch` for an int array."""
    p = np.asarray(pitches, dtype=np.int64).copy()
    voiced = p >= 0
    low = voiced & (p < MELODY_LOWEST_MIDI)
    p[low] += 12 * ((MELODY_LOWEST_MIDI - p[low] + 11) // 12)
    high = voiced & (p > MELODY_HIGHEST_MIDI)
    p[high] -= 12 * ((p[high] - MELODY_HIGHEST_MIDI + 11) // 12)
    p[~voiced] = UNVOICED
    return p


def pitches_to_salience(pitch_per_frame: np.ndarray) -> np.ndarray:
    """One-hot salience ``[53, T]`` float32 from per-frame MIDI pitches.

    ``pitch_per_frame`` holds integer MIDI pitches (floats are rounded);
    negative values (``-1``) and NaN mean unvoiced and give a zero column.
    Pitches outside G2..B6 are folded by octaves into range.
    """
    p = np.asarray(pitch_per_frame)
    if p.ndim != 1:
        raise ValueError(f"pitch_per_frame must be 1-D [T], got shape {p.shape}")
    if p.dtype.kind == "f":
        p = np.where(np.isnan(p), UNVOICED, np.round(p))
    folded = _fold_array(p)
    salience = np.zeros((MELODY_BINS, len(folded)), dtype=np.float32)
    voiced = np.nonzero(folded >= 0)[0]
    salience[folded[voiced] - MELODY_LOWEST_MIDI, voiced] = 1.0
    return salience


def salience_to_pitches(salience: np.ndarray) -> np.ndarray:
    """Per-frame MIDI pitch of the strongest bin, ``-1`` for all-zero frames."""
    s = np.asarray(salience)
    pitches = np.argmax(s, axis=0).astype(np.int64) + MELODY_LOWEST_MIDI
    pitches[~np.any(s > 0, axis=0)] = UNVOICED
    return pitches


def _condition(pitches: np.ndarray, frame_rate: float, notes: list[str], source: str) -> MelodyCondition:
    raw = np.asarray(pitches, dtype=np.int64)
    folded = _fold_array(raw)
    moved = int(np.sum((raw >= 0) & (folded != raw)))
    if moved:
        notes.append(f"{moved} melody frames were outside G2..B6 (MIDI {MELODY_LOWEST_MIDI}..{MELODY_HIGHEST_MIDI}) "
                     f"and were moved by octaves into that range")
    if raw.size and not np.any(raw >= 0):
        notes.append("the melody has no voiced frames; it will act like no melody")
    for message in notes:
        logger.info("melody: %s", message)
    return MelodyCondition(pitches_to_salience(folded), folded, float(frame_rate), tuple(notes), source)


def _check_frames(n_frames: int, frame_rate: float) -> None:
    if isinstance(n_frames, bool) or not isinstance(n_frames, (int, np.integer)) or n_frames <= 0:
        raise ValueError(f"n_frames must be a positive integer, got {n_frames!r}")
    if not (isinstance(frame_rate, (int, float)) and frame_rate > 0):
        raise ValueError(f"frame_rate must be positive, got {frame_rate!r}")
