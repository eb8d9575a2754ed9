"""Melody readers: MIDI files, recordings (pYIN) and salience matrices -> :class:`MelodyCondition`.

:func:`load_melody` picks the reader from the kind of input.  The melody
representation itself (53 semitone bins, octave folding, one-hot salience)
is defined in :mod:`jasco_core.conditions.melody`.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any, Optional, Union

import numpy as np

from .audio import AUDIO_EXTENSIONS, is_audio_pair, read_audio
from .errors import ConditionError
from .melody import (
    _FORMS,
    FIELD,
    MELODY_BINS,
    MIDI_EXTENSIONS,
    SALIENCE_EXTENSIONS,
    MelodyCondition,
    MelodyConfig,
    _check_frames,
    _condition,
    salience_to_pitches,
)

__all__ = [
    "melody_from_midi",
    "melody_from_audio",
    "melody_from_salience_file",
    "melody_from_salience",
    "load_melody",
]


# ---------------------------------------------------------------- MIDI
def _load_midi(value: Any):
    import pretty_midi

    if isinstance(value, pretty_midi.PrettyMIDI):
        return value, "MIDI"
    path = Path(value)
    if not path.is_file():
        raise ConditionError(FIELD, f"MIDI file {str(value)!r} does not exist; upload a .mid file")
    if path.stat().st_size > 10 * 1024 * 1024:
        raise ConditionError(FIELD, f"MIDI file {path.name!r} is larger than 10 MiB; that is not a melody")
    try:
        return pretty_midi.PrettyMIDI(str(path)), path.name
    except Exception as error:
        raise ConditionError(FIELD, f"cannot read MIDI file {path.name!r} ({type(error).__name__}); "
                                    f"upload a standard MIDI file (.mid)") from None


def _select_instruments(midi, track: Union[None, int, str]):
    import pretty_midi

    pitched = [inst for inst in midi.instruments if not inst.is_drum and inst.notes]
    if track is None:
        return pitched
    described = ", ".join(
        f"{k}: {inst.name or pretty_midi.program_to_instrument_name(inst.program)}"
        for k, inst in enumerate(midi.instruments)) or "none"
    if isinstance(track, (int, np.integer)) and not isinstance(track, bool):
        if 0 <= int(track) < len(midi.instruments):
            return [midi.instruments[int(track)]]
        raise ConditionError(FIELD, f"MIDI track {track} does not exist; tracks are {described}")
    wanted = str(track).strip().lower()
    chosen = [inst for inst in midi.instruments if inst.name.strip().lower() == wanted]
    if not chosen:
        chosen = [inst for inst in midi.instruments
                  if pretty_midi.program_to_instrument_name(inst.program).lower() == wanted and not inst.is_drum]
    if not chosen:
        raise ConditionError(FIELD, f"no MIDI track or instrument named {track!r}; tracks are {described}")
    return chosen


def melody_from_midi(
    value: Any,
    n_frames: int,
    frame_rate: float = 50.0,
    track: Union[None, int, str] = None,
) -> MelodyCondition:
    """Melody from a MIDI file path or ``pretty_midi.PrettyMIDI``.

    A note sounds in frame ``i`` if ``start <= i / frame_rate < end`` (same
    sampling as the chord frames).  With ``track=None`` the highest sounding
    note of all non-drum tracks is taken per frame ("skyline"); ``track`` may
    instead be a track index or a track/instrument name (e.g. ``"Flute"``).
    """
    _check_frames(n_frames, frame_rate)
    midi, source = _load_midi(value)
    instruments = _select_instruments(midi, track)
    pitches = np.full(int(n_frames), -1, dtype=np.int64)
    tolerance = 1e-6
    for inst in instruments:
        for note in inst.notes:
            first = max(0, math.ceil(note.start * frame_rate - tolerance))
            stop = min(int(n_frames), math.ceil(note.end * frame_rate - tolerance))
            if stop > first:
                np.maximum(pitches[first:stop], note.pitch, out=pitches[first:stop])
    if not np.any(pitches >= 0):
        seconds = n_frames / frame_rate
        raise ConditionError(FIELD, f"the MIDI file has no pitched notes in the first {seconds:g} s "
                                    f"(drum tracks are ignored); upload a MIDI melody")
    label = f"{source}" + (f" (track {track!r})" if track is not None else " (highest voice)")
    return _condition(pitches, frame_rate, [], label)


# ---------------------------------------------------------------- audio
def melody_from_audio(
    value: Any,
    n_frames: int,
    frame_rate: float = 50.0,
    config: MelodyConfig = MelodyConfig(),
) -> MelodyCondition:
    """Melody from a monophonic recording (path or ``(waveform, sr)``) with pYIN.

    The audio is mixed to mono, resampled to ``config.analysis_sample_rate``
    and tracked between ``fmin_midi`` and ``fmax_midi``; a frame is voiced when
    pYIN says so with probability ``>= voicing_threshold``.  Estimates are
    rounded to the nearest semitone and sampled at the model frame times
    ``i / frame_rate``.  Works best on a single voice or instrument.
    """
    import librosa

    _check_frames(n_frames, frame_rate)
    duration = n_frames / frame_rate
    clip = read_audio(value, field=FIELD, sample_rate=config.analysis_sample_rate, duration=duration,
                      limits=config.audio_limits)
    sr, hop = config.analysis_sample_rate, config.analysis_hop
    f0, voiced, probability = librosa.pyin(
        clip.samples,
        fmin=float(librosa.midi_to_hz(config.fmin_midi)),
        fmax=float(librosa.midi_to_hz(config.fmax_midi)),
        sr=sr,
        frame_length=config.frame_length,
        hop_length=hop,
        resolution=config.resolution,
        center=True,
    )
    keep = voiced & (probability >= config.voicing_threshold) & np.isfinite(f0)
    analysis = np.full(len(f0), -1, dtype=np.int64)
    analysis[keep] = np.round(librosa.hz_to_midi(f0[keep])).astype(np.int64)
    # analysis frame j is centred at j * hop / sr; take the nearest one for each model frame
    nearest = np.clip(np.round(np.arange(int(n_frames)) / frame_rate * sr / hop).astype(np.int64), 0, len(f0) - 1)
    pitches = analysis[nearest]
    notes = list(clip.warnings)
    return _condition(pitches, frame_rate, notes, "audio (pYIN)")


# ---------------------------------------------------------------- matrices
def melody_from_salience(
    matrix: Any,
    n_frames: Optional[int] = None,
    frame_rate: float = 50.0,
    source: str = "array",
) -> MelodyCondition:
    """Melody from a salience matrix ``[53, T]`` (or ``[T, 53]``, transposed).

    Values are binarised like the training data: per frame a 1 at the largest
    positive value, zeros if the column has no positive value.  The matrix is
    taken to be at ``frame_rate``; with ``n_frames`` it is cut or padded with
    unvoiced frames to that length.
    """
    if hasattr(matrix, "detach"):
        matrix = matrix.detach().cpu().float().numpy()
    try:
        m = np.asarray(matrix, dtype=np.float32)
    except (TypeError, ValueError):
        raise ConditionError(FIELD, "the melody matrix must hold numbers; expected shape [53, T], e.g. [53, 500]") from None
    notes: list[str] = []
    if m.ndim != 2:
        raise ConditionError(FIELD, f"the melody matrix must be 2-D [53, T] (e.g. [53, 500] for 10 s), got shape {list(m.shape)}")
    if m.shape[0] != MELODY_BINS:
        if m.shape[1] == MELODY_BINS:
            m = m.T
            notes.append(f"the melody matrix had shape [{m.shape[1]}, 53] and was transposed to [53, {m.shape[1]}]")
        else:
            raise ConditionError(FIELD, f"the melody matrix must have 53 pitch rows, shape [53, T] (e.g. [53, 500]); "
                                        f"got shape {list(m.shape)}")
    if m.shape[1] == 0:
        raise ConditionError(FIELD, "the melody matrix has no frames; expected shape [53, T] with T > 0, e.g. [53, 500]")
    if not np.all(np.isfinite(m)):
        raise ConditionError(FIELD, "the melody matrix contains NaN or infinite values; expected finite numbers, "
                                    "e.g. a 0/1 matrix of shape [53, 500]")
    if m.shape[1] > MelodyConfig().max_frames:
        raise ConditionError(FIELD, f"the melody matrix has {m.shape[1]} frames; at most {MelodyConfig().max_frames} are accepted")
    pitches = salience_to_pitches(np.where(m > 0, m, 0))
    if n_frames is not None:
        _check_frames(n_frames, frame_rate)
        if len(pitches) > n_frames:
            notes.append(f"the melody matrix has {len(pitches)} frames; only the first {n_frames} are used")
            pitches = pitches[:n_frames]
        elif len(pitches) < n_frames:
            notes.append(f"the melody matrix has {len(pitches)} frames; padded with unvoiced frames to {n_frames}")
            pitches = np.concatenate([pitches, np.full(n_frames - len(pitches), -1, dtype=np.int64)])
    return _condition(pitches, frame_rate, notes, source)


def melody_from_salience_file(
    path: Union[str, os.PathLike],
    n_frames: Optional[int] = None,
    frame_rate: float = 50.0,
    config: MelodyConfig = MelodyConfig(),
) -> MelodyCondition:
    """Melody from a saved matrix: ``.npy`` (numpy) or ``.pt``/``.th``/``.pth`` (torch).

    Torch files are read with ``weights_only=True`` (no code execution); a
    file holding a dict with exactly one tensor is accepted too.
    """
    path = Path(path)
    if not path.is_file():
        raise ConditionError(FIELD, f"melody file {str(path)!r} does not exist; upload a .npy or .pt matrix [53, T]")
    size = path.stat().st_size
    if size > config.max_salience_file_bytes:
        raise ConditionError(FIELD, f"melody file {path.name!r} is {size / 2**20:.0f} MiB; at most "
                                    f"{config.max_salience_file_bytes / 2**20:.0f} MiB are accepted")
    suffix = path.suffix.lower()
    try:
        if suffix == ".npy":
            data = np.load(str(path), allow_pickle=False)
        else:
            import torch

            data = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as error:
        raise ConditionError(FIELD, f"cannot read melody file {path.name!r} ({type(error).__name__}); expected a "
                                    f"numpy .npy or torch .pt/.th file holding one array of shape [53, T]") from None
    if isinstance(data, dict):
        arrays = [v for v in data.values() if hasattr(v, "shape")]
        if len(arrays) != 1:
            raise ConditionError(FIELD, f"melody file {path.name!r} holds a dict with {len(arrays)} arrays; "
                                        f"expected one array of shape [53, T]")
        data = arrays[0]
    if not hasattr(data, "shape"):
        raise ConditionError(FIELD, f"melody file {path.name!r} holds a {type(data).__name__}, not an array of shape [53, T]")
    return melody_from_salience(data, n_frames, frame_rate, source=path.name)


# ---------------------------------------------------------------- dispatcher
def load_melody(
    value: Any,
    n_frames: int,
    frame_rate: float = 50.0,
    *,
    track: Union[None, int, str] = None,
    config: MelodyConfig = MelodyConfig(),
) -> MelodyCondition:
    """Any supported melody input -> :class:`MelodyCondition` with ``n_frames`` frames.

    ``value`` may be a path (chosen by extension: audio, ``.mid``/``.midi``,
    ``.npy``/``.pt``/``.th``), a ``pretty_midi.PrettyMIDI``, an audio pair
    ``(waveform, sr)`` / ``(sr, waveform)``, a 2-D array or tensor (salience
    ``[53, T]``), or a 1-D integer array of per-frame MIDI pitches (-1 =
    unvoiced).
    """
    _check_frames(n_frames, frame_rate)
    if value is None:
        raise ConditionError(FIELD, f"no melody given; expected {_FORMS}")
    if isinstance(value, (str, os.PathLike)):
        path = Path(value)
        suffix = path.suffix.lower()
        if suffix in MIDI_EXTENSIONS:
            return melody_from_midi(path, n_frames, frame_rate, track)
        if suffix in SALIENCE_EXTENSIONS:
            return melody_from_salience_file(path, n_frames, frame_rate, config)
        if suffix in AUDIO_EXTENSIONS:
            return melody_from_audio(path, n_frames, frame_rate, config)
        raise ConditionError(FIELD, f"cannot tell what {path.name!r} is from its extension {suffix!r}; expected {_FORMS}")
    if type(value).__name__ == "PrettyMIDI":
        return melody_from_midi(value, n_frames, frame_rate, track)
    if is_audio_pair(value):
        return melody_from_audio(value, n_frames, frame_rate, config)
    if hasattr(value, "shape") or isinstance(value, (list, tuple)):
        if hasattr(value, "detach"):
            value = value.detach().cpu().numpy()
        array = np.asarray(value)
        if array.ndim == 1:
            if array.dtype.kind not in "iuf":
                raise ConditionError(FIELD, "per-frame pitches must be MIDI numbers (-1 for silence), e.g. [60, 60, -1, 62]")
            if array.dtype.kind == "f" and not np.all(np.isfinite(array) | np.isnan(array)):
                raise ConditionError(FIELD, "per-frame pitches contain infinite values; use -1 for silence")
            pitches = np.where(np.isnan(array), -1, np.round(array)).astype(np.int64) if array.dtype.kind == "f" else array.astype(np.int64)
            notes = []
            if len(pitches) != n_frames:
                notes.append(f"the pitch list has {len(pitches)} frames; it was cut or padded to {n_frames}")
                pitches = np.concatenate([pitches, np.full(max(0, n_frames - len(pitches)), -1, np.int64)])[:n_frames]
            return _condition(pitches, frame_rate, notes, "pitch list")
        return melody_from_salience(array, n_frames, frame_rate)
    raise ConditionError(FIELD, f"cannot use a {type(value).__name__} as melody; expected {_FORMS}")
