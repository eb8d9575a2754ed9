"""Matplotlib figures of solves: latent trajectories, step sizes, NFE, solver comparisons.

Every function takes plain arrays and lists (never a model or a pipeline) and returns a
`matplotlib.figure.Figure` made without pyplot (`plots.new_figure`). The only computation here is
the 2-D projection of latents: `project_2d` (a joint PCA), and `fit_basis` / `project` (a PCA
fitted on one path, e.g. the reference run of a comparison, onto which other paths are projected).

Every trajectory panel follows one convention, so that two figures can be compared: the axes are
equal-scaled (a component with 2% of the variance looks 2% as large), PC 1 points from the noise
(square) to the result (star), and PC 2 is signed so that the path bulges upwards; a legend names
the markers.

- `generation_figure`: one window (a clip no longer than the model's window); several samples
  are drawn side by side, each on its own axes (they start from different noise).
- `windows_figure`: a long clip, every window its own trace, labelled 'window k (frames a\u2013b)'.
- `comparison_figure`: several solver runs on one request, all on the reference run's basis; runs
  stopped at their NFE cap are drawn (dashed) up to where they stopped; error against NFE with
  the frontier (fewest evaluations for an error), and error against wall-clock seconds.
"""
from __future__ import annotations

import math
import typing as tp

import matplotlib
import numpy as np
from matplotlib.figure import Figure

from .plots import COLORS, new_figure

__all__ = ["project_2d", "Basis", "fit_basis", "project", "generation_figure", "WindowTrace", "windows_figure",
           "RunTrace", "comparison_figure"]


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


class Basis(tp.NamedTuple):
    """Two orthonormal directions of latent space and the centre to project from."""
    mean: np.ndarray       # [N]
    axes: np.ndarray       # [2, N]
    explained: np.ndarray  # [2]: share of the fitted path's variance along each axis


def fit_basis(path: np.ndarray) -> Basis:
    """The PCA of one path's points ([K, ...], flattened per point), oriented by the convention
    of this module: PC 1 from the first point to the last, PC 2 so that the path bulges upwards."""
    flat = np.asarray(path, dtype=np.float64).reshape(len(path), -1)
    mean = flat.mean(axis=0)
    centred = flat - mean
    gram = centred @ centred.T
    values, vectors = np.linalg.eigh(gram)
    order = np.argsort(values)[::-1][:2]
    values = np.clip(values[order], 0.0, None)
    axes = np.zeros((2, flat.shape[1]))
    for k, (value, vector) in enumerate(zip(values, vectors[:, order].T)):
        if value > 1e-12 * max(values[0], 1e-300):
            direction = vector @ centred
            axes[k] = direction / np.linalg.norm(direction)
    total = float(np.trace(gram))
    basis = Basis(mean, axes, np.pad(values / total if total > 0 else np.zeros(len(values)), (0, 2 - len(values))))
    return _oriented(basis, flat)


def _oriented(basis: Basis, flat: np.ndarray) -> Basis:
    xy = (flat - basis.mean) @ basis.axes.T
    axes = basis.axes.copy()
    if xy[-1, 0] < xy[0, 0]:
        axes[0] = -axes[0]
        xy[:, 0] = -xy[:, 0]
    if len(xy) > 2:   # the bulge: interior points against the straight line from start to end
        u = np.linspace(0.0, 1.0, len(xy))[1:-1]
        bulge = float(np.sum(xy[1:-1, 1] - ((1 - u) * xy[0, 1] + u * xy[-1, 1])))
    else:
        bulge = float(xy[0, 1] - xy[-1, 1])
    if bulge < 0:
        axes[1] = -axes[1]
    return basis._replace(axes=axes)


def project(basis: Basis, path: np.ndarray) -> np.ndarray:
    """[K, 2] coordinates of a path's points on `basis`."""
    flat = np.asarray(path, dtype=np.float64).reshape(len(path), -1)
    return (flat - basis.mean) @ basis.axes.T


def _draw_path(ax, xy: np.ndarray, color: str, label: str, marker: str = "o", linestyle: str = "-") -> None:
    ax.plot(xy[:, 0], xy[:, 1], linestyle, color=color, alpha=0.8, linewidth=1.2, label=label)
    ax.plot(xy[:-1, 0], xy[:-1, 1], marker, color=color, markersize=3.5, linestyle="none")
    ax.plot(xy[0, 0], xy[0, 1], "s", color=color, markersize=6, markeredgecolor="black", markeredgewidth=0.6)
    end = "*" if linestyle == "-" else "X"
    ax.plot(xy[-1, 0], xy[-1, 1], end, color=color, markersize=11 if end == "*" else 8, markeredgecolor="black",
            markeredgewidth=0.6)


