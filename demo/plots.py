"""Matplotlib figures of the demo's conditions and audio: condition previews, spectrograms, edits.

Every function takes plain arrays and lists (never a model or a pipeline) and returns a
`matplotlib.figure.Figure` made without pyplot (`new_figure`), so figures drawn in concurrent
requests never share state. The only computation here is what a figure needs to be drawn: a
waveform envelope. The figures of solves (trajectories, comparisons) are in `demo.solve_plots`,
the spectrogram with the conditions and what the metrics hear in `demo.music_plots`.

The previews span the whole clip, up to the page's 120 s: the chord timeline wraps into rows of
at most 30 s and names a chord only where the name fits its bar (smaller, then not at all: the
bars keep their colours), and dense drum hits are drawn as thin ticks that leave the waveform
visible.
"""
from __future__ import annotations

import math
import typing as tp

import matplotlib

matplotlib.use("Agg")  # a web server draws off-screen; must precede any pyplot import

import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

__all__ = ["new_figure", "chord_timeline", "drums_preview", "piano_roll", "edit_figure"]

COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
          "#bcbd22", "#17becf")
NOTE_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")


CHORD_ROW_SECONDS = 30.0     # a longer chord timeline is drawn in rows of at most this
PLOT_WIDTH_PX = 720          # about the width of the data area of an 8-inch figure at 100 dpi
SPECTROGRAM_COLUMNS = 2000   # STFT frames of a spectrogram at most (`demo.music_plots`)
DENSE_HITS_PX = 4.0          # drum hits closer than this (on average) are drawn as thin ticks


def new_figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    return fig


def _label_size(label: str, width_px: float) -> tp.Optional[float]:
    """The font size (9, else 7) at which `label` fits in `width_px`, or None if neither does."""
    for size in (9.0, 7.0):
        if 0.62 * size * 100 / 72 * len(label) + 4 <= width_px:
            return size
    return None


def runs_of(values: tp.Sequence) -> tp.List[tp.Tuple[tp.Any, int, int]]:
    """Runs of equal neighbours: (value, first index, index after the last)."""
    runs, start = [], 0
    for k in range(1, len(values) + 1):
        if k == len(values) or values[k] != values[start]:
            runs.append((values[start], start, k))
            start = k
    return runs


def _note_name(midi: int) -> str:
    return f"{NOTE_NAMES[midi % 12]}{midi // 12 - 1}"


# ------------------------------------------------------------------------------------ previews
def chord_timeline(segments: tp.Sequence[tp.Tuple[str, float, float]], duration: float) -> Figure:
    """One bar per chord over the clip: what the model is told to play, and when.

    `segments`: (label, start, end) in seconds, as `ParsedChords.segments(duration)` gives them. A
    clip longer than `CHORD_ROW_SECONDS` is drawn in rows of equal length (like lines of a lead
    sheet), so that chords stay wide enough to be named.
    """
    rows = max(1, math.ceil(duration / CHORD_ROW_SECONDS - 1e-9))
    length = duration / rows
    fig = new_figure(8.0, 0.55 + 0.75 * rows)
    axes = fig.subplots(rows, 1, squeeze=False)[:, 0]
    labelled = set()
    for r, ax in enumerate(axes):
        lo, hi = r * length, (r + 1) * length
        for k, (label, start, end) in enumerate(segments):
            a, b = max(start, lo), min(end, hi)
            if b <= a:
                continue
            color = COLORS[k % len(COLORS)]
            ax.barh(0, b - a, left=a, height=0.8, color=color, alpha=0.35, edgecolor=color)
            size = _label_size(label, (b - a) / length * PLOT_WIDTH_PX)
            if size is not None:
                ax.text((a + b) / 2, 0, label, ha="center", va="center", fontsize=size, clip_on=True)
                labelled.add(k)
        ax.set_xlim(lo, hi)
        ax.set_ylim(-0.5, 0.5)
        ax.set_yticks([])
    axes[-1].set_xlabel("time (s)")
    hidden = len(segments) - len(labelled)
    if hidden:
        axes[0].set_title(f"{hidden} short chord(s) not labelled", fontsize=8, loc="right", color="gray")
    if not segments:
        axes[0].text(length / 2, 0, "no chord starts inside the clip", ha="center", va="center", color="gray")
    return fig


