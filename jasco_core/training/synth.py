"""Render note parts to audio with FluidSynth and the General MIDI soundfont bundled in pretty_midi.

Unlike ``pretty_midi.PrettyMIDI.fluidsynth`` this writes float samples (no
16-bit clipping or dither), schedules events by sample position (FluidSynth applies them at
its next 64-sample block, within 3 ms at 22.05 kHz) and keeps the soundfont's
samples cached per process.  Every render uses a fresh synthesiser, so no
reverb tail or voice state leaks between renders: the same parts always give
the same samples, whatever was rendered before.
"""

from __future__ import annotations

import ctypes
import logging
import os
from dataclasses import dataclass
from functools import lru_cache
from typing import Sequence

import numpy as np

from .grid import Note

__all__ = ["Part", "default_soundfont", "render_parts"]

logger = logging.getLogger(__name__)

_DRUM_CHANNEL = 9


@dataclass(frozen=True)
class Part:
    """One instrument of a piece: its role name, GM program and notes.

    For drums (``is_drum``) the program selects the GM drum kit (bank 128).
    """

    name: str
    program: int
    is_drum: bool
    notes: tuple[Note, ...]


def default_soundfont() -> str:
    """Path of the General MIDI soundfont shipped with pretty_midi (TimGM6mb)."""
    import pretty_midi

    return os.path.join(os.path.dirname(pretty_midi.__file__), "TimGM6mb.sf2")


@lru_cache(maxsize=1)
def _fluidsynth():
    """The pyfluidsynth module and a float-output writer bound to its library."""
    import fluidsynth

    prototype = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p, ctypes.c_int,
                                 ctypes.c_int, ctypes.c_void_p, ctypes.c_int, ctypes.c_int)
    return fluidsynth, prototype(("fluid_synth_write_float", fluidsynth._fl))


_HOLDERS: dict[tuple[int, str], object] = {}


def _keep_samples_cached(fluidsynth, soundfont: str) -> None:
    """Keep one idle synthesiser per process holding the soundfont.

    FluidSynth shares loaded sample data between synthesisers while any of
    them still uses it, so with this holder alive a fresh synthesiser loads
    the soundfont in about 10 ms instead of 60 ms.
    """
    key = (os.getpid(), soundfont)
    if key not in _HOLDERS:
        holder = fluidsynth.Synth(samplerate=22050.0)
        if holder.sfload(soundfont) < 0:
            raise RuntimeError(f"FluidSynth could not load the soundfont {soundfont}")
        _HOLDERS[key] = holder
        logger.debug("soundfont %s loaded and cached in process %d", soundfont, os.getpid())


def render_parts(parts: Sequence[Part], duration: float, sample_rate: int, soundfont: str | None = None) -> np.ndarray:
    """Mono float32 audio of exactly ``round(duration * sample_rate)`` samples.

    Notes are clipped to the duration; what would ring past it is cut.  A
    fresh synthesiser renders every call (nothing carries over between
    calls); an empty ``parts`` gives silence without starting one.
    """
    n_samples = int(round(duration * sample_rate))
    left = np.zeros(n_samples, dtype=np.float32)
    right = np.zeros(n_samples, dtype=np.float32)
    if not any(part.notes for part in parts):
        return left
    soundfont = soundfont or default_soundfont()
    fluidsynth, write_float = _fluidsynth()
    _keep_samples_cached(fluidsynth, soundfont)
    synth = fluidsynth.Synth(samplerate=float(sample_rate), gain=0.3)
    try:
        sfid = synth.sfload(soundfont)
        if sfid < 0:
            raise RuntimeError(f"FluidSynth could not load the soundfont {soundfont}")
        events = []  # (sample, order, channel, key, velocity); note-offs sort first
        melodic_channels = [c for c in range(16) if c != _DRUM_CHANNEL]
        for k, part in enumerate(parts):
            if part.is_drum:
                channel = _DRUM_CHANNEL
                synth.program_select(channel, sfid, 128, int(part.program))
            else:
                if k >= len(melodic_channels):
                    raise ValueError("at most 15 melodic parts can be rendered together")
                channel = melodic_channels[k]
                synth.program_select(channel, sfid, 0, int(part.program))
            for note in part.notes:
                on = int(round(note.start * sample_rate))
                off = min(int(round(note.end * sample_rate)), n_samples)
                if on >= n_samples or off <= on:
                    continue
                events.append((on, 1, channel, int(note.pitch), int(note.velocity)))
                events.append((off, 0, channel, int(note.pitch), 0))
        events.sort()
        position = 0
        for sample, order, channel, key, velocity in events:
            if sample > position:
                _write(write_float, synth, left, right, position, sample - position)
                position = sample
            if order == 1:
                synth.noteon(channel, key, velocity)
            else:
                synth.noteoff(channel, key)
        if position < n_samples:
            _write(write_float, synth, left, right, position, n_samples - position)
    finally:
        synth.delete()
    return (0.5 * (left + right)).astype(np.float32)


def _write(write_float, synth, left: np.ndarray, right: np.ndarray, offset: int, count: int) -> None:
    """Synthesise ``count`` samples into the buffers at ``offset``."""
    status = write_float(synth.synth, int(count), left.ctypes.data, int(offset), 1, right.ctypes.data, int(offset), 1)
    if status != 0:
        raise RuntimeError("FluidSynth failed to synthesise audio")
