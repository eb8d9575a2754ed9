"""Integrate a vector field from noise (t=0) to data (t=1) with `torchdiffeq.odeint`.

One entry point, `integrate(field, z0, SolverConfig(...))`; the field is any callable `f(t, z)`.

Fixed-step methods (`euler`, `midpoint`, `rk4`) take `steps` steps on [0, 1] (uniform, or on a
time grid: `schedule`). `bns` is a model's fitted solver (`jasco_core.solver_fit`): a bespoke
non-stationary multistep method, one evaluation per step on a fitted grid,
z_{i+1} = sum_j a_ij z_j + sum_j b_ij v_j over all earlier states z_j and evaluations v_j (its
`coefficients`); it is integrated here (torchdiffeq has no such method). Adaptive
methods (`dopri5`, `bosh3`, `adaptive_heun`) control the step size with `rtol`/`atol` and, like the
original JASCO sampler, stop at t = 1 - 1e-5 rather than 1 (`SolverConfig.t_end` overrides it).
Every run reports the number of field evaluations (NFE), the time of each evaluation, the accepted
steps (start time and size), optional latents at chosen times, and calls `progress(t, nfe)`.
`max_nfe` stops a runaway adaptive solve with `MaxNFEExceeded` instead of hanging.
"""
from __future__ import annotations

import dataclasses
import math
import re
import typing as tp

import torch
from torchdiffeq import odeint

from .errors import FieldError, check_integer, check_number, describe_value
from .schedules import Schedule, check_schedule, time_grid

FIXED_STEP_METHODS = {"euler": 1, "midpoint": 2, "rk4": 4}  # method -> field evaluations per step
ADAPTIVE_METHODS = ("dopri5", "bosh3", "adaptive_heun")
METHODS = (*FIXED_STEP_METHODS, *ADAPTIVE_METHODS)          # what a user chooses from
BESPOKE = "bns"                                              # fitted to a model, never typed
STEP_EVALUATIONS = {**FIXED_STEP_METHODS, BESPOKE: 1}        # every fixed-step method -> evaluations per step
ADAPTIVE_T_END = 1.0 - 1e-5
MAX_STEPS = 10_000
MAX_NFE_LIMIT = 100_000
SPEC_FORM = ("'method:steps' for euler, midpoint, rk4 (e.g. 'rk4:8', or 'midpoint:4/sway=-1' with a time grid) "
             "or 'method:tolerance' for dopri5, bosh3, adaptive_heun (e.g. 'dopri5:1e-4')")

Field = tp.Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
Progress = tp.Callable[[float, int], None]


class SolverConfigError(FieldError):
    """Invalid solver settings (field `solver`, or `solver.steps` etc.)."""

    default_field = "solver"


class MaxNFEExceeded(FieldError, RuntimeError):
    """The solve needed more field evaluations than `max_nfe` allows (field `solver.max_nfe`).

    `partial`: with `record_steps`, the latents at the accepted steps before it stopped (a
    `Trajectory`), else None."""

    default_field = "solver.max_nfe"
    partial: tp.Optional["Trajectory"] = None


