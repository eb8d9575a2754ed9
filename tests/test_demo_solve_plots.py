"""The figures of solves: a faithful 2-D projection, one window's figure, a long clip's windows
(one trace each, labelled with their frames), and the comparison of solvers."""
from __future__ import annotations


import numpy as np
import pytest
from matplotlib.figure import Figure

from demo import solve_plots as plots
from tests.conftest import png_bytes


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
    # two samples start from different noise: each on its own equal-scaled axes, then step and NFE
    assert isinstance(fig, Figure) and len(fig.axes) == 4
    for b, ax in enumerate(fig.axes[:2]):
        assert ax.get_title(loc="left").startswith(f"sample {b + 1}") and ax.get_aspect() == 1.0
        line = ax.get_lines()[0]
        assert line.get_xdata()[-1] > line.get_xdata()[0], "noise on the left, result on the right"
    assert fig.axes[3].get_ylabel() == "cumulative NFE"
    png_bytes(fig)
    one = plots.generation_figure([0, 0.5, 1.0], latents[[0, 2, 4], :1], [0, 0.5], [0.5, 0.5], [(0.0, 1), (0.5, 2)])
    labels = [t.get_text() for t in one.axes[0].get_legend().get_texts()]
    assert labels == ["noise z\u2080 (t = 0)", "accepted step", "result"], "the markers are named"


def test_generation_figure_adaptive_steps_use_a_log_scale():
    latents = np.random.default_rng(2).standard_normal((4, 1, 6, 3))
    fig = plots.generation_figure([0, 0.01, 0.3, 0.99999], latents, [0, 0.01, 0.3], [0.01, 0.29, 0.69999],
                                  [(t, k + 1) for k, t in enumerate(np.linspace(0, 1, 20))])
    assert fig.axes[1].get_yscale() == "log"
    png_bytes(fig)


def test_comparison_figure_marks_the_reference_and_plots_error_against_nfe():
    rng = np.random.default_rng(3)
    start = rng.standard_normal((6, 4))
    runs = [plots.RunTrace(f"euler {n}", "euler", start + np.cumsum(rng.standard_normal((n + 1, 6, 4)), 0) * 0.1,
                           n, 1.0 / n, False) for n in (4, 8)]
    runs.append(plots.RunTrace("dopri5 1e-5", "dopri5", start + rng.standard_normal((7, 6, 4)), 26, 0.0, True))
    runs = [r._replace(seconds=0.1 * r.nfe) for r in runs]
    runs.append(plots.RunTrace("dopri5 1e-9", "dopri5", start + rng.standard_normal((3, 6, 4)), 40, float("nan"),
                               False, capped=True))
    fig = plots.comparison_figure(runs)
    path_ax, err_ax, sec_ax = fig.axes
    assert err_ax.get_xscale() == "log" and err_ax.get_yscale() == "log"
    assert any("reference" in t.get_text() for t in err_ax.texts)
    euler_line = [l for l in err_ax.get_lines() if l.get_label() == "euler"][0]
    assert list(euler_line.get_xdata()) == [4, 8]
    assert [l for l in err_ax.get_lines() if l.get_label() == "frontier"], "the frontier is drawn"
    assert list([l for l in sec_ax.get_lines() if l.get_label() == "euler"][0].get_xdata()) == pytest.approx([0.4, 0.8])
    # every run is on the path panel, the capped one dashed up to where it stopped
    labels = [l.get_label() for l in path_ax.get_lines() if not l.get_label().startswith("_")]
    assert labels == ["euler 4", "euler 8", "dopri5 1e-5", "dopri5 1e-9 (capped)"]
    capped = [l for l in path_ax.get_lines() if l.get_label() == "dopri5 1e-9 (capped)"][0]
    assert capped.get_linestyle() == "--" and len(capped.get_xdata()) == 3
    assert path_ax.get_aspect() == 1.0
    png_bytes(fig)