def _marker_legend(ax, handles=(), capped: bool = False, **kwargs) -> None:
    """The run/sample lines given, then what the markers mean."""
    from matplotlib.lines import Line2D

    markers = [Line2D([], [], marker="s", color="gray", markeredgecolor="black", linestyle="none", label="noise z\u2080 (t = 0)"),
               Line2D([], [], marker="o", color="gray", markersize=3.5, linestyle="none", label="accepted step"),
               Line2D([], [], marker="*", color="gray", markeredgecolor="black", markersize=11, linestyle="none",
                      label="result")]
    if capped:
        markers.append(Line2D([], [], marker="X", color="gray", markeredgecolor="black", linestyle="--",
                              label="stopped at the NFE cap"))
    ax.legend(handles=[*handles, *markers], **{"loc": "best", "fontsize": 7, **kwargs})


def _equal(ax) -> None:
    ax.set_aspect("equal", adjustable="datalim")
    ax.grid(alpha=0.25)


def _pc_labels(ax, explained: np.ndarray, of: str = "variance") -> None:
    ax.set_xlabel(f"PC 1 ({100 * explained[0]:.0f}% of {of})")
    ax.set_ylabel(f"PC 2 ({100 * explained[1]:.0f}%)")


def generation_figure(times: tp.Sequence[float], latents: np.ndarray, step_times: tp.Sequence[float],
                      step_sizes: tp.Sequence[float], nfe_trace: tp.Sequence[tp.Sequence[float]]) -> Figure:
    """How the solve of one window went: z_t of each sample projected to 2-D (a dot per accepted
    step, square = noise at t=0, star = result), the step size against t, and the cumulative NFE
    against t.

    `latents`: [K, B, T, D] latents at `times` (K = accepted steps + 1); `nfe_trace`: (t, NFE so
    far[, window]) at every field evaluation, in order.
    """
    latents = np.asarray(latents)
    samples = latents.shape[1]
    fig, path_axes, ax_step, ax_nfe = _three_panels(4.2 if samples <= 2 else 5.6, samples)
    for b, ax in enumerate(path_axes):
        basis = fit_basis(latents[:, b])
        _draw_path(ax, project(basis, latents[:, b]), COLORS[b % len(COLORS)], f"sample {b + 1}")
        _equal(ax)
        if samples == 1:
            _pc_labels(ax, basis.explained)
            ax.set_title(f"latent trajectory z_t, t = 0 \u2192 {times[-1]:.5g} ({len(times) - 1} steps)",
                         fontsize=10, loc="left")
            _marker_legend(ax)
        else:
            ax.set_title(f"sample {b + 1}: PC 1 {100 * basis.explained[0]:.0f}%, PC 2 "
                         f"{100 * basis.explained[1]:.0f}%", fontsize=8, loc="left")
            ax.tick_params(labelsize=6)
    if samples > 1:
        fig.suptitle(f"latent trajectories z_t, t = 0 \u2192 {times[-1]:.5g} ({len(times) - 1} steps); each sample "
                     "from its own noise, on its own axes (square: noise, star: result)", fontsize=9, x=0.01,
                     ha="left")
    _step_panel(ax_step, [(step_times, step_sizes, COLORS[0])])
    if len(nfe_trace):
        n = _nfe_line(ax_nfe, nfe_trace, COLORS[1])
        ax_nfe.set_title(f"{n} evaluations", fontsize=9, loc="right")
    _nfe_axes(ax_nfe)
    return fig


class WindowTrace(tp.NamedTuple):
    """One window of a long clip, as the windows figure draws it."""

    label: str                       # 'window 2 (frames 375\u2013875)'
    times: tp.Sequence[float]        # of the accepted steps and the end
    latents: np.ndarray              # [K, T, D] z_t of the first sample at `times`
    step_times: tp.Sequence[float]
    step_sizes: tp.Sequence[float]