@dataclasses.dataclass(frozen=True)
class SolverConfig:
    """How to integrate. `steps` is used by fixed-step methods, `rtol`/`atol` by adaptive ones."""

    method: str = "dopri5"
    steps: int = 10
    rtol: float = 1e-5
    atol: float = 1e-5
    max_nfe: int = 1000
    t_end: tp.Optional[float] = None  # None: 1.0 for fixed-step methods, 1 - 1e-5 for adaptive ones
    schedule: Schedule = "uniform"    # time grid of fixed-step methods (`jasco_core.schedules`)
    #: `bns` only: per step i, (a_i0..a_ii, b_i0..b_ii), the weights of the earlier states and evaluations
    coefficients: tp.Optional[tp.Tuple[tp.Tuple[tp.Tuple[float, ...], tp.Tuple[float, ...]], ...]] = None

    def __post_init__(self):
        if not isinstance(self.method, str) or self.method.strip().lower() not in (*METHODS, BESPOKE):
            raise SolverConfigError("solver.method", f"expected one of {', '.join(METHODS)}, got {describe_value(self.method)}")
        object.__setattr__(self, "method", self.method.strip().lower())
        object.__setattr__(self, "steps", check_integer("solver.steps", self.steps, 1, MAX_STEPS, error=SolverConfigError))
        for name in ("rtol", "atol"):
            value = check_number(f"solver.{name}", getattr(self, name), expected="a number in (0, 1), e.g. 1e-4",
                                 error=SolverConfigError)
            if not 0 < value < 1:
                raise SolverConfigError(f"solver.{name}", f"expected a number in (0, 1), e.g. 1e-4, got {value!r}")
            object.__setattr__(self, name, value)
        object.__setattr__(self, "max_nfe", check_integer("solver.max_nfe", self.max_nfe, 1, MAX_NFE_LIMIT,
                                                          error=SolverConfigError))
        if self.t_end is not None:
            t_end = check_number("solver.t_end", self.t_end, expected="a time in (0, 1], or None",
                                 error=SolverConfigError)
            if not 0 < t_end <= 1:
                raise SolverConfigError("solver.t_end", f"expected a time in (0, 1], or None, got {t_end!r}")
            object.__setattr__(self, "t_end", t_end)
        schedule = check_schedule(self.schedule, error=SolverConfigError)
        object.__setattr__(self, "schedule", schedule)
        if schedule != "uniform" and not self.is_fixed_step:
            raise SolverConfigError("solver.schedule", f"{self.method} chooses its own steps; a schedule is for "
                                    f"{', '.join(FIXED_STEP_METHODS)}")
        if isinstance(schedule, tuple):
            if self.steps != len(schedule) - 1:
                raise SolverConfigError("solver.steps", f"expected {len(schedule) - 1} steps for the {len(schedule)} "
                                        f"times of the schedule, got {self.steps}")
            if abs(schedule[-1] - self.end_time) > 1e-9:
                raise SolverConfigError("solver.schedule", f"the last time of the schedule ({schedule[-1]:g}) must be "
                                        f"the solver's end time ({self.end_time:g})")
        object.__setattr__(self, "coefficients", _check_coefficients(self))
        if self.is_fixed_step and self.nfe_per_solve > self.max_nfe:
            raise SolverConfigError("solver.max_nfe", f"{self.method} with {self.steps} steps needs "
                                    f"{self.nfe_per_solve} evaluations, above "
                                    f"max_nfe={self.max_nfe}; raise max_nfe or use fewer steps")

    @classmethod
    def parse(cls, spec: str, *, max_nfe: tp.Optional[int] = None,
              presets: tp.Optional[tp.Mapping[str, "SolverConfig"]] = None) -> "SolverConfig":
        """A solver from text: `'euler:8'`, `'rk4@4'` (fixed-step: steps), `'dopri5:1e-4'` (adaptive:
        rtol = atol), a bare method (its defaults), or a preset name such as `'Euler 4'`; a fixed-step
        spec may end with a time grid: `'midpoint:4/sway=-1'`, `'euler:8/cosine'`, `'rk4:2/power=2'`.

        `max_nfe` caps the evaluations (at least what a fixed-step spec needs); `presets` are the
        names to accept (default `PRESETS`; a loaded model's `ModelBundle.presets` has its fitted
        "fast"); a spec that cannot be read raises `SolverConfigError` (field `solver`) with the
        expected form.
        """
        if not isinstance(spec, str) or not spec.strip():
            raise SolverConfigError("solver", f"expected text such as {SPEC_FORM}, got {describe_value(spec)}")
        text, _, schedule = spec.strip().partition("/")
        text = text.strip()
        if schedule:
            grid = check_schedule(schedule.strip(), error=SolverConfigError)
            return dataclasses.replace(cls.parse(text, max_nfe=max_nfe), schedule=grid)
        named = PRESETS if presets is None else presets
        preset = next((cfg for name, cfg in named.items() if name.lower() == text.lower()), None)
        cap = {} if max_nfe is None else {"max_nfe": check_integer("solver.max_nfe", max_nfe, 1, MAX_NFE_LIMIT,
                                                                     error=SolverConfigError)}
        if preset is not None:
            if preset.is_fixed_step and cap:
                cap["max_nfe"] = max(cap["max_nfe"], preset.nfe_per_solve)
            return dataclasses.replace(preset, **cap)
        match = re.fullmatch(r"([a-z_0-9]+)(?:\s*[:@]\s*([0-9.eE+-]+))?", text.lower())
        if not match or match.group(1) not in METHODS:
            raise SolverConfigError("solver", f"cannot read {text!r}; expected {SPEC_FORM}")
        method, value = match.group(1), match.group(2)
        if value is None:
            cfg = cls(method=method)
            if cap:
                cfg = dataclasses.replace(cfg, max_nfe=max(cap["max_nfe"], cfg.nfe_per_solve or 0))
            return cfg
        try:
            number = float(value)
        except ValueError:
            raise SolverConfigError("solver", f"cannot read the number in {text!r}; expected {SPEC_FORM}") from None
        if method in FIXED_STEP_METHODS:
            steps = check_integer("solver.steps", number, 1, MAX_STEPS, error=SolverConfigError,
                                  expected=f"a whole number of steps from 1 to {MAX_STEPS} in {text!r}")
            nfe = steps * FIXED_STEP_METHODS[method]
            return cls(method=method, steps=steps, max_nfe=max(cap.get("max_nfe", 1000), nfe))
        if not 1e-10 <= number < 1:
            raise SolverConfigError("solver", f"expected a tolerance from 1e-10 to below 1 in {text!r}, e.g. "
                                    f"'{method}:1e-4'")
        return cls(method=method, rtol=number, atol=number, **cap)

    @property
    def nfe_per_solve(self) -> tp.Optional[int]:
        """Field evaluations of a fixed-step solve (None for adaptive methods)."""
        return self.steps * STEP_EVALUATIONS[self.method] if self.is_fixed_step else None

    @property
    def label(self) -> str:
        """Short human-readable form: 'euler, 8 steps' or 'dopri5, rtol 1e-04, atol 1e-04'."""
        if self.method == BESPOKE:
            return f"bespoke multistep (bns), {self.steps} steps, fitted"
        if self.is_fixed_step:
            grid = "" if self.schedule == "uniform" else (
                ", fitted times" if isinstance(self.schedule, tuple) else f", {self.schedule}")
            return f"{self.method}, {self.steps} steps{grid}"
        return f"{self.method}, rtol {self.rtol:.0e}, atol {self.atol:.0e}"

    @property
    def is_fixed_step(self) -> bool:
        return self.method in STEP_EVALUATIONS

    @property
    def end_time(self) -> float:
        if self.t_end is not None:
            return float(self.t_end)
        return 1.0 if self.is_fixed_step else ADAPTIVE_T_END

    def to_dict(self) -> dict:
        out = dataclasses.asdict(self)
        if isinstance(self.schedule, tuple):
            out["schedule"] = list(self.schedule)     # JSON
        if self.coefficients is None:
            del out["coefficients"]
        else:
            out["coefficients"] = [[list(a), list(b)] for a, b in self.coefficients]
        return out

    @classmethod
    def from_dict(cls, d: tp.Mapping[str, tp.Any]) -> "SolverConfig":
        if not isinstance(d, tp.Mapping):
            raise SolverConfigError("solver", f"expected a mapping of solver settings, got {describe_value(d)}")
        names = [f.name for f in dataclasses.fields(cls)]
        unknown = sorted(set(map(str, d)) - set(names))
        if unknown:
            raise SolverConfigError("solver", f"unknown keys {unknown}; expected some of {names}")
        return cls(**d)

    @classmethod
    def coerce(cls, value: tp.Any, default: "SolverConfig",
               presets: tp.Optional[tp.Mapping[str, "SolverConfig"]] = None) -> "SolverConfig":
        """What the public API accepts as `solver`: None (`default`), a `SolverConfig`, a dict of its
        fields, or text for `parse` ('rk4:8', 'dopri5:1e-4', 'Euler 4', 'fast'; names from `presets`)."""
        if value is None:
            return default
        if isinstance(value, SolverConfig):
            return value
        if isinstance(value, str):
            return cls.parse(value, presets=presets)
        if isinstance(value, tp.Mapping):
            return cls.from_dict(value)
        raise SolverConfigError("solver", f"expected a SolverConfig, a dict of its fields or text such as "
                                f"{SPEC_FORM}, got {describe_value(value)}")


