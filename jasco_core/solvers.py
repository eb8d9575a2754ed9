"""Integrate a vector field from noise (t=0) to data (t=1) with `torchdiffeq.odeint`.

One entry point, `integrate(field, z0, SolverConfig(...))`; the field is any callable `f(t, z)`.

Fixed-step methods (`euler`, `midpoint`, `rk4`) take `steps` uniform steps on [0, 1]. Adaptive
methods (`dopri5`, `bosh3`, `adaptive_heun`) control the step size with `rtol`/`atol` and, like the
original JASCO sampler, stop at t = 1 - 1e-5 rather than 1 (`SolverConfig.t_end` overrides it).
Every run reports the number of field evaluations (NFE), the time of each evaluation, the accepted
steps (start time and size), optional latents at chosen times, and calls `progress(t, nfe)`.
`max_nfe` stops a runaway adaptive solve with `MaxNFEExceeded` instead of hanging.
"""
from __future__ import annotations

import dataclasses
import typing as tp

import torch
from torchdiffeq import odeint

FIXED_STEP_METHODS = {"euler": 1, "midpoint": 2, "rk4": 4}  # method -> field evaluations per step
ADAPTIVE_METHODS = ("dopri5", "bosh3", "adaptive_heun")
METHODS = (*FIXED_STEP_METHODS, *ADAPTIVE_METHODS)
ADAPTIVE_T_END = 1.0 - 1e-5

Field = tp.Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
Progress = tp.Callable[[float, int], None]


class SolverConfigError(ValueError):
    """Invalid solver settings (field `solver`)."""

    field = "solver"


class MaxNFEExceeded(RuntimeError):
    """The solve needed more field evaluations than `max_nfe` allows."""


@dataclasses.dataclass(frozen=True)
class SolverConfig:
    """How to integrate. `steps` is used by fixed-step methods, `rtol`/`atol` by adaptive ones."""

    method: str = "dopri5"
    steps: int = 10
    rtol: float = 1e-5
    atol: float = 1e-5
    max_nfe: int = 1000
    t_end: tp.Optional[float] = None  # None: 1.0 for fixed-step methods, 1 - 1e-5 for adaptive ones

    def __post_init__(self):
        if self.method not in METHODS:
            raise SolverConfigError(f"solver: method must be one of {', '.join(METHODS)}; got {self.method!r}")
        if self.is_fixed_step and not (isinstance(self.steps, int) and 1 <= self.steps <= 10_000):
            raise SolverConfigError(f"solver: steps must be an integer in 1..10000, got {self.steps!r}")
        if not self.is_fixed_step:
            for name in ("rtol", "atol"):
                value = getattr(self, name)
                if not (isinstance(value, (int, float)) and 0 < value < 1):
                    raise SolverConfigError(f"solver: {name} must be a number in (0, 1), e.g. 1e-4; got {value!r}")
        if not (isinstance(self.max_nfe, int) and self.max_nfe >= 1):
            raise SolverConfigError(f"solver: max_nfe must be a positive integer, got {self.max_nfe!r}")
        if self.t_end is not None and not 0 < self.t_end <= 1:
            raise SolverConfigError(f"solver: t_end must be in (0, 1], got {self.t_end!r}")
        if self.is_fixed_step and self.steps * FIXED_STEP_METHODS[self.method] > self.max_nfe:
            raise SolverConfigError(f"solver: {self.method} with {self.steps} steps needs "
                                    f"{self.steps * FIXED_STEP_METHODS[self.method]} evaluations, above max_nfe={self.max_nfe}")

    @property
    def is_fixed_step(self) -> bool:
        return self.method in FIXED_STEP_METHODS

    @property
    def end_time(self) -> float:
        if self.t_end is not None:
            return float(self.t_end)
        return 1.0 if self.is_fixed_step else ADAPTIVE_T_END

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: tp.Mapping[str, tp.Any]) -> "SolverConfig":
        unknown = set(d) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise SolverConfigError(f"solver: unknown keys {sorted(unknown)}")
        return cls(**d)


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
                f"solver: stopped after max_nfe={self.max_nfe} field evaluations at t={float(t):.4f}; "
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
    if config.is_fixed_step:
        grid = torch.linspace(0.0, end, config.steps + 1, dtype=torch.float32, device=device)
        counter.callback_step = counter.on_accepted_step  # every fixed step is accepted
        options = {"grid_constructor": lambda func, y0, t: grid}
        with torch.no_grad():
            out = odeint(counter, z0, t_out, method=config.method, options=options)
    else:
        counter.callback_accept_step = counter.on_accepted_step
        counter.callback_reject_step = counter.on_rejected_step
        with torch.no_grad():
            out = odeint(counter, z0, t_out, method=config.method, rtol=config.rtol, atol=config.atol)
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
