"""Loudness of what the page plays and writes: -14 LUFS integrated, true peak at most -1 dBFS.

The model's raw outputs are quiet (peaks of 0.2-0.3, about -28 dBFS RMS); the page brings each
clip to `TARGET_LUFS` (ITU-R BS.1770 integrated loudness, measured with `pyloudnorm`) and then
lowers it, if needed, so that its true peak (estimated on a 4x oversampled copy, as BS.1770
annex 2 does) stays at or below `CEILING_DBFS`; the sample peak is then below it too. Only the
page's copies change: `jasco_core` results stay as the library made them.

- Silence (or near silence, below `SILENCE_DBFS` RMS) is left as it is: amplifying it would
  make noise out of nothing, and its loudness is -inf.
- Clips shorter than one BS.1770 gating block (0.4 s) are measured on the clip repeated to the
  block's length.
"""
from __future__ import annotations

import dataclasses
import math
import typing as tp

import numpy as np

TARGET_LUFS = -14.0
CEILING_DBFS = -1.0
OVERSAMPLE = 4
SILENCE_DBFS = -70.0      # RMS below this: left as it is
BLOCK_SECONDS = 0.4       # BS.1770 gating block: pyloudnorm needs at least this much audio
MAX_GAIN_DB = 60.0        # never raise a clip by more than this


@dataclasses.dataclass(frozen=True)
class Normalised:
    """One clip's change: its loudness before, the gain applied (dB), its true peak after."""

    lufs_before: float        # -inf for silence
    gain_db: float            # 0 when left as it is
    true_peak_dbfs: float     # after the gain; -inf for silence

    def describe(self) -> str:
        """'-27.9 LUFS -> -14.0 LUFS (+13.9 dB), true peak -3.2 dBFS' (or 'silent: left as it is')."""
        if not math.isfinite(self.lufs_before):
            return "silent: left as it is"
        return (f"{self.lufs_before:.1f} LUFS \u2192 {self.lufs_before + self.gain_db:.1f} LUFS "
                f"({self.gain_db:+.1f} dB), true peak {self.true_peak_dbfs:.1f} dBFS")


def _db(x: float) -> float:
    return 20.0 * math.log10(x) if x > 0 else -math.inf


def loudness(audio: np.ndarray, sample_rate: int) -> float:
    """Integrated loudness (LUFS, BS.1770) of a mono clip; -inf for silence. A clip shorter than
    a gating block is measured repeated to the block's length."""
    import pyloudnorm

    x = np.asarray(audio, dtype=np.float64).reshape(-1)
    if x.size == 0 or not np.any(x):
        return -math.inf
    block = int(math.ceil(BLOCK_SECONDS * sample_rate)) + 1
    if x.size < block:
        x = np.tile(x, int(math.ceil(block / x.size)))
    value = float(pyloudnorm.Meter(sample_rate).integrated_loudness(x))
    return value if math.isfinite(value) else -math.inf


def true_peak(audio: np.ndarray, oversample: int = OVERSAMPLE) -> float:
    """The largest absolute value of the clip oversampled `oversample` times (a linear value, at
    least the sample peak)."""
    from scipy.signal import resample_poly

    x = np.asarray(audio, dtype=np.float64).reshape(-1)
    if x.size == 0:
        return 0.0
    sample_peak = float(np.max(np.abs(x)))
    if x.size < 8:
        return sample_peak
    return max(sample_peak, float(np.max(np.abs(resample_poly(x, oversample, 1)))))


def normalise(audio: np.ndarray, sample_rate: int, target_lufs: float = TARGET_LUFS,
              ceiling_dbfs: float = CEILING_DBFS) -> tp.Tuple[np.ndarray, Normalised]:
    """A mono clip at `target_lufs`, lowered to keep its true peak at or below `ceiling_dbfs`
    (float32, a new array), and what was done. Silence comes back unchanged."""
    x = np.asarray(audio, dtype=np.float32).reshape(-1)
    rms = float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) if x.size else 0.0
    if not np.all(np.isfinite(x)):
        raise ValueError("audio contains NaN or infinite samples")
    if _db(rms) < SILENCE_DBFS:
        return x.copy(), Normalised(-math.inf, 0.0, _db(float(np.max(np.abs(x)))) if x.size else -math.inf)
    before = loudness(x, sample_rate)
    gain_db = min(target_lufs - before, MAX_GAIN_DB) if math.isfinite(before) else 0.0
    gain = 10.0 ** (gain_db / 20.0)
    peak = true_peak(x) * gain
    ceiling = 10.0 ** (ceiling_dbfs / 20.0)
    if peak > ceiling:  # lower the whole clip: the true peak lands just under the ceiling
        gain *= ceiling / peak * 0.999
        gain_db = _db(gain)
    out = (x * gain).astype(np.float32)
    return out, Normalised(before, gain_db, _db(true_peak(out)))


def normalise_all(audio: np.ndarray, sample_rate: int, **kwargs) -> tp.Tuple[np.ndarray, tp.List[Normalised]]:
    """`normalise` of every row of `audio` [n_clips, n]: each clip at the target on its own."""
    clips, done = [], []
    for row in np.asarray(audio):
        out, what = normalise(row, sample_rate, **kwargs)
        clips.append(out)
        done.append(what)
    return (np.stack(clips) if clips else np.zeros((0, 0), np.float32)), done
