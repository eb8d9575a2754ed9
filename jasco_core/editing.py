"""Editing existing audio: reading it, the region to regenerate, and putting the result together.

`Pipeline.repaint` and `Pipeline.extend` turn the audio into latents with the bundle's codec, mark
which frames are known (`region_known`, `extension_known`), let `longform.solve_windows` generate the
others, decode, and `splice` the new audio into the original: outside the edited part the output
is the input itself, joined to the new audio by short equal-power crossfades.
"""
from __future__ import annotations

import math
import typing as tp

import numpy as np
import torch

from .errors import FieldError, check_number

__all__ = ["EditError", "CROSSFADE_SECONDS", "read_edit_audio", "region_known", "extension_known", "splice"]

CROSSFADE_SECONDS = 0.05


class EditError(FieldError):
    """A repaint or extend argument is invalid (field `audio`, `start`, `end` or `seconds`)."""

    default_field = "audio"


def read_edit_audio(value: tp.Any, sample_rate: int, max_seconds: float) -> np.ndarray:
    """The audio to edit as mono float32 at `sample_rate`: a path, or `(waveform, sample_rate)`.
    At most `max_seconds` long; at least a tenth of a second."""
    from .conditions import AudioLimits, ConditionError, read_audio

    if value is None:
        raise EditError("audio", "expected a path or (waveform, sample_rate), got None")
    try:
        clip = read_audio(value, field="audio", sample_rate=int(sample_rate), duration=None,
                          limits=AudioLimits(max_seconds=max(max_seconds, 1.0) * 1.5 + 1))
    except ConditionError as e:
        raise EditError("audio", e.message) from None
    seconds = clip.samples.size / sample_rate
    if seconds > max_seconds:
        raise EditError("audio", f"expected at most {max_seconds:g} s of audio, got {seconds:.1f} s")
    if seconds < 0.1:
        raise EditError("audio", f"expected at least 0.1 s of audio, got {seconds:.3f} s")
    return clip.samples.astype(np.float32)


def region_known(frames: int, frame_rate: float, seconds: float, start: tp.Any, end: tp.Any) -> np.ndarray:
    """[frames] bool, False on the frames of [start, end) seconds (checked against the clip)."""
    start = check_number("start", start, 0, seconds, expected=f"seconds from 0 to {seconds:.2f} (the clip's length)",
                         error=EditError)
    end = check_number("end", end, 0, seconds, expected=f"seconds from 0 to {seconds:.2f} (the clip's length)",
                       error=EditError)
    if end <= start:
        raise EditError("end", f"expected an end after the start ({start:g} s), got {end:g} s: the region is empty")
    first, last = int(math.floor(start * frame_rate)), int(math.ceil(end * frame_rate))
    if last - first < 1:
        raise EditError("end", f"the region {start:g}-{end:g} s is shorter than one latent frame")
    known = np.ones(frames, dtype=bool)
    known[first:min(last, frames)] = False
    return known


def extension_known(known_frames: int, new_frames: int) -> np.ndarray:
    """[known + new] bool: the input's frames known, the extension's not."""
    return np.concatenate([np.ones(known_frames, dtype=bool), np.zeros(new_frames, dtype=bool)])


def splice(original: np.ndarray, generated: np.ndarray, sample_rate: int, start: float, end: float,
           fade: float = CROSSFADE_SECONDS) -> np.ndarray:
    """`generated` [B, n] inside [start, end) seconds, `original` [m] outside, with equal-power
    crossfades of `fade` seconds centred on both boundaries. The result has `generated`'s length;
    past the original's end it is the generated audio."""
    out = np.array(generated, dtype=np.float32, copy=True)
    n = out.shape[-1]
    keep = np.zeros(n, dtype=np.float32)              # 1 where the original is kept
    a, b = int(round(start * sample_rate)), int(round(end * sample_rate))
    keep[:min(a, n)] = 1.0
    keep[min(b, n):] = 1.0
    keep[min(original.size, n):] = 0.0                # nothing to keep past the original's end
    half = max(1, int(round(fade * sample_rate / 2)))
    ramp = np.sin(0.5 * np.pi * np.linspace(0.0, 1.0, 2 * half, dtype=np.float32)) ** 2
    for edge, rising in ((a, False), (b, True)):      # entering the region: keep 1 -> 0; leaving: 0 -> 1
        lo, hi = max(0, edge - half), min(n, edge + half)
        if 0 < edge < min(n, original.size) and hi > lo:
            seg = ramp[(lo - (edge - half)):(hi - (edge - half))]
            keep[lo:hi] = seg if rising else 1.0 - seg
    orig = np.zeros(n, dtype=np.float32)
    orig[:min(n, original.size)] = original[:n]
    gain_keep, gain_new = np.sqrt(keep), np.sqrt(1.0 - keep)
    return (gain_keep * orig + gain_new * out).astype(np.float32)


def encode_audio(codec: tp.Any, samples: np.ndarray, frames: int) -> torch.Tensor:
    """Codec latents [1, frames, D] of mono `samples` (cut or zero-padded to `frames`)."""
    with torch.inference_mode():
        z = codec.encode(torch.from_numpy(samples).view(1, -1)).float()
    if z.shape[1] < frames:
        z = torch.cat([z, z[:, -1:].expand(1, frames - z.shape[1], -1)], dim=1)
    return z[:, :frames]