def _check_coefficients(cfg: SolverConfig):
    """The `bns` coefficients as nested tuples, checked against the steps (None for other methods)."""
    field = "solver.coefficients"
    if cfg.method != BESPOKE:
        if cfg.coefficients is not None:
            raise SolverConfigError(field, f"only the fitted 'bns' solver takes coefficients, not {cfg.method}")
        return None
    if not isinstance(cfg.schedule, tuple):
        raise SolverConfigError("solver.schedule", "the 'bns' solver needs its fitted list of times")
    try:
        steps = tuple((tuple(float(x) for x in a), tuple(float(x) for x in b)) for a, b in cfg.coefficients)
    except (TypeError, ValueError):
        raise SolverConfigError(field, f"expected per step two lists of numbers, got {describe_value(cfg.coefficients)}") from None
    if len(steps) != cfg.steps or any(len(a) != i + 1 or len(b) != i + 1 for i, (a, b) in enumerate(steps)):
        raise SolverConfigError(field, f"expected {cfg.steps} steps, step i with i + 1 state and i + 1 evaluation weights")
    if not all(math.isfinite(x) for a, b in steps for x in (*a, *b)):
        raise SolverConfigError(field, "expected finite numbers")
    return steps


#: Named solver settings (the Compare tab's runs); `SolverConfig.parse` accepts these names too.
#: "reference" is the original JASCO sampler's setting (dopri5, rtol = atol = 1e-5). "fast" is
#: 10 evaluations: midpoint, 5 steps on the sway grid (S = -0.8), the best analytic grid measured
#: (docs/sampler.md); a model with a fitted solver (`jasco_core.solver_fit`) replaces it with that
#: one (`ModelBundle.presets`, `Pipeline.presets`).
PRESETS: tp.Dict[str, SolverConfig] = {
    "Euler 4": SolverConfig("euler", steps=4), "Euler 8": SolverConfig("euler", steps=8),
    "Euler 16": SolverConfig("euler", steps=16), "Midpoint 8": SolverConfig("midpoint", steps=8),
    "RK4 8": SolverConfig("rk4", steps=8),
    "dopri5 1e-3": SolverConfig("dopri5", rtol=1e-3, atol=1e-3),
    "dopri5 1e-4": SolverConfig("dopri5", rtol=1e-4, atol=1e-4),
    "dopri5 1e-5": SolverConfig("dopri5", rtol=1e-5, atol=1e-5),
    "reference": SolverConfig("dopri5", rtol=1e-5, atol=1e-5),
    "fast": SolverConfig("midpoint", steps=5, schedule="sway=-0.8"),
}


