"""What a request will cost before it runs: field evaluations (NFE) and seconds on this machine.

The numbers come from the model's `gpu_budget.SpeedLog`, the record of what its completed
requests took on this server: seconds per NFE (scaled to the request's rows x frames), the NFE
adaptive solves took with the same settings, and the seconds of conditions and decoding. Before
the first request they are priors (said so in the text). Unlike `gpu_budget` (which asks ZeroGPU
for a time that must not run out) there is no safety margin: this is the expected cost.

`estimate` returns the numbers; `solver_cost_text` and `compare_cost_text` the Markdown the page
shows next to the solver settings and the Compare runs. Neither ever raises: a value the request
would refuse gives a short note instead, and the request itself reports the error.
"""
from __future__ import annotations

import math
import typing as tp

from jasco_core.errors import FieldError
from jasco_core.solvers import SolverConfig

from . import gpu_budget
from .gpu_budget import SpeedLog, solver_key

__all__ = ["Estimate", "estimate", "expected_nfe", "solver_key", "solver_cost_text", "compare_cost_text", "TIGHT_TOLERANCE"]

# gpu_budget's step prior must not run short (ZeroGPU stops a function at its time); an estimate
# should be central: dopri5 took 50 NFE at 1e-3 and 110 at 1e-5 on the embedded model (docs/sampler.md),
# half of gpu_budget's prior. The first run with the same settings replaces it by what it took.
PRIOR_STEP_SCALE = 0.5
TIGHT_TOLERANCE = 1e-6    # adaptive tolerances below this take hundreds to thousands of evaluations
LONG_SECONDS = 60.0       # a request expected to take longer than this is flagged


class Estimate(tp.NamedTuple):
    nfe: int              # over all windows
    seconds: float        # sampling + conditions + decoding
    measured: bool        # seconds per NFE measured on this server (else a prior from the model size)
    nfe_measured: bool    # NFE known (fixed steps, or an adaptive solve already seen with these settings)


def expected_nfe(solver: SolverConfig, seen: tp.Optional[int]) -> tp.Tuple[int, bool]:
    """NFE of one window, and whether it is known: exact for fixed steps, what a solve with the
    same settings took, else `gpu_budget`'s prior from the tolerance, centred (`PRIOR_STEP_SCALE`)."""
    nfe = gpu_budget.expected_nfe(solver, seen, margin=1.0, prior_scale=PRIOR_STEP_SCALE)
    return nfe, bool(solver.is_fixed_step or seen)


def estimate(speed: SpeedLog, solver: SolverConfig, duration: float, rows: int,
             kind: tp.Tuple[bool, bool] = (False, False)) -> Estimate:
    """The cost of one solve of `duration` seconds with `rows` model rows per evaluation
    (samples x active guidance terms)."""
    windows, frames = speed.windows(max(1, math.ceil(duration * speed.frame_rate)))
    nfe, known = expected_nfe(solver, speed.nfe_seen.get(solver_key(solver)))
    nfe *= windows
    per_nfe = speed.seconds_per_nfe(rows, frames)
    overhead = speed.overheads.get(kind, max(speed.overheads.values(), default=0.0))
    return Estimate(nfe, nfe * per_nfe + overhead, bool(speed.per_nfe), known)


def _seconds(s: float) -> str:
    return f"{s:.1f} s" if s < 60 else f"{s / 60:.1f} min"


def _warnings(solver: SolverConfig, est: Estimate) -> tp.List[str]:
    notes = []
    if not solver.is_fixed_step and min(solver.rtol, solver.atol) < TIGHT_TOLERANCE:
        notes.append(f"\u26a0 very tight tolerance ({min(solver.rtol, solver.atol):.0e}): adaptive solvers take "
                     f"hundreds to thousands of evaluations here, up to the NFE cap ({solver.max_nfe})")
    if est.seconds > LONG_SECONDS:
        notes.append(f"\u26a0 this will take about {_seconds(est.seconds)}")
    return notes


def solver_cost_text(speed: SpeedLog, make_solver: tp.Callable[[], SolverConfig], duration: tp.Any, samples: tp.Any,
                     terms: int) -> str:
    """'Cost: 10 NFE · ≈ 2.1 s here (0.17 s per NFE, measured)' for the solver controls."""
    try:
        solver = make_solver()
        seconds = float(duration)
        rows = max(1, int(samples or 1)) * terms
    except (FieldError, TypeError, ValueError):
        return "Cost: \u2014 (check the solver settings)"
    est = estimate(speed, solver, seconds, rows)
    per = est.seconds / max(est.nfe, 1)
    nfe = f"{est.nfe} NFE" if est.nfe_measured else f"\u2248 {est.nfe} NFE (estimated from the tolerance)"
    basis = "measured on this server" if est.measured else "a prior from the model size: no run measured yet"
    lines = [f"**Cost:** {nfe} \u00b7 \u2248 {_seconds(est.seconds)} here ({per:.2f} s per NFE, {basis})"]
    return "\n\n".join(lines + _warnings(solver, est))


def compare_cost_text(speed: SpeedLog, plan: tp.Sequence[tp.Tuple[str, SolverConfig]], duration: float,
                      terms: int) -> str:
    """One line per Compare run ('Euler 4: 4 NFE, ≈ 0.9 s') and the total."""
    rows, total_nfe, total = [], 0, 0.0
    warned: tp.List[str] = []
    for label, solver in plan:
        est = estimate(speed, solver, duration, terms)
        total_nfe += est.nfe
        total += est.seconds
        approx = "" if est.nfe_measured else "\u2248 "
        rows.append(f"{label}: {approx}{est.nfe} NFE, \u2248 {_seconds(est.seconds)}")
        warned += [w for w in _warnings(solver, est) if "tight" in w]
    head = f"**Cost:** {total_nfe} NFE in all, \u2248 {_seconds(total)} here"
    notes = ([f"\u26a0 about {_seconds(total)} in all"] if total > LONG_SECONDS else []) + warned[:1]
    return "\n\n".join([head, " \u00b7 ".join(rows), *notes])
