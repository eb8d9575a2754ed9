"""Music longer than the model's window, and editing: windowed solving with known frames.

Every JASCO model is trained on windows of a fixed length (10 s). A longer clip is generated as
overlapping windows of that length, one after another; each new window holds fixed the frames it
shares with what is already generated and generates the rest, attending to the fixed ones through
the transformer. Repaint and extend are the same thing with the known frames taken from the codec
encoding of existing audio.

The constraint lives in the vector field, so every ODE solver honours it, fixed-step or adaptive
(`KnownFrameField`): a frame whose clean latent `x1` is known gets the velocity of its straight
path from its own noise,

    v_known = x1 - (1 - sigma_min) * z0        (constant in t and z)

so the state of that frame is z_t = z0 + t * v_known = (1 - (1 - sigma_min) t) z0 + t x1 at every
t: exactly the training interpolation the model saw, and every Runge-Kutta method integrates a
constant derivative exactly, adaptive ones with zero error estimate on those frames. At t = 1 the
frame is x1 + sigma_min * z0; it is then set to x1 exactly. The unknown frames follow the guided
model field, which sees the known frames at the right noise level for each t. See docs/longform.md.

Planning (`next_window`): the next window starts `context` frames before the first frame still
unknown (so it sees that much of what precedes it), is moved left when it would pass the end, and
is moved right when the unknown run is short enough to also show frames after it (repaint).
"""
from __future__ import annotations

import dataclasses
import typing as tp

import numpy as np
import torch

from .model import ConditionInputs
from .solvers import Field, Progress, SolverConfig, Trajectory, integrate

__all__ = ["SIGMA_MIN", "KnownFrameField", "WindowResult", "next_window", "count_windows", "slice_inputs",
           "solve_windows", "window_progress"]

SIGMA_MIN = 1e-5     # the flow's sigma_min (training and the original sampler)


class KnownFrameField:
    """`field(t, z)` with the frames where `known` [T] is True following their straight path to `x1`.

    `x1`, `z0`: [B, T, D] (values of unknown frames in `x1` are ignored).
    """

    def __init__(self, field: Field, known: torch.Tensor, x1: torch.Tensor, z0: torch.Tensor,
                 sigma_min: float = SIGMA_MIN):
        self.field = field
        self.mask = known.view(1, -1, 1).to(z0.device)
        self.v_known = (x1.to(z0) - (1.0 - sigma_min) * z0)

    def __call__(self, t: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        v = self.field(t, z)
        return torch.where(self.mask, self.v_known.to(v.dtype), v)


@dataclasses.dataclass
class WindowResult:
    """One solved window: frames [start, end) of the clip, how many of them were known."""

    start: int
    end: int
    known_frames: int
    nfe: int
    seconds: float
    step_times: tp.List[float]
    step_sizes: tp.List[float]
    trajectory: tp.Optional[Trajectory]


def next_window(known: np.ndarray, window: int, context: int) -> tp.Optional[tp.Tuple[int, int]]:
    """(start, end) of the next window to solve, or None when every frame is known.

    The window starts `context` frames before the first unknown frame (clamped to the clip); if the
    unknown run from there is shorter than what the window holds, the window is centred on it, so
    it also sees known frames after it (a repaint region gets context on both sides).
    """
    n = len(known)
    unknown = np.flatnonzero(~known)
    if unknown.size == 0:
        return None
    if n <= window:
        return 0, n
    first = int(unknown[0])
    run_end = first
    while run_end < n and not known[run_end]:
        run_end += 1
    run = run_end - first
    if run < window - 2 * context:               # short run: centre it, context on both sides
        start = first - (window - run) // 2
    else:
        start = first - context
    start = max(0, min(start, n - window))
    return start, start + window


def slice_inputs(inputs: ConditionInputs, start: int, end: int) -> ConditionInputs:
    """The condition inputs of frames [start, end) (text unchanged)."""
    def cut(x, dim):
        return None if x is None else x.narrow(dim, start, end - start)
    silence = inputs.drums_silence
    if silence is not None and silence.dim() == 2:         # [T, D]: one row per frame
        silence = silence[start:end]
    return ConditionInputs(text=inputs.text, text_mask=inputs.text_mask, chords=cut(inputs.chords, 1),
                           melody=cut(inputs.melody, 2), drums=cut(inputs.drums, 1), drums_silence=silence)


WindowProgress = tp.Callable[[int, int, float, int], None]   # (window index, window count, t, NFE of the job)


def accepts_window(fn: tp.Callable) -> bool:
    """Whether a progress callable takes a `window` keyword (or `**kwargs`)."""
    import inspect
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.name == "window" or p.kind == p.VAR_KEYWORD for p in params)


