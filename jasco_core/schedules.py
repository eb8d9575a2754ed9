"""Time grids of the fixed-step solvers: where on [0, end] the steps fall.

A schedule is a warp `f: [0, 1] -> [0, 1]` (increasing, f(0) = 0, f(1) = 1) applied to uniform
steps, or an explicit list of times:

- `"uniform"`: equal steps (the default; exactly `torch.linspace(0, end, steps + 1)`).
- `"sway=S"`, S in [-1, 1]: sway sampling (F5-TTS), f(u) = u + S (cos(pi u / 2) - 1 + u); S < 0 puts
  more steps near the noise (t = 0), where a guided flow's trajectories bend most.
- `"cosine"`: f(u) = (1 - cos(pi u)) / 2, small steps at both ends.
- `"power=P"`, P in (0, 5]: f(u) = u ** P; P > 1 crowds the steps near t = 0.
- a tuple of times `(0, t1, ..., end)`, strictly increasing (e.g. a grid fitted to a model), or
  the same as text: `"0, 0.1, 0.35, 1"`.

`check_schedule` normalises and validates a schedule; `time_grid` returns the times;
`schedule_text` writes one back as text.
"""
from __future__ import annotations

import math
import re
import typing as tp

import torch

from .errors import FieldError, describe_value

__all__ = ["Schedule", "SCHEDULE_FORM", "check_schedule", "schedule_text", "time_grid", "warp"]

Schedule = tp.Union[str, tp.Tuple[float, ...]]
SCHEDULE_FORM = ("'uniform', 'sway=S' (S from -1 to 1), 'cosine', 'power=P' (P in (0, 5]) or a list of times "
                 "such as '0, 0.2, 0.5, 1'")


def check_schedule(schedule: tp.Any, error: tp.Type[FieldError] = FieldError) -> Schedule:
    """A schedule in its normal form ('sway=-1', a tuple of floats), or `error` (field `solver.schedule`)."""
    field = "solver.schedule"
    if schedule is None:
        return "uniform"
    if isinstance(schedule, str) and "," in schedule:
        try:
            times = [float(t) for t in schedule.strip().strip("[]()").split(",")]
        except ValueError:
            raise error(field, f"expected {SCHEDULE_FORM}, got {schedule!r}") from None
        return check_schedule(times, error)
    if isinstance(schedule, str):
        text = schedule.strip().lower().replace(" ", "")
        match = re.fullmatch(r"(uniform|cosine|sway|power)(?:[=:]([-+0-9.eE]+))?", text)
        if not match:
            raise error(field, f"expected {SCHEDULE_FORM}, got {schedule!r}")
        name, value = match.groups()
        if name in ("uniform", "cosine"):
            if value is not None:
                raise error(field, f"{name} takes no coefficient, got {schedule!r}")
            return name
        try:
            number = float(value) if value is not None else (-1.0 if name == "sway" else 2.0)
        except ValueError:
            raise error(field, f"expected {SCHEDULE_FORM}, got {schedule!r}") from None
        if name == "sway" and not -1.0 <= number <= 1.0:
            raise error(field, f"the sway coefficient must be from -1 to 1 (monotone steps), got {number:g}")
        if name == "power" and not 0.0 < number <= 5.0:
            raise error(field, f"the power must be in (0, 5], got {number:g}")
        return f"{name}={number:g}"
    if isinstance(schedule, (list, tuple)):
        try:
            times = tuple(float(t) for t in schedule)
        except (TypeError, ValueError):
            raise error(field, f"expected a list of numbers, got {describe_value(schedule)}") from None
        if len(times) < 2 or times[0] != 0.0 or any(not math.isfinite(t) for t in times):
            raise error(field, f"a list of times must start at 0 and hold at least 2 finite times, got {list(times)}")
        if any(b <= a for a, b in zip(times, times[1:])) or times[-1] > 1.0:
            raise error(field, f"a list of times must increase strictly up to at most 1, got {list(times)}")
        return times
    raise error(field, f"expected {SCHEDULE_FORM}, got {describe_value(schedule)}")


def schedule_text(schedule: Schedule) -> str:
    """A schedule as `check_schedule` reads it back: its name, or its times joined by commas."""
    if isinstance(schedule, tuple):
        return ", ".join(f"{t:.6g}" for t in schedule)
    return str(schedule)


def warp(schedule: str, u: torch.Tensor) -> torch.Tensor:
    """f(u) of a named schedule, for u in [0, 1]."""
    name, _, value = schedule.partition("=")
    if name == "uniform":
        return u
    if name == "cosine":
        return (1 - torch.cos(math.pi * u)) / 2
    if name == "sway":
        s = float(value)
        return u + s * (torch.cos(math.pi / 2 * u) - 1 + u)
    if name == "power":
        return u ** float(value)
    raise ValueError(f"unknown schedule {schedule!r}")


def time_grid(schedule: Schedule, steps: int, end: float, device: tp.Union[str, torch.device, None] = None) -> torch.Tensor:
    """The `steps + 1` times from 0 to `end` (float32). An explicit list is used as it is (its
    last time is the end)."""
    if isinstance(schedule, tuple):
        return torch.tensor(schedule, dtype=torch.float32, device=device)
    if schedule == "uniform":
        return torch.linspace(0.0, end, steps + 1, dtype=torch.float32, device=device)
    u = torch.linspace(0.0, 1.0, steps + 1, dtype=torch.float64)
    grid = (warp(schedule, u) * end).to(torch.float32)
    grid[0], grid[-1] = 0.0, float(end)
    return grid.to(device)
