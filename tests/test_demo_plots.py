"""The demo's figures: right kind of figure, drawable, and a faithful 2-D projection."""
from __future__ import annotations

import io

import numpy as np
import pytest
from matplotlib.figure import Figure

from demo import plots


def _png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    data = buffer.getvalue()
    assert data.startswith(b"\x89PNG")
    return data


def test_project_2d_recovers_a_planar_path():
    # points on a plane spanned by two orthogonal directions of a 300-D space
    rng = np.random.default_rng(0)
    basis, _ = np.linalg.qr(rng.standard_normal((300, 2)))
    plane = np.stack([np.linspace(0, 10, 12), np.sin(np.linspace(0, 3, 12))], axis=1)
    path = plane @ basis.T + 5.0
    (coords,), explained = plots.project_2d([path.reshape(12, 20, 15)])
    assert coords.shape == (12, 2)
    assert explained.sum() == pytest.approx(1.0, rel=1e-6)
    # distances between points are preserved (the projection is a rotation of the plane), to a
    # tolerance relative to the size of the path (not to rounding noise of one machine's BLAS)
    d_in = np.linalg.norm(path[:, None] - path[None], axis=-1)
    d_out = np.linalg.norm(coords[:, None] - coords[None], axis=-1)
    np.testing.assert_allclose(d_out, d_in, atol=1e-6 * d_in.max())


def test_project_2d_shares_axes_between_paths_and_handles_a_single_point():
    a, b = np.zeros((3, 4)), np.ones((2, 4))
    scale = np.linalg.norm(b[0] - a[0])  # 2: the distance between the two paths' points
    tol = 1e-6 * scale
    coords, explained = plots.project_2d([a, b])
    assert [c.shape for c in coords] == [(3, 2), (2, 2)]
    # one shared projection: each path collapses to a point, the two points stay `scale` apart
    assert np.abs(coords[0] - coords[0][0]).max() < tol and np.abs(coords[1] - coords[1][0]).max() < tol
    assert np.linalg.norm(coords[0][0] - coords[1][0]) == pytest.approx(scale, abs=tol)
    assert explained[0] == pytest.approx(1.0, abs=1e-6) and abs(explained[1]) < 1e-6
    (single,), explained = plots.project_2d([np.ones((1, 5))])
    assert single.shape == (1, 2) and np.all(explained == 0)
    centred, _ = plots.project_2d([a, b], centre_each=True)
    assert np.abs(np.concatenate(centred)).max() < tol


def test_generation_figure_has_trajectory_step_and_nfe_panels():
    rng = np.random.default_rng(1)
    latents = np.cumsum(rng.standard_normal((5, 2, 10, 4)), axis=0)  # K=5 points, 2 samples
    fig = plots.generation_figure([0, 0.25, 0.5, 0.75, 1.0], latents, [0, 0.25, 0.5, 0.75], [0.25] * 4,
                                  [(0.0, 1), (0.25, 2), (0.5, 3), (0.75, 4)])
    assert isinstance(fig, Figure) and len(fig.axes) == 3
    path_ax = fig.axes[0]
    assert len(path_ax.get_legend().get_texts()) == 2  # one entry per sample
    assert fig.axes[2].get_ylabel() == "cumulative NFE"
    _png(fig)


def test_generation_figure_adaptive_steps_use_a_log_scale():
    latents = np.random.default_rng(2).standard_normal((4, 1, 6, 3))
    fig = plots.generation_figure([0, 0.01, 0.3, 0.99999], latents, [0, 0.01, 0.3], [0.01, 0.29, 0.69999],
                                  [(t, k + 1) for k, t in enumerate(np.linspace(0, 1, 20))])
    assert fig.axes[1].get_yscale() == "log"
    _png(fig)


def test_comparison_figure_marks_the_reference_and_plots_error_against_nfe():
    rng = np.random.default_rng(3)
    start = rng.standard_normal((6, 4))
    runs = [plots.RunTrace(f"euler {n}", "euler", start + np.cumsum(rng.standard_normal((n + 1, 6, 4)), 0) * 0.1,
                           n, 1.0 / n, False) for n in (4, 8)]
    runs.append(plots.RunTrace("dopri5 1e-5", "dopri5", start + rng.standard_normal((7, 6, 4)), 26, 0.0, True))
    fig = plots.comparison_figure(runs)
    path_ax, err_ax = fig.axes
    assert err_ax.get_xscale() == "log" and err_ax.get_yscale() == "log"
    assert any("reference" in t.get_text() for t in err_ax.texts)
    euler_line = [l for l in err_ax.get_lines() if l.get_label() == "euler"][0]
    assert list(euler_line.get_xdata()) == [4, 8]
    _png(fig)


def test_spectrogram_has_one_row_per_sample():
    sr = 22050
    t = np.arange(sr) / sr
    audio = np.stack([np.sin(2 * np.pi * 440 * t), np.sin(2 * np.pi * 880 * t)]).astype(np.float32)
    fig = plots.spectrogram_figure(audio, sr)
    image_axes = [ax for ax in fig.axes if ax.images]
    assert len(image_axes) == 2
    spec = image_axes[0].images[0].get_array()
    peak_bin = int(np.argmax(np.asarray(spec).mean(axis=1)))
    assert abs(peak_bin * sr / 1024 - 440) < sr / 1024  # the 440 Hz tone is where it should be
    _png(fig)


def test_condition_previews_draw():
    fig = plots.chord_timeline([("C", 0.0, 2.0), ("Am", 2.0, 4.0)], 4.0)
    assert [t.get_text() for t in fig.axes[0].texts] == ["C", "Am"]
    _png(fig)
    _png(plots.chord_timeline([], 4.0))
    wav = np.zeros(22050, np.float32)
    wav[::5512] = 1.0
    fig = plots.drums_preview(wav, 22050, [0.0, 0.25, 0.5, 0.75], 1.0)
    assert "4 hits" in fig.axes[0].get_title(loc="left")
    _png(fig)
    pitches = np.array([60] * 10 + [-1] * 5 + [64] * 10)
    fig = plots.piano_roll(pitches, 50.0, 0.5)
    assert len(fig.axes[0].patches) == 2  # two notes
    _png(fig)
    _png(plots.piano_roll(np.full(10, -1), 50.0, 0.2))
