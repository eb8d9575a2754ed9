"""Reading user audio (uploads, recordings, arrays) into clean mono float32.

Both the drums and the melody inputs accept audio.  Uploads come in any
format, sample rate and channel count; browser recordings arrive as
``(sample_rate, int16 array)``; library callers pass ``(waveform,
sample_rate)``.  This module turns all of them into one mono float32 array
at the sample rate a caller asks for, trimmed or zero-padded to a duration,
and rejects what cannot be used (unreadable, empty, silent, NaN/inf, too
long, absurd sample rates) with a :class:`ConditionError` naming the input.

Decoding uses soundfile (WAV, FLAC, OGG, MP3, AIFF, ...) and falls back to
librosa's loader for other formats.  Nothing is written to disk.
"""

from __future__ import annotations

import logging
import numbers
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Union

import numpy as np

from .errors import ConditionError

__all__ = ["AudioLimits", "AudioClip", "AUDIO_EXTENSIONS", "read_audio", "load_audio", "is_audio_pair"]

logger = logging.getLogger(__name__)

#: File name endings treated as audio by the melody dispatcher.
AUDIO_EXTENSIONS = frozenset({".wav", ".wave", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aif", ".aiff",
                              ".aifc", ".au", ".caf", ".w64", ".rf64", ".m4a", ".aac", ".wma", ".webm"})

_PAIR_HINT = "a file path, (waveform, sample_rate) or (sample_rate, waveform) as recorded in the browser"


@dataclass(frozen=True)
class AudioLimits:
    """What the loaders accept.  Defaults suit a web demo making 10 s clips."""

    max_file_bytes: int = 100 * 1024 * 1024
    max_seconds: float = 600.0
    min_sample_rate: int = 4_000
    max_sample_rate: int = 192_000
    silence_peak: float = 1e-4  # peak amplitude (-80 dBFS) under which a clip counts as silent


@dataclass(frozen=True)
class AudioClip:
    """Decoded audio ready for feature extraction.

    Attributes:
        samples: mono float32, at ``sample_rate``, of the requested duration.
        sample_rate: samples per second of ``samples``.
        source_seconds: length of the input before trimming or padding.
        warnings: notes for the user (padded, trimmed, resampled...).
    """

    samples: np.ndarray
    sample_rate: int
    source_seconds: float
    warnings: tuple[str, ...] = field(default=())

    @property
    def seconds(self) -> float:
        return len(self.samples) / self.sample_rate


def is_audio_pair(value: Any) -> bool:
    """True for ``(array, rate)`` or ``(rate, array)`` tuples."""
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        return False
    a, b = value
    return (_is_rate(b) and _is_array(a)) or (_is_rate(a) and _is_array(b))


def _is_rate(x: Any) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, bool)


def _is_array(x: Any) -> bool:
    return isinstance(x, np.ndarray) or hasattr(x, "__array__") or isinstance(x, (list, tuple))


def _to_float(wav: np.ndarray, field_name: str) -> np.ndarray:
    """Integer PCM to [-1, 1] floats; floats pass through."""
    if wav.dtype.kind == "f":
        return wav.astype(np.float32, copy=False)
    if wav.dtype.kind == "i":
        return (wav.astype(np.float32) / float(2 ** (8 * wav.dtype.itemsize - 1))).astype(np.float32)
    if wav.dtype.kind == "u":
        half = float(2 ** (8 * wav.dtype.itemsize - 1))
        return ((wav.astype(np.float32) - half) / half).astype(np.float32)
    if wav.dtype.kind == "b":
        raise ConditionError(field_name, f"audio samples must be numbers, got booleans; give {_PAIR_HINT}")
    raise ConditionError(field_name, f"audio samples must be numbers, got dtype {wav.dtype}; give {_PAIR_HINT}")


def _to_mono(wav: np.ndarray, field_name: str) -> np.ndarray:
    """Average channels.  2-D input may be (samples, channels) or (channels, samples)."""
    if wav.ndim == 1:
        return wav
    if wav.ndim != 2:
        raise ConditionError(field_name, f"audio must be 1-D (mono) or 2-D (samples x channels), got shape {wav.shape}")
    channels_first = wav.shape[0] <= 8 and wav.shape[1] > wav.shape[0]
    return wav.mean(axis=0 if channels_first else 1).astype(np.float32)


