"""Music-aware figures of generated audio: a log-frequency spectrogram with the conditions drawn
on it, and what the adherence metrics hear drawn under what was asked.

`spectrogram_figure(audio, sample_rate, timeline=None, detections=None)`:

- one constant-Q spectrogram per sample (a semitone per row from C1, 32.7 Hz, up to 8 octaves
  below the Nyquist frequency; the axis in note names, so every octave gets the same height and
  chords and melody fill the figure instead of the bottom strip of a linear 0-11 kHz view), on one
  shared dB scale, with the chord changes as dashed lines named along the top and the drum hits
  asked for as ticks along the bottom;
- with `detections` (`jasco_core.adherence.detections` of the first sample), lanes under it:
  chords asked vs heard (heard chords green where they match the asked triad, red where not),
  the melody asked (grey bars) vs the main voice heard (dots, green on the right pitch class),
  drum hits asked vs heard (green when within 50 ms of a hit asked, the drum score's window).

Like `demo.plots`, figures are made without pyplot and take plain data; the computation here is
what drawing needs (the constant-Q transform, smoothing the heard chords into segments).
"""
from __future__ import annotations

import math
import typing as tp

import numpy as np
from matplotlib.figure import Figure

from jasco_core.metrics import triad_index, triad_name

from .plots import COLORS, PLOT_WIDTH_PX, SPECTROGRAM_COLUMNS, _label_size, _note_name, new_figure, runs_of

__all__ = ["spectrogram_figure", "LOWEST_MIDI", "cqt_bins"]

LOWEST_MIDI = 24             # C1
MAX_OCTAVES = 8
CHORD_SMOOTHING_S = 0.37     # heard chords: the most common triad over this window (a beat at 160 BPM)
ONSET_WINDOW_S = 0.05        # the drum score's matching window
MATCH, MISS, NEUTRAL = "#2ca02c", "#d62728", "#9a9a9a"