@dataclasses.dataclass
class Trajectory:
    times: tp.List[float]
    latents: torch.Tensor  # [len(times), B, T, D], on the CPU


@dataclasses.dataclass
class SolveResult:
    z1: torch.Tensor                     # [B, T, D] latents at the end time
    nfe: int                             # field evaluations
    t_evals: tp.List[float]              # time of every evaluation, in order
    step_times: tp.List[float]           # start of every accepted step
    step_sizes: tp.List[float]           # size of every accepted step
    rejected: int                        # rejected adaptive steps
    trajectory: tp.Optional[Trajectory]  # latents at the requested times (and at every accepted step)


class _CountingField(torch.nn.Module):
    """Wraps the field: counts evaluations, enforces max_nfe, reports progress, logs steps."""

    def __init__(self, field: Field, max_nfe: int, progress: tp.Optional[Progress], record_states: bool):
        super().__init__()
        self.field, self.max_nfe, self.progress = field, max_nfe, progress
        self.record_states = record_states
        self.nfe = 0
        self.t_evals: tp.List[torch.Tensor] = []
        self.steps: tp.List[tp.Tuple[torch.Tensor, torch.Tensor]] = []
        self.states: tp.List[torch.Tensor] = []
        self.rejected = 0

    def forward(self, t: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        if self.nfe >= self.max_nfe:
            raise MaxNFEExceeded(
                "solver.max_nfe", f"stopped after max_nfe={self.max_nfe} field evaluations at t={float(t):.4f}; "
                "loosen rtol/atol, raise max_nfe, or use a fixed-step method")
        self.nfe += 1
        self.t_evals.append(t.detach().reshape(()))
        if self.progress is not None:
            self.progress(float(t), self.nfe)
        return self.field(t, z)

    # torchdiffeq step callbacks (t0, y0, dt), attached in `integrate` to suit the method ---------
    def on_accepted_step(self, t0, y0, dt):
        self.steps.append((t0.detach().reshape(()), dt.detach().reshape(())))
        if self.record_states:
            self.states.append(y0.detach().clone())

    def on_rejected_step(self, t0, y0, dt):
        self.rejected += 1


def integrate(field: Field, z0: torch.Tensor, config: SolverConfig = SolverConfig(), *,
              trajectory_times: tp.Optional[tp.Sequence[float]] = None, record_steps: bool = False,
              progress: tp.Optional[Progress] = None) -> SolveResult:
    """Solve dz/dt = field(t, z) from z0 at t=0 to `config.end_time`.

    `trajectory_times`: latents to return at these times (dense output for adaptive methods; linear
    interpolation between steps for fixed-step ones; both exact on accepted step boundaries). They
    do not change the steps taken. `record_steps`: also return the latents at the start of every
    accepted step plus the final latents (for trajectory plots).
    """
    device, end = z0.device, config.end_time
    counter = _CountingField(field, config.max_nfe, progress, record_steps)
    times = sorted({0.0, end, *(min(max(float(t), 0.0), end) for t in (trajectory_times or ()))})
    t_out = torch.tensor(times, dtype=torch.float32, device=device)
    try:
        if config.method == BESPOKE:
            out = _integrate_bespoke(counter, z0, config, t_out)
        elif config.is_fixed_step:
            grid = time_grid(config.schedule, config.steps, end, device=device)
            counter.callback_step = counter.on_accepted_step  # every fixed step is accepted
            options = {"grid_constructor": lambda func, y0, t: grid}
            with torch.no_grad():
                out = odeint(counter, z0, t_out, method=config.method, options=options)
        else:
            counter.callback_accept_step = counter.on_accepted_step
            counter.callback_reject_step = counter.on_rejected_step
            with torch.no_grad():
                out = odeint(counter, z0, t_out, method=config.method, rtol=config.rtol, atol=config.atol)
    except MaxNFEExceeded as err:
        # the accepted steps so far (with `record_steps`): a capped run can still be drawn
        if record_steps and counter.states:
            err.partial = Trajectory([float(s) for s, _ in counter.steps], torch.stack(counter.states).cpu())
        raise
    step_times = torch.stack([s for s, _ in counter.steps]).tolist() if counter.steps else []
    step_sizes = torch.stack([d for _, d in counter.steps]).tolist() if counter.steps else []
    trajectory = None
    if trajectory_times is not None or record_steps:
        pairs: tp.List[tp.Tuple[float, torch.Tensor]] = []
        if record_steps:
            pairs += zip([*step_times, end], [*counter.states, out[-1]])
        if trajectory_times is not None:
            pairs += zip(times, out)
        pairs.sort(key=lambda p: p[0])  # stable: step states before requested ones at equal times
        trajectory = Trajectory([float(t) for t, _ in pairs], torch.stack([z for _, z in pairs]).cpu())
    return SolveResult(
        z1=out[-1], nfe=counter.nfe,
        t_evals=torch.stack(counter.t_evals).tolist() if counter.t_evals else [],
        step_times=step_times, step_sizes=step_sizes, rejected=counter.rejected, trajectory=trajectory)


def _integrate_bespoke(counter: _CountingField, z0: torch.Tensor, config: SolverConfig,
                       t_out: torch.Tensor) -> torch.Tensor:
    """The `bns` steps, with outputs at `t_out` interpolated linearly between steps (as torchdiffeq's
    fixed-grid methods do)."""
    grid = time_grid(config.schedule, config.steps, config.end_time, device=z0.device)
    states, velocities = [z0], []
    with torch.no_grad():
        for i, (a, b) in enumerate(config.coefficients):
            counter.on_accepted_step(grid[i], states[i], grid[i + 1] - grid[i])
            velocities.append(counter(grid[i], states[i]))
            z = a[0] * states[0]
            for j in range(1, i + 1):
                z = z + a[j] * states[j]
            for j in range(i + 1):
                z = z + b[j] * velocities[j]
            states.append(z)
        stacked = torch.stack(states)
        out = []
        for t in t_out:
            k = int(torch.searchsorted(grid, t, right=True).clamp(1, len(grid) - 1)) - 1
            u = ((t - grid[k]) / (grid[k + 1] - grid[k])).clamp(0.0, 1.0)
            out.append(stacked[k] + u * (stacked[k + 1] - stacked[k]))
    return torch.stack(out)
