"""How many seconds of GPU a request asks ZeroGPU for (`spaces.GPU(duration=...)`).

ZeroGPU attaches a GPU for the duration a GPU function asks for and stops the function when it
runs out, so a fixed allocation either cuts long requests (a dopri5 1e-5 solve, a 10 s clip of
four samples) or over-asks for short ones (visitors with little quota left are refused, and a
short request waits behind a long one). The estimate here follows the request:

    seconds = MARGIN_FACTOR * (NFE * seconds per NFE + conditions and decoding) + MARGIN_SECONDS

- NFE: per window of the model's length (a longer clip is solved as overlapping windows, one
  after another, each with the whole solver), a fixed-step solver's own count; for adaptive methods the largest NFE already seen with
  the same settings on this model (times 1.5), else an estimate from the tolerance (steps grow as
  tol^(-1/(p+1)) for an embedded pair of order p), never above the request's NFE cap.
- Seconds per NFE: measured on completed requests of the same pipeline (`SpeedLog`: sampling
  seconds / NFE, scaled up when the new request has more rows x frames, never down); before the
  first one, a prior from the model size: 2 x parameters x rows x frames FLOPs at `PRIOR_FLOPS`.
  Rows are samples x active guidance terms (one batched call per evaluation), frames those of
  one window at most.
- Conditions and decoding: the longest measured for the same kind of request, else a prior.

`generation_seconds`, `comparison_seconds` and `edit_seconds` take exactly the arguments of the
GPU functions they size (`spaces.GPU` calls them that way) and depend on nothing else. An edit is
sized as a generation of its result's length.
"""
from __future__ import annotations

import collections
import dataclasses
import math
import statistics
import typing as tp

import numpy as np

from jasco_core.guidance import Guidance
from jasco_core.longform import count_windows
from jasco_core.solvers import SolverConfig

__all__ = ["SpeedLog", "expected_nfe", "gpu_seconds", "generation_seconds", "comparison_seconds", "edit_seconds"]

PRIOR_FLOPS = 2e13            # sustained FLOP/s assumed before a measurement (fp32, part of an H200)
PRIOR_NFE_SECONDS = 0.02      # per evaluation, beyond the FLOPs (kernel launches, the solver)
PRIOR_OVERHEAD_SECONDS = 20.0  # conditions (T5, drum separation, melody) and decoding, unmeasured
MARGIN_FACTOR = 1.3
MARGIN_SECONDS = 15.0          # worker start, weights moved to the GPU, the first CUDA calls
# No tight ceiling: ZeroGPU refuses a duration above what the visitor may use ('ZeroGPU illegal
# duration', before anything runs), which is better than cutting a long solve after minutes of work.
MIN_SECONDS, MAX_SECONDS = 20, 1800
ADAPTIVE_NFE_MARGIN = 1.5      # on the largest NFE already seen with the same settings
# adaptive method -> (evaluations per step, p + 1 of its embedded error estimate, steps at tol 1)
ADAPTIVE_STEPS = {"dopri5": (6, 5, 4.0), "bosh3": (3, 3, 3.0), "adaptive_heun": (2, 2, 1.5)}
COMPARE_RUN_OVERHEAD = 0.25   # each further run of a comparison, as a share of the first's overhead
RECENT = 8                     # measurements kept per pipeline


def solver_key(solver: SolverConfig) -> tp.Tuple[str, float, float]:
    return solver.method, float(solver.rtol), float(solver.atol)


@dataclasses.dataclass
class SpeedLog:
    """What one pipeline's completed requests took: seconds per NFE (with the rows x frames they
    were measured at), NFE of adaptive solves by settings, seconds of conditions + decoding by the
    kind of request. Plain numbers, so it pickles with the model reference."""

    parameters: int
    frame_rate: float
    window_frames: int                  # the model's window; longer clips are solved window by window
    context_frames: int
    per_nfe: tp.Deque[tp.Tuple[float, int]] = dataclasses.field(
        default_factory=lambda: collections.deque(maxlen=RECENT))
    nfe_seen: tp.Dict[tp.Tuple[str, float, float], int] = dataclasses.field(default_factory=dict)
    overheads: tp.Dict[tp.Tuple[bool, bool], float] = dataclasses.field(default_factory=dict)

    def windows(self, frames: int) -> tp.Tuple[int, int]:
        """(windows solved, frames of each) for a clip of `frames` latent frames."""
        if frames <= self.window_frames:
            return 1, frames
        return count_windows(np.zeros(frames, bool), self.window_frames, self.context_frames), self.window_frames

    def record(self, result, solver: SolverConfig, rows: int, kind: tp.Tuple[bool, bool]) -> None:
        """One completed request: `result.timings` and `result.nfe` (all windows) of `rows` rows."""
        windows, frames = self.windows(int(result.latents.shape[1]))
        windows = len(getattr(result, "windows", None) or ()) or windows  # an edit solves only some
        if result.nfe > 0 and result.timings.get("sampling", 0.0) > 0:
            self.per_nfe.append((result.timings["sampling"] / result.nfe, rows * frames))
        if not solver.is_fixed_step:
            key = solver_key(solver)
            self.nfe_seen[key] = max(self.nfe_seen.get(key, 0), math.ceil(result.nfe / windows))
        overhead = result.timings.get("conditions", 0.0) + result.timings.get("decoding", 0.0)
        self.overheads[kind] = max(self.overheads.get(kind, 0.0), overhead)

    def seconds_per_nfe(self, rows: int, frames: int) -> float:
        """The median of the recent measurements, each scaled up to `rows * frames` when that is
        larger than what it was measured at; the prior from the model size before any."""
        units = max(1, rows * frames)
        if not self.per_nfe:
            return 2.0 * self.parameters * units / PRIOR_FLOPS + PRIOR_NFE_SECONDS
        return statistics.median(s * max(1.0, units / measured) for s, measured in self.per_nfe)

    def overhead(self, kind: tp.Tuple[bool, bool]) -> float:
        if kind in self.overheads:
            return self.overheads[kind]
        return max([PRIOR_OVERHEAD_SECONDS, *self.overheads.values()])


