"""Are long clips smooth where their parts join? `seam_profile`: spectral change and level at the joins vs the rest.

Used by `bench/eval_longform.py` and the long-form tests (the joins of windows, repaints and
extensions).
"""
from __future__ import annotations

import typing as tp

import numpy as np

from .metrics import MetricInputError, _check_rate, _is_silent, _mono, _resample

__all__ = ["seam_profile", "SEAM_RATIO_LIMIT", "LEVEL_RANGE_DB"]

SEAM_RATIO_LIMIT = 1.5   # a join is smooth when its change is at most this times the clip's usual change
LEVEL_RANGE_DB = 6.0     # a long clip's level is steady when every block is within this of the median
_SEAM_RATE = 22050
_SEAM_N_FFT = 2048
_SEAM_HOP = 512
_SEAM_MELS = 64
_SEAM_TOP_DB = 80.0
_SEAM_PERCENTILE = 99.0
_LEVEL_FLOOR_DB = -120.0


def seam_profile(audio: tp.Any, sr: int, joins_seconds: tp.Sequence[float], radius: int = 2,
                 block_seconds: float = 2.0) -> tp.Dict[str, tp.Any]:
    """Is a clip made of joined parts smooth at the joins? Spectral change and level, joins vs the rest.

    Spectral change: the log-mel spectrogram of the clip (resampled to 22050 Hz, n_fft 2048, hop
    512 (~23 ms), 64 Slaney mel bands, power in dB clipped 80 dB below the clip's peak) and per
    frame ``i >= 1`` the mean over bands of ``|L[:, i] - L[:, i - 1]|`` (dB). A join at ``t``
    seconds covers the frames within `radius` of ``round(t * 22050 / 512)`` (the analysis window
    smears a discontinuity over about +-2 frames); joins at or outside the clip's ends are ignored.
    ``join_p99`` / ``rest_p99``: 99th percentiles of the change on the join frames / on all other
    frames; ``ratio = join_p99 / rest_p99`` (a click or a level jump at a join gives a large
    ratio; joins no different from the rest of the music give about 1, a bit below or above).

    Level: RMS in dB of each whole block of `block_seconds` (a last partial block counts when it
    is at least half a block); ``level_range_db`` is the largest distance of a block from their
    median (silent blocks count as -120 dB).

    Returns a dict: ``ratio``, ``join_p99``, ``rest_p99``, ``rest_median``, ``join_max`` (dB),
    ``joins`` (the join times used), ``join_changes`` (the largest change near each of them),
    ``block_db`` (list), ``median_db``, ``level_range_db``, ``seam_ok`` (``ratio <=
    SEAM_RATIO_LIMIT``, True when no join is inside the clip), ``level_ok`` (``level_range_db <=
    LEVEL_RANGE_DB``). Silent audio gives zero change everywhere (ratio 0.0).
    """
    samples = _resample(_mono(audio, "audio"), _check_rate(sr, "sr"), _SEAM_RATE)
    try:
        joins = np.asarray([float(t) for t in joins_seconds], dtype=np.float64).reshape(-1)
    except (TypeError, ValueError) as exc:
        raise MetricInputError("joins_seconds", f"expected a list of times in seconds, got {joins_seconds!r}") from exc
    if not np.all(np.isfinite(joins)):
        raise MetricInputError("joins_seconds", f"expected finite times in seconds, got {joins.tolist()}")
    if isinstance(radius, bool) or not isinstance(radius, (int, np.integer)) or radius < 0:
        raise MetricInputError("radius", f"expected a whole number of frames >= 0, got {radius!r}")
    if not (isinstance(block_seconds, (int, float)) and np.isfinite(block_seconds) and block_seconds > 0):
        raise MetricInputError("block_seconds", f"expected seconds > 0, got {block_seconds!r}")
    seconds = samples.size / _SEAM_RATE
    if samples.size < _SEAM_N_FFT:
        raise MetricInputError(f"audio must be at least {_SEAM_N_FFT / _SEAM_RATE:.2f} s long, got {seconds:.3f} s")
    import librosa

    power = librosa.feature.melspectrogram(y=samples, sr=_SEAM_RATE, n_fft=_SEAM_N_FFT, hop_length=_SEAM_HOP,
                                           n_mels=_SEAM_MELS, center=True)
    if _is_silent(samples):
        logmel = np.zeros_like(power)
    else:
        logmel = librosa.power_to_db(power, ref=np.max, amin=1e-10, top_db=_SEAM_TOP_DB)
    change = np.abs(np.diff(logmel, axis=1)).mean(axis=0)      # change[k]: frame k -> k + 1
    frames = np.arange(1, logmel.shape[1])                      # the later frame of each change
    inside = joins[(joins > 0) & (joins < seconds)]
    at_join = np.zeros(change.size, dtype=bool)
    join_changes = []
    for t in inside:
        centre = int(round(t * _SEAM_RATE / _SEAM_HOP))
        near = np.abs(frames - centre) <= radius
        at_join |= near
        join_changes.append(float(change[near].max()) if near.any() else 0.0)
    rest = change[~at_join] if (~at_join).any() else change
    rest_p99 = float(np.percentile(rest, _SEAM_PERCENTILE)) if rest.size else 0.0
    join_p99 = float(np.percentile(change[at_join], _SEAM_PERCENTILE)) if at_join.any() else 0.0
    ratio = join_p99 / rest_p99 if rest_p99 > 0 else 0.0

    block = max(1, int(round(block_seconds * _SEAM_RATE)))
    starts = [s for s in range(0, samples.size, block) if samples.size - s >= block / 2]
    rms = np.array([np.sqrt(np.mean(samples[s:s + block] ** 2)) for s in starts])
    block_db = np.maximum(20.0 * np.log10(np.maximum(rms, 1e-30)), _LEVEL_FLOOR_DB)
    median_db = float(np.median(block_db))
    level_range = float(np.max(np.abs(block_db - median_db)))
    return {"ratio": float(ratio), "join_p99": join_p99, "rest_p99": rest_p99,
            "rest_median": float(np.median(rest)) if rest.size else 0.0,
            "join_max": max(join_changes) if join_changes else 0.0, "joins": inside.tolist(),
            "join_changes": join_changes, "block_db": block_db.tolist(), "median_db": median_db,
            "level_range_db": level_range, "seam_ok": bool(ratio <= SEAM_RATIO_LIMIT),
            "level_ok": bool(level_range <= LEVEL_RANGE_DB)}
