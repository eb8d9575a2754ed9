"""Matplotlib figures of the demo: condition previews, latent trajectories, spectrograms.

Every function takes plain arrays and lists (never a model or a pipeline) and returns a
`matplotlib.figure.Figure` made without pyplot, so figures drawn in concurrent requests never
share state. The only computation here is what a figure needs to be drawn: a 2-D projection of
latents and a magnitude spectrogram.
"""
from __future__ import annotations

import math
import typing as tp

import matplotlib

matplotlib.use("Agg")  # a web server draws off-screen; must precede any pyplot import

import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

__all__ = [
    "chord_timeline", "drums_preview", "piano_roll", "project_2d", "generation_figure",
    "comparison_figure", "spectrogram_figure", "RunTrace",
]

COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
          "#bcbd22", "#17becf")
NOTE_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")


def _figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    return fig


def _note_name(midi: int) -> str:
    return f"{NOTE_NAMES[midi % 12]}{midi // 12 - 1}"


# ------------------------------------------------------------------------------------ previews
def chord_timeline(segments: tp.Sequence[tp.Tuple[str, float, float]], duration: float) -> Figure:
    """One bar per chord over the clip: what the model is told to play, and when.

    `segments`: (label, start, end) in seconds, as `ParsedChords.segments(duration)` gives them.
    """
    fig = _figure(8.0, 1.3)
    ax = fig.add_subplot()
    for k, (label, start, end) in enumerate(segments):
        color = COLORS[k % len(COLORS)]
        ax.barh(0, end - start, left=start, height=0.8, color=color, alpha=0.35, edgecolor=color)
        ax.text((start + end) / 2, 0, label, ha="center", va="center", fontsize=9, clip_on=True)
    ax.set_xlim(0, duration)
    ax.set_ylim(-0.5, 0.5)
    ax.set_yticks([])
    ax.set_xlabel("time (s)")
    if not segments:
        ax.text(duration / 2, 0, "no chord starts inside the clip", ha="center", va="center", color="gray")
    return fig


def drums_preview(samples: np.ndarray, sample_rate: int, hits: tp.Sequence[float], duration: float) -> Figure:
    """Waveform of the drum stem as the model receives it (cut or padded to the clip), with the hits
    the model is shown."""
    fig = _figure(8.0, 1.6)
    ax = fig.add_subplot()
    samples = np.asarray(samples, dtype=np.float32).reshape(-1)
    # min/max envelope in ~2000 columns: fast to draw and faithful to peaks
    columns = max(1, min(2000, samples.size))
    edges = np.linspace(0, samples.size, columns + 1).astype(int)
    lo = np.array([samples[a:b].min() if b > a else 0.0 for a, b in zip(edges[:-1], edges[1:])])
    hi = np.array([samples[a:b].max() if b > a else 0.0 for a, b in zip(edges[:-1], edges[1:])])
    t = edges[:-1] / float(sample_rate)
    ax.fill_between(t, lo, hi, color=COLORS[0], linewidth=0)
    for hit in hits:
        ax.axvline(hit, color=COLORS[3], alpha=0.6, linewidth=0.8)
    ax.set_xlim(0, duration)
    peak = float(np.max(np.abs(samples))) if samples.size else 1.0
    ax.set_ylim(-1.05 * max(peak, 1e-3), 1.05 * max(peak, 1e-3))
    ax.set_yticks([])
    ax.set_xlabel("time (s)")
    ax.set_title(f"drums: {len(hits)} hits the model is shown", fontsize=9, loc="left")
    return fig


def piano_roll(pitches: np.ndarray, frame_rate: float, duration: float) -> Figure:
    """The melody the model follows: one bar per note (MIDI pitch per frame, -1 = silence)."""
    fig = _figure(8.0, 2.0)
    ax = fig.add_subplot()
    pitches = np.asarray(pitches).reshape(-1)
    voiced = pitches[pitches >= 0]
    start = 0
    for k in range(1, pitches.size + 1):
        if k == pitches.size or pitches[k] != pitches[start]:
            if pitches[start] >= 0:
                ax.barh(int(pitches[start]), (k - start) / frame_rate, left=start / frame_rate, height=0.9,
                        color=COLORS[2], edgecolor="#1a6b1a", linewidth=0.5)
            start = k
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