def windows_figure(windows: tp.Sequence[WindowTrace], nfe_trace: tp.Sequence[tp.Sequence[float]]) -> Figure:
    """How the solves of a long clip went, every window its own trace and colour: z_t of the first
    sample in each window (each centred, one shared projection), the step sizes against t, and
    the cumulative NFE of the whole job against each window's t. The legend names each window
    and its frames. `nfe_trace`: (t, NFE of the job, window index) of every progress report."""
    n = len(windows)
    rows = math.ceil(n / 4)
    fig, ax_path, ax_step, ax_nfe = _three_panels(4.2 + 0.22 * rows)
    colors = _window_colors(n)
    coords, explained = project_2d([w.latents for w in windows], centre_each=True)
    for w, xy, color in zip(windows, coords, colors):
        _draw_path(ax_path, xy, color, w.label)
    _pc_labels(ax_path, explained)
    _equal(ax_path)
    ax_path.set_title(f"latent trajectories z_t of {n} windows (first sample, each centred)", fontsize=10, loc="left")
    _step_panel(ax_step, [(w.step_times, w.step_sizes, c) for w, c in zip(windows, colors)])
    if all(list(w.step_sizes) == list(windows[0].step_sizes) for w in windows):
        ax_step.set_title("the same steps in every window", fontsize=9, loc="right")
    total = 0
    for k, color in enumerate(colors):
        points = [p for p in nfe_trace if len(p) > 2 and int(p[2]) == k]
        if points:
            total = _nfe_line(ax_nfe, points, color, base=total)
    ax_nfe.set_title(f"{total} evaluations in {n} windows", fontsize=9, loc="right")
    _nfe_axes(ax_nfe)
    handles, labels = ax_path.get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=min(n, 4), fontsize=7, frameon=False)
    return fig


def _window_colors(n: int) -> tp.List[tp.Any]:
    if n <= len(COLORS):
        return list(COLORS[:n])
    cmap = matplotlib.colormaps["viridis"]
    return [cmap(k / max(n - 1, 1) * 0.9) for k in range(n)]