def window_progress(progress: tp.Optional[Progress]) -> tp.Optional[WindowProgress]:
    """A user's `progress(t, nfe)` as a `WindowProgress`: t of the current window, NFE of the whole
    job; a `progress` that takes a `window` argument (or `**kwargs`) also gets `window=(index, count)`."""
    if progress is None:
        return None
    takes_window = accepts_window(progress)

    def report(index: int, count: int, t: float, nfe: int) -> None:
        if takes_window:
            progress(t, nfe, window=(index, count))
        else:
            progress(t, nfe)
    return report


def solve_windows(make_field: tp.Callable[[int, int], Field], z0: torch.Tensor, known: np.ndarray,
                  x_known: tp.Optional[torch.Tensor], solver: SolverConfig, *, window: int, context: int,
                  crossfade: int = 0, record_steps: bool = False, progress: tp.Optional[WindowProgress] = None,
                  count: tp.Optional[int] = None) -> tp.Tuple[torch.Tensor, tp.List[WindowResult]]:
    """Solve every unknown frame of a clip, window after window.

    Args:
        make_field: `(start, end) -> field(t, z)` for the guided model field of those frames.
        z0: the clip's noise [B, N, D]; each frame keeps its own noise whichever window solves it.
        known: [N] bool, frames whose latents are given in `x_known` [B, N, D] (None if none).
        window, context: frames per window; frames of context before the first unknown frame.
        crossfade: the last `crossfade` frames a window generates (unless the clip ends there) are
            generated again by the next window, and the two versions are blended linearly across
            them (`(1 - r) old + r new`, r rising): the join is spread over those frames instead of
            falling on one. Frames given in `x_known` are never regenerated.
        progress: `(window index, windows in all, t, NFE so far)`.
        count: the number of windows, for progress (default: planned ahead).
    Returns: the clip's latents [B, N, D] (given frames exactly as given) and one `WindowResult`
    per window.
    """
    import time

    given = np.array(known, dtype=bool)
    known = given.copy()
    out = torch.zeros_like(z0) if x_known is None else x_known.to(z0).clone()
    total = count if count is not None else count_windows(given, window, context, crossfade)
    windows: tp.List[WindowResult] = []
    nfe_before, fade = 0, None
    while True:
        span = next_window(known, window, context)
        if span is None:
            break
        start, end = span
        index = len(windows)
        mask = torch.from_numpy(known[start:end].copy())
        field = make_field(start, end)
        if mask.any():
            field = KnownFrameField(field, mask, out[:, start:end], z0[:, start:end])
        report = None
        if progress is not None:
            base = nfe_before
            report = lambda t, nfe, i=index, base=base: progress(i, total, t, base + nfe)  # noqa: E731
            progress(index, total, 0.0, nfe_before)
        started = time.perf_counter()
        result = integrate(field, z0[:, start:end], solver, record_steps=record_steps, progress=report)
        z1 = result.z1.to(out.dtype)
        if mask.any():
            z1 = torch.where(mask.view(1, -1, 1).to(z1.device), out[:, start:end], z1)
        if fade is not None:                      # blend the frames the previous window left open
            a, b, old = fade
            r = ((torch.arange(b - a, dtype=z1.dtype) + 0.5) / (b - a)).view(1, -1, 1).to(z1.device)
            z1[:, a - start:b - start] = (1 - r) * old + r * z1[:, a - start:b - start]
        out[:, start:end] = z1
        windows.append(WindowResult(start, end, int(mask.sum()), result.nfe, time.perf_counter() - started,
                                    result.step_times, result.step_sizes, result.trajectory))
        nfe_before += result.nfe
        known[start:end] = True
        fade = _reopen(known, given, start, end, crossfade)
        if fade is not None:
            fade = (*fade, out[:, fade[0]:fade[1]].clone())
    return out, windows


def _reopen(known: np.ndarray, given: np.ndarray, start: int, end: int, crossfade: int):
    """Mark the last `crossfade` frames of window [start, end) unknown again when more is to come
    after it and none of them was given; returns (a, b) or None."""
    a = end - crossfade
    if crossfade <= 0 or end >= len(known) or known[end:].all() or a <= start or given[a:end].any():
        return None
    known[a:end] = False
    return a, end


def count_windows(known: np.ndarray, window: int, context: int, crossfade: int = 0) -> int:
    """How many windows `solve_windows` will solve for this mask."""
    given = np.array(known, dtype=bool)
    known = given.copy()
    n = 0
    while True:
        span = next_window(known, window, context)
        if span is None:
            return n
        known[span[0]:span[1]] = True
        _reopen(known, given, span[0], span[1], crossfade)
        n += 1