# ------------------------------------------------------------------------------- trajectories
def project_2d(paths: tp.Sequence[np.ndarray], centre_each: bool = False) -> tp.Tuple[tp.List[np.ndarray], np.ndarray]:
    """Project latent paths onto their two main directions of variation (joint PCA).

    `paths`: arrays [K_i, ...] (K_i latents of one path, flattened per point). All points of all
    paths share one projection, so paths can be compared. `centre_each`: remove each path's own
    mean first, so paths that start from different noise are compared by their shape rather than
    spread apart by their offsets. Returns the [K_i, 2] coordinates of each path and the fraction
    of the variance each of the two axes explains.
    """
    flat = [np.asarray(p, dtype=np.float64).reshape(len(p), -1) for p in paths]
    if centre_each:
        flat = [f - f.mean(axis=0, keepdims=True) for f in flat]
    points = np.concatenate(flat, axis=0)
    centred = points - points.mean(axis=0, keepdims=True)
    # PCA through the (small) Gram matrix: M points of N >> M coordinates each
    gram = centred @ centred.T
    values, vectors = np.linalg.eigh(gram)
    order = np.argsort(values)[::-1][:2]
    values, vectors = np.clip(values[order], 0.0, None), vectors[:, order]
    if vectors.shape[1] < 2:  # a single point: no second direction
        vectors = np.pad(vectors, ((0, 0), (0, 2 - vectors.shape[1])))
        values = np.pad(values, (0, 2 - values.size))
    coords = vectors * np.sqrt(values)[None, :]
    total = float(np.trace(gram))
    explained = values / total if total > 0 else np.zeros(2)
    out, offset = [], 0
    for f in flat:
        out.append(coords[offset:offset + len(f)])
        offset += len(f)
    return out, explained


def _draw_path(ax, xy: np.ndarray, color: str, label: str, marker: str = "o") -> None:
    ax.plot(xy[:, 0], xy[:, 1], "-", color=color, alpha=0.8, linewidth=1.2, label=label)
    ax.plot(xy[:-1, 0], xy[:-1, 1], marker, color=color, markersize=3.5, linestyle="none")
    ax.plot(xy[0, 0], xy[0, 1], "s", color=color, markersize=6, markeredgecolor="black", markeredgewidth=0.6)
    ax.plot(xy[-1, 0], xy[-1, 1], "*", color=color, markersize=11, markeredgecolor="black", markeredgewidth=0.6)


def _pc_labels(ax, explained: np.ndarray) -> None:
    ax.set_xlabel(f"PC 1 ({100 * explained[0]:.0f}% of variance)")
    ax.set_ylabel(f"PC 2 ({100 * explained[1]:.0f}%)")


def generation_figure(times: tp.Sequence[float], latents: np.ndarray, step_times: tp.Sequence[float],
                      step_sizes: tp.Sequence[float], nfe_trace: tp.Sequence[tp.Tuple[float, int]]) -> Figure:
    """How the solve went: z_t of each sample projected to 2-D (a dot per accepted step, square =
    noise at t=0, star = result), the step size against t, and the cumulative NFE against t.

    `latents`: [K, B, T, D] latents at `times` (K = accepted steps + 1); `nfe_trace`: (t, NFE so
    far) at every field evaluation, in order.
    """
    latents = np.asarray(latents)
    fig = _figure(10.0, 4.2)
    grid = fig.add_gridspec(2, 2, width_ratios=(1.35, 1.0))
    ax_path = fig.add_subplot(grid[:, 0])
    ax_step = fig.add_subplot(grid[0, 1])
    ax_nfe = fig.add_subplot(grid[1, 1], sharex=ax_step)

    paths = [latents[:, b] for b in range(latents.shape[1])]
    coords, explained = project_2d(paths, centre_each=len(paths) > 1)
    for b, xy in enumerate(coords):
        _draw_path(ax_path, xy, COLORS[b % len(COLORS)], f"sample {b + 1}")
    _pc_labels(ax_path, explained)
    ax_path.set_title(f"latent trajectory z_t, t = 0 \u2192 {times[-1]:.5g} ({len(times) - 1} steps)"
                      + (", each sample centred" if len(paths) > 1 else ""), fontsize=10, loc="left")
    if len(coords) > 1:
        ax_path.legend(fontsize=8, loc="best")

    if len(step_times):
        ax_step.plot(step_times, step_sizes, "o-", drawstyle="steps-post", color=COLORS[0], markersize=3)
        sizes = np.asarray(step_sizes, dtype=float)
        ax_step.ticklabel_format(axis="y", useOffset=False)  # uniform steps: no "1e-8+1e-1" offset
        if sizes.min() > 0 and sizes.max() / sizes.min() < 1.5:
            ax_step.set_ylim(0, sizes.max() * 1.3)
        if sizes.min() > 0 and sizes.max() / sizes.min() > 10:
            ax_step.set_yscale("log")
    ax_step.set_ylabel("step size")
    ax_step.grid(alpha=0.3)
    ax_step.tick_params(labelbottom=False)

    if len(nfe_trace):
        t = np.maximum.accumulate(np.asarray([p[0] for p in nfe_trace], dtype=float))
        n = np.asarray([p[1] for p in nfe_trace], dtype=float)
        ax_nfe.plot(np.concatenate([[0.0], t]), np.concatenate([[0.0], n]), drawstyle="steps-post", color=COLORS[1])
        ax_nfe.set_title(f"{int(n[-1])} evaluations", fontsize=9, loc="right")
    ax_nfe.set_xlim(0, 1)
    ax_nfe.set_xlabel("t")
    ax_nfe.set_ylabel("cumulative NFE")
    ax_nfe.grid(alpha=0.3)
    return fig