def _from_pair(value, field_name: str) -> tuple[np.ndarray, int]:
    a, b = value
    wav, rate = (b, a) if _is_rate(a) and not _is_rate(b) else (a, b)
    if hasattr(wav, "detach"):  # torch tensor
        wav = wav.detach().cpu().numpy()
    wav = np.asarray(wav)
    if not (isinstance(rate, numbers.Real) and float(rate).is_integer()):
        raise ConditionError(field_name, f"sample rate must be a whole number of Hz like 44100, got {rate!r}")
    return wav, int(rate)


def _decode_file(path: Path, field_name: str, limits: AudioLimits, max_seconds: Optional[float]) -> tuple[np.ndarray, int, float]:
    """Decode (at most ``max_seconds`` of) a file; returns samples, rate, full length in s."""
    import soundfile

    try:
        info = soundfile.info(str(path))
    except Exception as first_error:  # not a libsndfile format: try librosa's loaders
        return _decode_with_librosa(path, field_name, limits, max_seconds, first_error)
    if info.samplerate <= 0 or info.frames <= 0:
        raise ConditionError(field_name, f"audio file {path.name!r} contains no samples; upload a recording of a few seconds")
    full_seconds = info.frames / info.samplerate
    if full_seconds > limits.max_seconds:
        raise ConditionError(field_name, f"audio file {path.name!r} lasts {full_seconds:.0f} s; at most "
                                         f"{limits.max_seconds:.0f} s are accepted (cut it first)")
    _check_rate(info.samplerate, field_name, limits)
    frames = -1 if max_seconds is None else min(info.frames, int(np.ceil(max_seconds * info.samplerate)) + 1)
    try:
        wav, rate = soundfile.read(str(path), frames=frames, dtype="float32", always_2d=True)
    except Exception as error:
        raise ConditionError(field_name, f"cannot decode audio file {path.name!r} ({error}); "
                                         f"use WAV, FLAC, OGG or MP3") from None
    return wav, int(rate), full_seconds


