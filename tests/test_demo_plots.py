"""The figures of conditions and audio: previews (readable over 120 s), spectrograms, edits."""
from __future__ import annotations


import numpy as np
from matplotlib.figure import Figure

from demo import plots
from tests.conftest import png_bytes


def test_condition_previews_draw():
    fig = plots.chord_timeline([("C", 0.0, 2.0), ("Am", 2.0, 4.0)], 4.0)
    assert [t.get_text() for t in fig.axes[0].texts] == ["C", "Am"]
    png_bytes(fig)
    png_bytes(plots.chord_timeline([], 4.0))
    wav = np.zeros(22050, np.float32)
    wav[::5512] = 1.0
    fig = plots.drums_preview(wav, 22050, [0.0, 0.25, 0.5, 0.75], 1.0)
    assert "4 hits" in fig.axes[0].get_title(loc="left")
    png_bytes(fig)
    pitches = np.array([60] * 10 + [-1] * 5 + [64] * 10)
    fig = plots.piano_roll(pitches, 50.0, 0.5)
    assert len(fig.axes[0].patches) == 2  # two notes
    png_bytes(fig)
    png_bytes(plots.piano_roll(np.full(10, -1), 50.0, 0.2))


def _text_boxes(fig: Figure) -> list:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    return [t.get_window_extent(renderer) for ax in fig.axes for t in ax.texts]


def test_a_two_minute_chord_timeline_wraps_into_rows_and_its_names_do_not_overlap():
    names = ["C", "Am", "F", "G7", "Dm7", "Cmaj7", "E7b9", "A:min"]
    segments = [(names[k % 8], 2.0 * k, 2.0 * k + 2.0) for k in range(60)]   # a chord every bar at 120 BPM
    fig = plots.chord_timeline(segments, 120.0)
    assert len(fig.axes) == 4 and [ax.get_xlim() for ax in fig.axes][-1] == (90.0, 120.0)  # rows of 30 s
    png_bytes(fig)
    assert len(fig.axes[0].texts) == 15 and sum(len(ax.texts) for ax in fig.axes) == 60   # every chord named
    boxes = _text_boxes(fig)
    assert not any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1:])
    # chords too short for their name keep their bar and are counted, never drawn over each other
    fig = plots.chord_timeline([(names[k % 8], 0.25 * k, 0.25 * k + 0.25) for k in range(480)], 120.0)
    png_bytes(fig)
    boxes = _text_boxes(fig)
    assert not any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1:])
    assert "short chord(s) not labelled" in fig.axes[0].get_title(loc="right")
    assert sum(len(ax.patches) for ax in fig.axes) == 480


def test_dense_drum_hits_are_drawn_as_ticks_that_leave_the_waveform_visible():
    sr = 8000
    wav = np.random.default_rng(0).standard_normal(sr * 120).astype(np.float32) * 0.1
    hits = np.arange(0.0, 120.0, 0.25)
    fig = plots.drums_preview(wav, sr, hits, 120.0)
    ax = fig.axes[0]
    assert len(ax.lines) == 0 and len(ax.collections) == 2   # the envelope and one set of ticks
    assert ax.get_xlim() == (0.0, 120.0) and "480 hits" in ax.get_title(loc="left")
    png_bytes(fig)


def test_edit_figure_shows_before_and_after_with_the_region():
    sr = 8000
    before = np.sin(np.arange(3 * sr) / sr * 2 * np.pi * 220).astype(np.float32)
    after = np.concatenate([before, before[:sr]])
    fig = plots.edit_figure(before, after, sr, (3.0, 4.0), "extended a 3.00 s clip by 1 s")
    top, bottom = fig.axes
    assert [top.get_ylabel(), bottom.get_ylabel()] == ["before", "after"] and bottom.get_xlim() == (0.0, 4.0)
    assert all(len(ax.patches) == 1 for ax in fig.axes)   # the shaded region
    assert top.get_title(loc="left") == "extended a 3.00 s clip by 1 s"
    png_bytes(fig)
