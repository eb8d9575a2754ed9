"""The music-aware spectrogram: log-frequency, chord changes and drum hits on it, asked vs heard lanes."""
from __future__ import annotations

import numpy as np
import pytest

from demo import music_plots, plots
from jasco_core.conditions import AudioClip, ParsedChords
from jasco_core.conditions.encode import ConditionTimeline
from jasco_core.adherence import detections
from tests.conftest import png_bytes
from tests.test_metrics import CHORDS, SR, band, drums, piano  # noqa: F401 (fixtures)


def _timeline(chords=None, drum_audio=None, seconds=10.0):
    return ConditionTimeline(duration=seconds, frames=int(seconds * 50), frame_rate=50.0, sample_rate=SR,
                             chords=ParsedChords(tuple(chords)) if chords else None,
                             drums=AudioClip(drum_audio, SR, seconds) if drum_audio is not None else None)


def test_tones_land_on_a_log_frequency_axis():
    t = np.arange(SR) / SR
    audio = np.stack([np.sin(2 * np.pi * 220 * t), np.sin(2 * np.pi * 1760 * t)]).astype(np.float32) * 0.3
    fig = music_plots.spectrogram_figure(audio, SR)
    image_axes = [ax for ax in fig.axes if ax.images]
    assert len(image_axes) == 2
    bins = music_plots.cqt_bins(SR)
    assert bins == 96, "eight octaves from C1 at 22050 Hz"
    for ax, midi in zip(image_axes, (57, 93)):      # A3 = 220 Hz, A6 = 1760 Hz
        peak = int(np.argmax(np.asarray(ax.images[0].get_array()).mean(axis=1)))
        assert peak == midi - music_plots.LOWEST_MIDI, "the tone is on its semitone row"
    labels = [tick.get_text() for tick in image_axes[0].get_yticklabels()]
    assert labels[:4] == ["C1", "C2", "C3", "C4"], "every octave the same height, named"
    png_bytes(fig)


def test_a_two_minute_spectrogram_keeps_its_time_axis_with_fewer_frames():
    audio = np.random.default_rng(1).standard_normal((2, 120 * 8000)).astype(np.float32) * 0.1
    fig = music_plots.spectrogram_figure(audio, 8000)
    image_axes = [ax for ax in fig.axes if ax.images]
    assert len(image_axes) == 2 and image_axes[-1].get_xlim() == (0.0, 120.0)
    assert np.asarray(image_axes[0].images[0].get_array()).shape[1] <= plots.SPECTROGRAM_COLUMNS + 1


def test_chord_changes_hits_and_the_asked_and_heard_lanes(band, drums):
    timeline = _timeline(CHORDS, drums)
    heard = detections(band, SR, timeline)
    fig = music_plots.spectrogram_figure(band[None], SR, timeline=timeline, detections=heard)
    spec = fig.axes[0]
    changes = sorted(line.get_xdata()[0] for line in spec.get_lines())
    assert changes == pytest.approx([start for _, start in CHORDS])
    assert len(spec.collections) == 1 and len(spec.collections[0].get_segments()) == len(heard.drum_onsets)
    titles = [ax.get_title(loc="left") for ax in fig.axes]
    assert any(t.startswith("chords: asked / heard") for t in titles)
    assert any(t.startswith("drum hits: asked / heard") for t in titles)
    chord_lane = fig.axes[[t.startswith("chords") for t in titles].index(True)]
    heard_bars = [p for p in chord_lane.patches if abs(p.get_y() + p.get_height() / 2) < 1e-6]
    green = sum(p.get_width() for p in heard_bars if p.get_facecolor()[:3] == pytest.approx((0.173, 0.627, 0.173), abs=0.01))
    assert green > 0.6 * 10.0, "the band plays the chords asked: mostly green"
    png_bytes(fig)
    # no lanes without detections; no overlay without conditions
    assert len(music_plots.spectrogram_figure(band[None], SR, timeline=timeline).axes) == 2   # spectrogram + colorbar