def _curved_path(points: int, rotation: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """A bent path from noise to data, sampled at `points` times, embedded in 60-D."""
    t = np.linspace(0, 1, points)
    plane = np.stack([4 * t, np.sin(np.pi * t)], axis=1)
    return (plane @ rotation.T + shift).reshape(points, 6, 10)


def test_orientation_is_the_same_for_coarse_and_fine_solves_of_one_path():
    rng = np.random.default_rng(5)
    rotation, _ = np.linalg.qr(rng.standard_normal((60, 2)))
    for flip in (1, -1):          # whichever sign the eigen-solver returns, the drawing is the same
        for points in (5, 17):    # e.g. Euler 4 and Euler 16 of the same flow
            xy = plots.project(plots.fit_basis(_curved_path(points, flip * rotation, 1.0)),
                               _curved_path(points, flip * rotation, 1.0))
            assert xy[-1, 0] > xy[0, 0], "PC 1 runs from the noise to the result"
            assert xy[points // 2, 1] > (xy[0, 1] + xy[-1, 1]) / 2, "the path bulges upwards"
    basis = plots.fit_basis(_curved_path(17, rotation, 0.0))
    assert basis.explained.sum() == pytest.approx(1.0) and basis.explained[0] > basis.explained[1]


def test_windows_figure_draws_every_window_as_its_own_labelled_trace():
    rng = np.random.default_rng(4)
    windows, trace, nfe = [], [], 0
    for k in range(3):
        times = [0, 0.25, 0.5, 0.75, 1.0]
        windows.append(plots.WindowTrace(f"window {k + 1} (frames {375 * k}\u2013{375 * k + 500})", times,
                                         np.cumsum(rng.standard_normal((5, 20, 4)), axis=0), times[:-1], [0.25] * 4))
        trace.append((0.0, nfe, k))
        for t in times[:-1]:
            nfe += 1
            trace.append((t, nfe, k))
    fig = plots.windows_figure(windows, trace)
    path_ax, step_ax, nfe_ax = fig.axes
    assert fig.legends[0].get_texts()[1].get_text() == "window 2 (frames 375\u2013875)"
    assert len(fig.legends[0].get_texts()) == 3
    paths = [line for line in path_ax.get_lines() if not line.get_label().startswith("_")]
    assert [line.get_label() for line in paths] == [w.label for w in windows]
    assert len({line.get_color() for line in paths}) == 3   # a colour per window
    # one NFE staircase per window, each from where the previous one ended, to the job's total
    lines = nfe_ax.get_lines()
    assert len(lines) == 3 and [line.get_ydata()[0] for line in lines] == [0, 4, 8] and lines[-1].get_ydata()[-1] == 12
    assert nfe_ax.get_title(loc="right") == "12 evaluations in 3 windows"
    assert step_ax.get_title(loc="right") == "the same steps in every window"
    png_bytes(fig)
    # sixteen windows (a two-minute clip): a colour map, and the legend in four columns below
    many = [windows[k % 3]._replace(label=f"window {k + 1}") for k in range(16)]
    fig = plots.windows_figure(many, [(t, n, k) for k in range(16) for t, n in ((0.0, 4 * k), (0.5, 4 * k + 2))])
    assert len(fig.legends[0].get_texts()) == 16 and fig.legends[0]._ncols == 4
    png_bytes(fig)


def test_a_coarse_and_a_fine_solve_of_one_request_are_drawn_the_same_way_round(tiny_bundle_dir):
    from demo.outputs import trajectory_figure
    from jasco_core import load_pipeline

    pipe = load_pipeline(tiny_bundle_dir)
    lines = []
    for solver in ("euler:4", "euler:16", "rk4:4"):
        result = pipe.generate("mellow piano", chords="C:0 G:1", solver=solver, seed=3, duration=2.0, trajectory=True)
        fig = trajectory_figure(result, [])
        lines.append(fig.axes[0].get_lines()[0])
    for line in lines:
        x, y = line.get_xdata(), line.get_ydata()
        assert x[-1] > x[0], "noise on the left, result on the right, for every solver"
        middle = len(x) // 2
        assert y[middle] >= (y[0] + y[-1]) / 2 - 1e-9, "the path bulges upwards for every solver"
    coarse, fine = lines[0].get_xdata(), lines[1].get_xdata()
    assert abs(coarse[-1] - fine[-1]) < 0.25 * (fine[-1] - fine[0]), "the same end, the same scale"