def _three_panels(height: float, paths: tp.Optional[int] = None):
    """The figure, the trajectory axes (a list of `paths` small ones, two per row, when given), the
    step-size axes and the NFE axes, in this order in `fig.axes`."""
    fig = new_figure(10.0, height)
    grid = fig.add_gridspec(2, 2, width_ratios=(1.35, 1.0))
    if paths is None:
        ax_path = fig.add_subplot(grid[:, 0])
    else:
        cols = 1 if paths == 1 else 2
        cells = grid[:, 0].subgridspec(math.ceil(paths / cols), cols)
        ax_path = [fig.add_subplot(cells[b // cols, b % cols]) for b in range(paths)]
    ax_step = fig.add_subplot(grid[0, 1])
    ax_nfe = fig.add_subplot(grid[1, 1], sharex=ax_step)
    return fig, ax_path, ax_step, ax_nfe


def _step_panel(ax, lines: tp.Sequence[tp.Tuple[tp.Sequence[float], tp.Sequence[float], tp.Any]]) -> None:
    """Step size against t, one line per (times, sizes, colour); log scale when it varies > 10x."""
    sizes = np.concatenate([np.asarray(s, dtype=float) for _, s, _ in lines if len(s)] or [np.zeros(0)])
    for times, steps, color in lines:
        if len(times):
            ax.plot(times, steps, "o-", drawstyle="steps-post", color=color, markersize=3)
    ax.ticklabel_format(axis="y", useOffset=False)  # uniform steps: no "1e-8+1e-1" offset
    if sizes.size and sizes.min() > 0 and sizes.max() / sizes.min() < 1.5:
        ax.set_ylim(0, sizes.max() * 1.3)
    if sizes.size and sizes.min() > 0 and sizes.max() / sizes.min() > 10:
        ax.set_yscale("log")
    ax.set_ylabel("step size")
    ax.grid(alpha=0.3)
    ax.tick_params(labelbottom=False)


def _nfe_line(ax, trace: tp.Sequence[tp.Sequence[float]], color, base: float = 0.0) -> int:
    """Cumulative NFE (from `base` at t = 0) against t (the largest reached so far); returns the last NFE."""
    t = np.maximum.accumulate(np.asarray([p[0] for p in trace], dtype=float))
    n = np.asarray([p[1] for p in trace], dtype=float)
    ax.plot(np.concatenate([[0.0], t]), np.concatenate([[base], n]), drawstyle="steps-post", color=color)
    return int(n[-1])


def _nfe_axes(ax) -> None:
    ax.set_xlim(0, 1)
    ax.set_xlabel("t")
    ax.set_ylabel("cumulative NFE")
    ax.grid(alpha=0.3)


class RunTrace(tp.NamedTuple):
    """One solver run of a comparison, as the comparison figure needs it."""

    label: str
    method: str
    latents: np.ndarray  # [K, T, D] z_t at the accepted steps and the end (first sample); up to the cap if capped
    nfe: int
    error: float  # RMSE of the final latents against the reference run (nan for a capped run)
    is_reference: bool
    seconds: float = math.nan  # wall-clock seconds of the solve
    capped: bool = False       # stopped at its NFE cap: `latents` end where it stopped


def comparison_figure(runs: tp.Sequence[RunTrace]) -> Figure:
    """All runs' trajectories on the reference run's basis, error against NFE (with the frontier)
    and error against wall-clock seconds."""
    fig = new_figure(12.0, 4.4)
    grid = fig.add_gridspec(1, 3, width_ratios=(1.25, 1.0, 1.0))
    ax_path, ax_err, ax_sec = fig.add_subplot(grid[0]), fig.add_subplot(grid[1]), fig.add_subplot(grid[2])
    drawable = [r for r in runs if len(r.latents)]
    reference = next((r for r in drawable if r.is_reference), drawable[0] if drawable else None)
    handles = []
    if reference is not None:
        basis = fit_basis(reference.latents)
        for k, run in enumerate(runs):
            if len(run.latents):
                _draw_path(ax_path, project(basis, run.latents), COLORS[k % len(COLORS)],
                           run.label + (" (capped)" if run.capped else ""), linestyle="--" if run.capped else "-")
        handles = ax_path.get_lines()[::4]
        _pc_labels(ax_path, basis.explained, of=f"the reference's variance")
        _equal(ax_path)
    ax_path.set_title("trajectories of z_t (first sample), on the reference run's axes", fontsize=9, loc="left")
    _marker_legend(ax_path, handles, capped=any(r.capped for r in runs), fontsize=6)

    finished = [r for r in runs if not r.is_reference and not r.capped and r.error > 0 and math.isfinite(r.error)]
    _error_panel(ax_err, runs, finished, "nfe")
    ax_err.set_xlabel("NFE (field evaluations)")
    ax_err.set_ylabel("RMSE of final latents vs. reference")
    frontier, best = [], math.inf
    for r in sorted(finished, key=lambda r: (r.nfe, r.error)):
        if r.error < best:
            frontier.append(r)
            best = r.error
    if len(frontier) > 1:
        ax_err.plot([r.nfe for r in frontier], [r.error for r in frontier], "-", color="gray", alpha=0.5, linewidth=3,
                    zorder=0, label="frontier")
    if finished:
        ax_err.legend(fontsize=7, loc="lower left")
    timed = [r for r in finished if math.isfinite(r.seconds)]
    _error_panel(ax_sec, runs, timed, "seconds")
    ax_sec.set_xlabel("seconds (wall clock, this server)")
    ax_sec.set_title("error against time", fontsize=9, loc="left")
    ax_err.set_title("error against evaluations", fontsize=9, loc="left")
    return fig


def _error_panel(ax, runs: tp.Sequence[RunTrace], finished: tp.Sequence[RunTrace], x: str) -> None:
    """One line per method (in run order), each run annotated; the reference as a dashed line."""
    for method in dict.fromkeys(r.method for r in finished):
        group = sorted((r for r in finished if r.method == method), key=lambda r: getattr(r, x))
        k = next(i for i, r in enumerate(runs) if r.method == method)
        ax.plot([getattr(r, x) for r in group], [r.error for r in group], "o-", color=COLORS[k % len(COLORS)],
                label=method)
        for r in group:
            ax.annotate(r.label, (getattr(r, x), r.error), fontsize=7, xytext=(3, 3), textcoords="offset points")
    for r in runs:
        value = getattr(r, x)
        if r.is_reference and math.isfinite(value) and value > 0:
            ax.axvline(value, color="gray", linestyle="--", linewidth=1)
            ax.text(value, 0.98, f"reference: {r.label} ", transform=ax.get_xaxis_transform(), fontsize=7, va="top",
                    ha="right", color="gray")
    if finished:
        ax.set_yscale("log")
    ax.set_xscale("log")
    ax.grid(alpha=0.3, which="both")