def _decode_with_librosa(path, field_name, limits, max_seconds, first_error):
    import warnings

    import librosa

    read_seconds = limits.max_seconds + 1.0 if max_seconds is None else min(max_seconds + 0.1, limits.max_seconds + 1.0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            wav, rate = librosa.load(str(path), sr=None, mono=False, duration=read_seconds)
    except Exception as error:
        logger.debug("soundfile failed on %s: %s; librosa failed: %s", path, first_error, error)
        raise ConditionError(field_name, f"cannot decode audio file {path.name!r}: not a supported audio format; "
                                         f"use WAV, FLAC, OGG or MP3") from None
    wav = np.asarray(wav, dtype=np.float32)
    wav = wav.T if wav.ndim == 2 else wav
    seconds = wav.shape[0] / rate if rate else 0.0
    if max_seconds is None and seconds > limits.max_seconds:
        raise ConditionError(field_name, f"audio file {path.name!r} lasts more than {limits.max_seconds:.0f} s; cut it first")
    return wav, int(rate), seconds


def _check_rate(rate: int, field_name: str, limits: AudioLimits) -> None:
    if not limits.min_sample_rate <= rate <= limits.max_sample_rate:
        raise ConditionError(field_name, f"sample rate {rate} Hz is outside the accepted range "
                                         f"{limits.min_sample_rate}..{limits.max_sample_rate} Hz, e.g. 44100")


def read_audio(
    value: Union[str, os.PathLike, tuple, list],
    *,
    field: str,
    sample_rate: int,
    duration: Optional[float] = None,
    limits: AudioLimits = AudioLimits(),
) -> AudioClip:
    """Decode, check, downmix, resample and trim/pad one audio input.

    Args:
        value: a path, ``(waveform, sample_rate)``, or ``(sample_rate,
            waveform)`` (the browser recorder's order).  Integer waveforms are
            read as PCM; 2-D waveforms may be samples x channels or channels x
            samples (up to 8 channels).
        field: input name used in errors, e.g. ``"drums"``.
        sample_rate: output rate (soxr high-quality resampling).
        duration: output length in seconds; longer input is cut, shorter
            input is padded with silence (both noted in ``warnings``).
            ``None`` keeps the full length.

    Raises:
        ConditionError(field): missing/unreadable file, empty, silent,
        NaN/inf samples, too large/long, sample rate out of range.
    """
    if value is None:
        raise ConditionError(field, f"no audio given; expected {_PAIR_HINT}")
    if duration is not None and not (np.isfinite(duration) and duration > 0):
        raise ConditionError("duration", f"duration must be a positive number of seconds, e.g. 10; got {duration!r}")
    if isinstance(value, (str, os.PathLike)):
        path = Path(value)
        if not path.is_file():
            raise ConditionError(field, f"audio file {str(value)!r} does not exist; upload a WAV, FLAC, OGG or MP3 file")
        size = path.stat().st_size
        if size == 0:
            raise ConditionError(field, f"audio file {path.name!r} is empty (0 bytes); upload a WAV, FLAC, OGG or MP3 file")
        if size > limits.max_file_bytes:
            raise ConditionError(field, f"audio file {path.name!r} is {size / 2**20:.0f} MiB; at most "
                                        f"{limits.max_file_bytes / 2**20:.0f} MiB are accepted")
        wav, rate, source_seconds = _decode_file(path, field, limits, duration)
    elif is_audio_pair(value):
        wav, rate = _from_pair(value, field)
        wav = _to_float(wav, field)
        source_seconds = None
    else:
        raise ConditionError(field, f"cannot read audio from {type(value).__name__}; expected {_PAIR_HINT}")

    _check_rate(rate, field, limits)
    if wav.size == 0:
        raise ConditionError(field, "the audio is empty (no samples); record or upload a few seconds")
    mono = _to_mono(wav, field)
    if source_seconds is None:
        source_seconds = len(mono) / rate
    if source_seconds > limits.max_seconds:
        raise ConditionError(field, f"the audio lasts {source_seconds:.0f} s; at most {limits.max_seconds:.0f} s are accepted")
    if not np.all(np.isfinite(mono)):
        raise ConditionError(field, "the audio contains NaN or infinite samples; re-export it as a normal WAV file")

    notes = []
    if duration is not None:
        mono = mono[: int(np.ceil(duration * rate))]
    if rate != sample_rate:
        import soxr

        mono = soxr.resample(mono, rate, sample_rate, quality="HQ").astype(np.float32)
    if duration is not None:
        target = int(round(duration * sample_rate))
        if source_seconds > duration + 1e-3:
            notes.append(f"{field} audio lasts {source_seconds:.2f} s; only the first {duration:g} s are used")
        if len(mono) < target:
            if source_seconds < duration - 1e-3:
                notes.append(f"{field} audio lasts {source_seconds:.2f} s; padded with silence to {duration:g} s")
            mono = np.pad(mono, (0, target - len(mono)))
        mono = mono[:target]
    peak = float(np.max(np.abs(mono))) if mono.size else 0.0
    if peak < limits.silence_peak:
        raise ConditionError(field, f"the {field} audio is silent (peak {peak:.1e}); upload or record an audible clip")
    if peak > 1.0:
        notes.append(f"{field} audio peaks at {peak:.2f} (above full scale); it is used as is")
    for message in notes:
        logger.info("%s", message)
    return AudioClip(np.ascontiguousarray(mono, dtype=np.float32), int(sample_rate), float(source_seconds), tuple(notes))


def load_audio(value, *, field: str, sample_rate: int, duration: Optional[float] = None,
               limits: AudioLimits = AudioLimits()) -> np.ndarray:
    """:func:`read_audio` returning only the samples (mono float32)."""
    return read_audio(value, field=field, sample_rate=sample_rate, duration=duration, limits=limits).samples