class RunTrace(tp.NamedTuple):
    """One solver run of a comparison, as the comparison figure needs it."""

    label: str
    method: str
    latents: np.ndarray  # [K, T, D] z_t at the accepted steps and the end (first sample)
    nfe: int
    error: float  # RMSE of the final latents against the reference run
    is_reference: bool


def comparison_figure(runs: tp.Sequence[RunTrace]) -> Figure:
    """All runs' trajectories on one shared 2-D projection, and final-latent error against NFE."""
    fig = _figure(10.0, 4.2)
    grid = fig.add_gridspec(1, 2, width_ratios=(1.2, 1.0))
    ax_path, ax_err = fig.add_subplot(grid[0]), fig.add_subplot(grid[1])
    coords, explained = project_2d([r.latents for r in runs])
    for k, (run, xy) in enumerate(zip(runs, coords)):
        _draw_path(ax_path, xy, COLORS[k % len(COLORS)], run.label)
    _pc_labels(ax_path, explained)
    ax_path.set_title("trajectories of z_t (first sample)", fontsize=10, loc="left")
    ax_path.legend(fontsize=7, loc="best")

    finite = [r for r in runs if not r.is_reference and r.error > 0 and math.isfinite(r.error)]
    for method in dict.fromkeys(r.method for r in finite):  # one line per method, in run order
        group = sorted((r for r in finite if r.method == method), key=lambda r: r.nfe)
        k = next(i for i, r in enumerate(runs) if r.method == method)
        ax_err.plot([r.nfe for r in group], [r.error for r in group], "o-", color=COLORS[k % len(COLORS)],
                    label=method)
        for r in group:
            ax_err.annotate(r.label, (r.nfe, r.error), fontsize=7, xytext=(3, 3), textcoords="offset points")
    for r in runs:
        if r.is_reference:
            ax_err.axvline(r.nfe, color="gray", linestyle="--", linewidth=1)
            ax_err.text(r.nfe, 0.98, f"reference: {r.label} ", transform=ax_err.get_xaxis_transform(),
                        fontsize=7, va="top", ha="right", color="gray")
    if finite:
        ax_err.set_yscale("log")
    ax_err.set_xscale("log")
    ax_err.set_xlabel("NFE (field evaluations)")
    ax_err.set_ylabel("RMSE of final latents vs. reference")
    ax_err.grid(alpha=0.3, which="both")
    if finite:
        ax_err.legend(fontsize=8, loc="lower left")
    return fig


# -------------------------------------------------------------------------------- spectrogram
def _stft_db(samples: np.ndarray, n_fft: int = 1024, hop: int = 256) -> np.ndarray:
    samples = np.asarray(samples, dtype=np.float32).reshape(-1)
    if samples.size < n_fft:
        samples = np.pad(samples, (0, n_fft - samples.size))
    n_frames = 1 + (samples.size - n_fft) // hop
    frames = np.lib.stride_tricks.as_strided(
        samples, shape=(n_frames, n_fft), strides=(samples.strides[0] * hop, samples.strides[0]), writeable=False)
    magnitude = np.abs(np.fft.rfft(frames * np.hanning(n_fft).astype(np.float32), axis=1))
    return 20.0 * np.log10(np.maximum(magnitude, 1e-6)).T  # [bins, frames]


def spectrogram_figure(audio: np.ndarray, sample_rate: int, labels: tp.Optional[tp.Sequence[str]] = None) -> Figure:
    """Log-magnitude spectrogram of each generated sample (rows), on one shared dB scale."""
    audio = np.atleast_2d(np.asarray(audio, dtype=np.float32))
    specs = [_stft_db(a) for a in audio]
    top = max(float(s.max()) for s in specs)
    fig = _figure(10.0, 0.4 + 1.6 * len(specs))
    axes = fig.subplots(len(specs), 1, sharex=True, squeeze=False)[:, 0]
    seconds = audio.shape[1] / float(sample_rate)
    for k, (ax, spec) in enumerate(zip(axes, specs)):
        image = ax.imshow(spec, origin="lower", aspect="auto", cmap="magma", vmin=top - 80.0, vmax=top,
                          extent=(0.0, seconds, 0.0, sample_rate / 2000.0), interpolation="nearest")
        ax.set_ylabel("kHz")
        ax.set_title(labels[k] if labels else f"sample {k + 1}", fontsize=9, loc="left")
    axes[-1].set_xlabel("time (s)")
    fig.colorbar(image, ax=list(axes), label="dB", fraction=0.03, pad=0.01)
    return fig