def cqt_bins(sample_rate: int) -> int:
    """Semitone rows from C1: whole octaves, at most `MAX_OCTAVES`, the top below 0.9 x Nyquist."""
    top = 12 * math.log2(0.45 * sample_rate / 440.0) + 69          # MIDI pitch of 0.9 x Nyquist
    return 12 * max(1, min(MAX_OCTAVES, int((top - LOWEST_MIDI) // 12)))


def _cqt_db(samples: np.ndarray, sample_rate: int, hop: int) -> np.ndarray:
    import librosa

    bins = cqt_bins(sample_rate)
    magnitude = np.abs(librosa.cqt(np.asarray(samples, np.float32), sr=sample_rate, hop_length=hop,
                                   fmin=float(librosa.midi_to_hz(LOWEST_MIDI)), n_bins=bins, bins_per_octave=12))
    return 20.0 * np.log10(np.maximum(magnitude, 1e-6))


def _pitch_axis(ax, bins: int) -> None:
    ticks = list(range(0, bins, 12))
    ax.set_yticks(ticks, [_note_name(LOWEST_MIDI + k) for k in ticks], fontsize=7)
    ax.set_ylabel("pitch", fontsize=8)


def spectrogram_figure(audio: np.ndarray, sample_rate: int, labels: tp.Optional[tp.Sequence[str]] = None,
                       timeline: tp.Any = None, detections: tp.Any = None) -> Figure:
    """See the module docstring. `timeline`: the request's `ConditionTimeline` (chord changes and
    drum hits drawn on every spectrogram); `detections`: what the metrics heard in sample 1."""
    audio = np.atleast_2d(np.asarray(audio, dtype=np.float32))
    seconds = audio.shape[1] / float(sample_rate)
    octaves = cqt_bins(sample_rate) // 12
    step = 2 ** (octaves - 1)                 # the CQT halves the rate once per octave: hops are multiples
    hop = step * max(1, math.ceil(max(256, audio.shape[1] / SPECTROGRAM_COLUMNS) / step))
    specs = [_cqt_db(a, sample_rate, hop) for a in audio]
    bins = specs[0].shape[0]
    top = max(float(s.max()) for s in specs)
    lanes = _lanes(timeline, detections)
    heights = [1.7] * len(specs) + [h for _, h in lanes]
    fig = new_figure(10.0, 0.5 + sum(heights))
    axes = fig.subplots(len(heights), 1, sharex=True, squeeze=False, gridspec_kw={"height_ratios": heights})[:, 0]
    segments = [(s.label, s.start, s.end) for s in timeline.chord_segments] if timeline is not None else []
    hits = _asked_hits(timeline, detections)
    for k, spec in enumerate(specs):
        ax = axes[k]
        image = ax.imshow(spec, origin="lower", aspect="auto", cmap="magma", vmin=top - 80.0, vmax=top,
                          extent=(0.0, seconds, -0.5, bins - 0.5), interpolation="nearest")
        _pitch_axis(ax, bins)
        for label, start, end in segments:
            ax.axvline(start, color="white", linestyle="--", linewidth=0.7, alpha=0.7)
            size = _label_size(label, (end - start) / seconds * PLOT_WIDTH_PX)
            if size is not None and k == 0:
                ax.text((start + end) / 2, bins - 3, label, color="white", fontsize=size, ha="center",
                        va="top", clip_on=True)
        if hits is not None and len(hits):
            ax.vlines(hits, -0.5, 5, color="#7fdbff", linewidth=0.8)
        ax.set_title(labels[k] if labels else f"sample {k + 1}" + (" (dashed: chord changes, ticks: drum hits asked)"
                                                                    if (segments or hits is not None) and k == 0 else ""),
                     fontsize=9, loc="left")
    fig.colorbar(image, ax=list(axes[:len(specs)]), label="dB", fraction=0.03, pad=0.01)
    for ax, (draw, _) in zip(axes[len(specs):], lanes):
        draw(ax)
    axes[-1].set_xlabel("time (s)")
    axes[-1].set_xlim(0, seconds)
    return fig


def _asked_hits(timeline, detections) -> tp.Optional[np.ndarray]:
    if detections is not None and getattr(detections, "drum_onsets", None) is not None:
        return np.asarray(detections.drum_onsets)
    if timeline is not None and timeline.drum_hits is not None:
        return np.asarray(timeline.drum_hits)
    return None


def _lanes(timeline, detections) -> tp.List[tp.Tuple[tp.Callable, float]]:
    """(draw(ax), height) of each adherence lane that can be drawn."""
    if timeline is None or detections is None:
        return []
    lanes = []
    if timeline.chords is not None and detections.chords is not None:
        segments = [(s.label, s.start, s.end) for s in timeline.chord_segments]
        lanes.append((lambda ax: _chord_lane(ax, segments, *detections.chords), 0.8))
    if timeline.melody is not None and detections.melody is not None:
        lanes.append((lambda ax: _melody_lane(ax, np.asarray(timeline.melody.pitches), timeline.frame_rate,
                                              *detections.melody), 1.3))
    if detections.onsets is not None and detections.drum_onsets is not None:
        lanes.append((lambda ax: _drum_lane(ax, detections.drum_onsets, detections.onsets), 0.6))
    return lanes


def _segments(times: np.ndarray, values: np.ndarray) -> tp.List[tp.Tuple[int, float, float]]:
    """Runs of equal values over frame times: (value, start, end) in seconds."""
    step = float(np.median(np.diff(times))) if len(times) > 1 else 0.0
    return [(int(v), float(times[a]), float(times[b - 1] + step)) for v, a, b in runs_of(values)]


def _smoothed(index: np.ndarray, times: np.ndarray) -> np.ndarray:
    """The most common triad over a `CHORD_SMOOTHING_S` window around each frame."""
    if len(times) < 2:
        return index
    half = max(1, int(round(CHORD_SMOOTHING_S / 2 / float(np.median(np.diff(times))))))
    out = np.empty_like(index)
    for k in range(len(index)):
        window = index[max(0, k - half):k + half + 1]
        values, counts = np.unique(window, return_counts=True)
        out[k] = values[np.argmax(counts)]
    return out


def _chord_lane(ax, segments, times: np.ndarray, index: np.ndarray) -> None:
    duration = max((end for _, _, end in segments), default=float(times[-1]) if len(times) else 1.0)
    asked_at = lambda t: next((triad_index(lab) for lab, a, b in segments if a <= t < b), -1)  # noqa: E731
    for k, (label, start, end) in enumerate(segments):
        color = COLORS[k % len(COLORS)]
        ax.barh(1, end - start, left=start, height=0.8, color=color, alpha=0.35, edgecolor=color)
        size = _label_size(label, (end - start) / duration * PLOT_WIDTH_PX)
        if size is not None:
            ax.text((start + end) / 2, 1, label, ha="center", va="center", fontsize=size, clip_on=True)
    for value, start, end in _segments(times, _smoothed(np.asarray(index), np.asarray(times))):
        asked = asked_at((start + end) / 2)
        color = NEUTRAL if value < 0 or asked < 0 else (MATCH if value == asked else MISS)
        ax.barh(0, end - start, left=start, height=0.8, color=color, alpha=0.55, linewidth=0)
        name = triad_name(value)
        size = _label_size(name, (end - start) / duration * PLOT_WIDTH_PX)
        if size is not None and value >= 0:
            ax.text((start + end) / 2, 0, name, ha="center", va="center", fontsize=size, clip_on=True)
    ax.set_yticks([0, 1], ["heard", "asked"], fontsize=8)
    ax.set_ylim(-0.5, 1.5)
    ax.set_title("chords: asked / heard (green: same triad, red: another)", fontsize=8, loc="left")


def _melody_lane(ax, pitches: np.ndarray, frame_rate: float, times: np.ndarray, heard: np.ndarray) -> None:
    for pitch, start, end in runs_of(pitches):
        if pitch >= 0:
            ax.barh(int(pitch), (end - start) / frame_rate, left=start / frame_rate, height=0.9, color=NEUTRAL,
                    alpha=0.6, linewidth=0)
    frame = np.clip(np.round(np.asarray(times) * frame_rate).astype(int), 0, max(pitches.size - 1, 0))
    asked = pitches[frame] if pitches.size else np.full(len(times), -1)
    voiced = asked >= 0
    same = voiced & (np.asarray(heard) % 12 == asked % 12)
    ax.plot(np.asarray(times)[same], np.asarray(heard)[same], ".", color=MATCH, markersize=2)
    ax.plot(np.asarray(times)[voiced & ~same], np.asarray(heard)[voiced & ~same], ".", color=MISS, markersize=2)
    values = np.concatenate([pitches[pitches >= 0], np.asarray(heard)[voiced]])
    lo, hi = (int(values.min()) - 2, int(values.max()) + 2) if values.size else (55, 79)
    ax.set_ylim(lo, hi)
    ticks = [p for p in range(lo, hi + 1) if p % 12 in (0, 7)] or [lo]
    ax.set_yticks(ticks, [_note_name(p) for p in ticks], fontsize=7)
    ax.set_title("melody: asked (grey) / main voice heard (green: right pitch class, red: not)", fontsize=8, loc="left")


def _drum_lane(ax, asked: np.ndarray, heard: np.ndarray) -> None:
    asked, heard = np.asarray(asked, float), np.asarray(heard, float)
    ax.vlines(asked, 0.6, 1.4, color=NEUTRAL, linewidth=0.9)
    near = np.array([np.min(np.abs(asked - t)) <= ONSET_WINDOW_S if asked.size else False for t in heard], bool)
    ax.vlines(heard[near], -0.4, 0.4, color=MATCH, linewidth=0.9)
    ax.vlines(heard[~near], -0.4, 0.4, color=MISS, linewidth=0.9)
    ax.set_yticks([0, 1], ["heard", "asked"], fontsize=8)
    ax.set_ylim(-0.6, 1.6)
    ax.set_title(f"drum hits: asked / heard (green: within {ONSET_WINDOW_S * 1000:.0f} ms of a hit asked)",
                 fontsize=8, loc="left")