def drums_preview(samples: np.ndarray, sample_rate: int, hits: tp.Sequence[float], duration: float) -> Figure:
    """Waveform of the drum stem as the model receives it (cut to the clip, or looped over a long
    one), with the hits the model is shown."""
    fig = new_figure(8.0, 1.6)
    ax = fig.add_subplot()
    peak = _envelope(ax, samples, sample_rate, COLORS[0])
    if len(hits) and PLOT_WIDTH_PX / len(hits) < DENSE_HITS_PX:
        ax.vlines(hits, 0.7 * peak, 1.05 * peak, color=COLORS[3], linewidth=0.5)  # ticks along the top
    else:
        for hit in hits:
            ax.axvline(hit, color=COLORS[3], alpha=0.6, linewidth=0.8)
    ax.set_xlim(0, duration)
    ax.set_ylim(-1.05 * peak, 1.05 * peak)
    ax.set_yticks([])
    ax.set_xlabel("time (s)")
    ax.set_title(f"drums: {len(hits)} hits the model is shown", fontsize=9, loc="left")
    return fig


def _envelope(ax, samples: np.ndarray, sample_rate: int, color) -> float:
    """Min/max envelope of `samples` in ~2000 columns (fast to draw, faithful to peaks); returns
    the peak (at least 1e-3)."""
    samples = np.asarray(samples, dtype=np.float32).reshape(-1)
    columns = max(1, min(2000, samples.size))
    edges = np.linspace(0, samples.size, columns + 1).astype(int)
    lo = np.array([samples[a:b].min() if b > a else 0.0 for a, b in zip(edges[:-1], edges[1:])])
    hi = np.array([samples[a:b].max() if b > a else 0.0 for a, b in zip(edges[:-1], edges[1:])])
    ax.fill_between(edges[:-1] / float(sample_rate), lo, hi, color=color, linewidth=0)
    return max(float(np.max(np.abs(samples))) if samples.size else 0.0, 1e-3)


def piano_roll(pitches: np.ndarray, frame_rate: float, duration: float) -> Figure:
    """The melody the model follows: one bar per note (MIDI pitch per frame, -1 = silence)."""
    fig = new_figure(8.0, 2.0)
    ax = fig.add_subplot()
    pitches = np.asarray(pitches).reshape(-1)
    voiced = pitches[pitches >= 0]
    for pitch, start, end in runs_of(pitches):
        if pitch >= 0:
            ax.barh(int(pitch), (end - start) / frame_rate, left=start / frame_rate, height=0.9,
                    color=COLORS[2], edgecolor="#1a6b1a", linewidth=0.5)
    if voiced.size:
        lo, hi = int(voiced.min()) - 2, int(voiced.max()) + 2
    else:
        lo, hi = 55, 79
        ax.text(duration / 2, (lo + hi) / 2, "no voiced melody frames", ha="center", va="center", color="gray")
    ax.set_ylim(lo, hi)
    ticks = [p for p in range(lo, hi + 1) if p % 12 in (0, 7)] or [lo]
    ax.set_yticks(ticks, [_note_name(p) for p in ticks])
    ax.set_xlim(0, duration)
    ax.set_xlabel("time (s)")
    ax.grid(axis="y", alpha=0.3)
    return fig


# ------------------------------------------------------------------------------------- edits
def edit_figure(before: np.ndarray, after: np.ndarray, sample_rate: int, region: tp.Tuple[float, float],
                title: str) -> Figure:
    """The clip before and after an edit, one above the other on one time axis, with the edited
    region shaded: what was regenerated (repaint) or added (extend)."""
    fig = new_figure(8.0, 2.6)
    axes = fig.subplots(2, 1, sharex=True)
    end = max(np.size(before), np.size(after)) / float(sample_rate)
    for ax, samples, name, color in ((axes[0], before, "before", COLORS[7]), (axes[1], after, "after", COLORS[0])):
        peak = _envelope(ax, samples, sample_rate, color)
        ax.axvspan(region[0], region[1], color=COLORS[1], alpha=0.18, linewidth=0)
        ax.set_ylim(-1.05 * peak, 1.05 * peak)
        ax.set_yticks([])
        ax.set_ylabel(name)
        ax.set_xlim(0, end)
    axes[0].set_title(title, fontsize=9, loc="left")
    axes[1].set_xlabel("time (s)")
    return fig