def expected_nfe(solver: SolverConfig, seen: tp.Optional[int] = None, margin: float = ADAPTIVE_NFE_MARGIN,
                 prior_scale: float = 1.0) -> int:
    """Field evaluations a solve is expected to take, at most `solver.max_nfe`: a fixed-step
    solver's own count; `margin` times what a solve with the same settings took; else the prior
    from the tolerance, its steps times `prior_scale` (`demo.cost` wants a central estimate, this
    module one that does not run short)."""
    if solver.is_fixed_step:
        return int(solver.nfe_per_solve)
    if seen:
        estimate = math.ceil(margin * seen)
    else:
        per_step, exponent, scale = ADAPTIVE_STEPS.get(solver.method, (6, 5, 4.0))
        tolerance = max(min(float(solver.rtol), float(solver.atol)), 1e-12)
        estimate = per_step * math.ceil(prior_scale * scale * tolerance ** (-1.0 / exponent) - 1e-9) + 2
    return int(min(estimate, solver.max_nfe))


def gpu_seconds(nfe: int, seconds_per_nfe: float, overhead: float) -> int:
    """Whole seconds to ask for: the work with a margin, within [MIN_SECONDS, MAX_SECONDS]."""
    seconds = MARGIN_FACTOR * (nfe * seconds_per_nfe + overhead) + MARGIN_SECONDS
    return int(min(max(math.ceil(seconds), MIN_SECONDS), MAX_SECONDS))


class _Sizes(tp.NamedTuple):
    speed: SpeedLog
    windows: int
    frames: int                    # of one window
    terms: int
    kind: tp.Tuple[bool, bool]
    default_solver: SolverConfig


def _sizes(model, request: tp.Mapping[str, tp.Any]) -> _Sizes:
    """Frames, guidance terms and kind of a request to `model` (a `runtime.ModelRef`), with the
    model's defaults for what it leaves out. Never raises: the request itself reports bad values."""
    defaults = model.pipeline.defaults
    try:
        duration = float(request.get("duration") or defaults.duration)
    except (TypeError, ValueError):
        duration = float(defaults.duration)
    try:
        terms = len(Guidance.coerce(request.get("guidance"), defaults.guidance).active_terms())
    except (TypeError, ValueError):
        terms = 3
    kind = (request.get("drums") is not None, request.get("melody") is not None)
    windows, frames = model.speed.windows(max(1, math.ceil(duration * model.speed.frame_rate)))
    return _Sizes(model.speed, windows, frames, terms, kind, defaults.solver)


def _solver(value: tp.Any, default: SolverConfig) -> SolverConfig:
    try:
        return SolverConfig.coerce(value, default)
    except (TypeError, ValueError):
        return default


def generation_seconds(model, kwargs: tp.Mapping[str, tp.Any]) -> int:
    """GPU seconds for `runtime.run_generation(model, kwargs)`."""
    s = _sizes(model, kwargs)
    solver = _solver(kwargs.get("solver"), s.default_solver)
    try:
        samples = max(1, int(kwargs.get("num_samples") or 1))
    except (TypeError, ValueError):
        samples = 1
    rows = samples * s.terms
    nfe = s.windows * expected_nfe(solver, s.speed.nfe_seen.get(solver_key(solver)))
    return gpu_seconds(nfe, s.speed.seconds_per_nfe(rows, s.frames), s.speed.overhead(s.kind))


def comparison_seconds(model, solvers: tp.Sequence[SolverConfig], request: tp.Mapping[str, tp.Any],
                       reporters: tp.Sequence[tp.Any] = ()) -> int:
    """GPU seconds for `runtime.run_comparison(model, solvers, request, reporters)`: every run, one
    sample each, one after another."""
    s = _sizes(model, request)
    per_nfe = s.speed.seconds_per_nfe(s.terms, s.frames)
    configs = [_solver(c, s.default_solver) for c in solvers]
    nfe = s.windows * sum(expected_nfe(c, s.speed.nfe_seen.get(solver_key(c))) for c in configs)
    # each run encodes its conditions and decodes again; the first pays the one-off costs
    overhead = s.speed.overhead(s.kind) * (1.0 + COMPARE_RUN_OVERHEAD * max(0, len(configs) - 1))
    return gpu_seconds(nfe, per_nfe, overhead)


def edit_seconds(model, kind: str, kwargs: tp.Mapping[str, tp.Any]) -> int:
    """GPU seconds for `runtime.run_edit(model, kind, kwargs)`: sized as a generation of the whole
    result (a repaint solves only the windows of its region: an overestimate, never a cut)."""
    try:
        samples, rate = kwargs["audio"]
        seconds = len(samples) / float(rate) + (float(kwargs.get("seconds") or 0.0) if kind == "extend" else 0.0)
    except (KeyError, TypeError, ValueError, ZeroDivisionError):
        seconds = None
    return generation_seconds(model, dict(kwargs, duration=seconds))
