"""Fit a model's few-step solver to its own trajectories: an optimised time grid.

    python -m jasco_core.solver_fit [--model embedded] [--method midpoint --steps 5] [--pieces 32]
        [--iterations 60] [--work runs/solver_fit] [--write-bundle]

The fast solver of a model is a fixed-step method (midpoint, 5 steps = 10 evaluations by default)
on a time grid fitted to that model. Targets: the latents of the reference solver (dopri5,
rtol = atol = 1e-5) on `--pieces` rendered, fully conditioned pieces (text, chords, melody, drums;
render seeds from 2,000,000, disjoint from training (< 1,000,000) and from the held-out
evaluation pieces (1,000,000 +)). The grid's n steps are softmax(theta) * end (n free numbers,
always increasing, always ending at the end time), started from sway sampling (S = -0.8, the best
analytic grid measured) and optimised with Adam on the mean RMSE between the solver's final
latents and the targets, back-propagated through the model (the same loss the acceptance is
measured with). A quarter of the pieces are kept for validation; the grid with the lowest
validation RMSE is kept (never worse than the starting grid's).

Written by hand because no maintained library fits a time grid to a given network's ODE (the
published methods, OSS and Bespoke solvers, ship research code only); the solver steps are the
exact formulas torchdiffeq uses, so the fitted grid runs through `torchdiffeq.odeint` unchanged
(`tests/test_solver_fit.py` checks both agree).

`--work` keeps the targets and the optimiser state: an interrupted fit resumes where it stopped.
`--write-bundle` stores the result as `fitted_solver` in the bundle folder's `bundle.json` (the
embedded model's, or a folder given as `--model`); otherwise, and always for released models, it
goes to `fitted_solvers/<model>.json` in the user cache, where `load_bundle` finds it.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import time
import typing as tp

import torch

from .schedules import time_grid
from .solvers import FIXED_STEP_METHODS, PRESETS, SolverConfig, integrate

__all__ = ["FIT_FIRST_SEED", "FitProblem", "fit_schedule", "solve_differentiable", "step", "main"]

FIT_FIRST_SEED = 2_000_000
START_SCHEDULE = "sway=-0.8"

Field = tp.Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


@dataclasses.dataclass
class FitProblem:
    """One conditioned piece: its guided field, its noise and the reference latents."""
    field: Field
    z0: torch.Tensor
    target: torch.Tensor


def step(method: str, field: Field, z: torch.Tensor, t0: torch.Tensor, t1: torch.Tensor) -> torch.Tensor:
    """One fixed step from t0 to t1, with torchdiffeq's formulas (its rk4 is the 3/8 rule)."""
    dt = t1 - t0
    if method == "euler":
        return z + dt * field(t0, z)
    if method == "midpoint":
        f0 = field(t0, z)
        return z + dt * field(t0 + dt / 2, z + f0 * (dt / 2))
    if method == "rk4":
        k1 = field(t0, z)
        k2 = field(t0 + dt / 3, z + dt * k1 / 3)
        k3 = field(t0 + dt * 2 / 3, z + dt * (k2 - k1 / 3))
        k4 = field(t1, z + dt * (k1 - k2 + k3))
        return z + dt * (k1 + 3 * (k2 + k3) + k4) / 8
    raise ValueError(f"no differentiable step for {method!r}; expected one of {', '.join(FIXED_STEP_METHODS)}")


def solve_differentiable(method: str, field: Field, z0: torch.Tensor, times: torch.Tensor) -> torch.Tensor:
    """The final latents of a fixed-step solve on `times`, differentiable in the times."""
    z = z0
    for k in range(len(times) - 1):
        z = step(method, field, z, times[k], times[k + 1])
    return z


def grid_from_logits(logits: torch.Tensor, end: float) -> torch.Tensor:
    """0, then the cumulative softmax of the logits times `end`: increasing, last time exactly `end`."""
    increments = torch.softmax(logits, dim=0) * end
    times = torch.cat([torch.zeros(1, dtype=increments.dtype), torch.cumsum(increments, 0)])
    return torch.cat([times[:-1], torch.full((1,), float(end), dtype=times.dtype)])


def logits_from_grid(grid: torch.Tensor) -> torch.Tensor:
    return torch.log(torch.diff(grid.double()))


def rmse(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return torch.sqrt(torch.mean((a.float() - b.float()) ** 2))


def mean_rmse(config: SolverConfig, problems: tp.Sequence[FitProblem]) -> float:
    """Mean RMSE to the targets of `config` run by `integrate` (torchdiffeq), no gradients."""
    return float(sum(float(rmse(integrate(p.field, p.z0, config).z1, p.target)) for p in problems) / len(problems))


def fit_schedule(problems: tp.Sequence[FitProblem], validation: tp.Sequence[FitProblem], *, method: str = "midpoint",
                 steps: int = 5, iterations: int = 60, lr: float = 0.05, batch: int = 6, seed: int = 0,
                 state: tp.Optional[dict] = None, on_iteration: tp.Optional[tp.Callable[[dict], None]] = None) -> dict:
    """Optimise the time grid of `method` with `steps` steps; returns the fit's state (JSON-able):
    `best` (schedule tuple, validation RMSE), `start` (the sway grid's validation RMSE), `history`.

    `state` resumes a previous fit (`on_iteration` receives the state after every iteration)."""
    end = 1.0
    if state is None:
        start = time_grid(START_SCHEDULE, steps, end).double()
        start_cfg = SolverConfig(method, steps=steps, schedule=START_SCHEDULE)
        start_rmse = mean_rmse(start_cfg, validation)
        state = {"method": method, "steps": steps, "iteration": 0, "logits": logits_from_grid(start).tolist(),
                 "adam": None, "start": {"schedule": START_SCHEDULE, "validation_rmse": start_rmse},
                 "best": {"schedule": start.tolist(), "validation_rmse": start_rmse, "iteration": 0}, "history": []}
    logits = torch.tensor(state["logits"], dtype=torch.float64, requires_grad=True)
    opt = torch.optim.Adam([logits], lr=lr)
    if state["adam"] is not None:
        opt.load_state_dict(_adam_from_json(state["adam"]))
    g = torch.Generator().manual_seed(seed)
    for _ in range(state["iteration"]):     # the same mini-batches after a resume
        torch.randperm(len(problems), generator=g)
    while state["iteration"] < iterations:
        started = time.perf_counter()
        order = torch.randperm(len(problems), generator=g)[:batch].tolist()
        opt.zero_grad()
        losses = []
        for i in order:
            p = problems[i]
            with torch.enable_grad():
                times = grid_from_logits(logits, end)
                z1 = solve_differentiable(method, p.field, p.z0, times.float())
                loss = rmse(z1, p.target) / len(order)
                loss.backward()
            losses.append(float(loss.detach()) * len(order))
        opt.step()
        schedule = tuple(float(t) for t in grid_from_logits(logits.detach(), end))
        val = mean_rmse(SolverConfig(method, steps=steps, schedule=schedule), validation)
        state["iteration"] += 1
        state["logits"] = logits.detach().tolist()
        state["adam"] = _adam_to_json(opt.state_dict())
        state["history"].append({"iteration": state["iteration"], "train_rmse": sum(losses) / len(losses),
                                 "validation_rmse": val, "seconds": time.perf_counter() - started})
        if val < state["best"]["validation_rmse"]:
            state["best"] = {"schedule": list(schedule), "validation_rmse": val, "iteration": state["iteration"]}
        if on_iteration is not None:
            on_iteration(state)
    return state


def _adam_to_json(sd: dict) -> dict:
    return {"state": {str(k): {n: (v.tolist() if torch.is_tensor(v) else v) for n, v in s.items()}
                      for k, s in sd["state"].items()}, "param_groups": sd["param_groups"]}


def _adam_from_json(d: dict) -> dict:
    return {"state": {int(k): {n: torch.tensor(v, dtype=torch.float32 if n == "step" else torch.float64)
                               for n, v in s.items()} for k, s in d["state"].items()},
            "param_groups": d["param_groups"]}


# -- problems from rendered pieces ---------------------------------------------------------------
def build_problems(pipe, seeds: tp.Sequence[int], work: tp.Optional[str], log=print) -> tp.List[FitProblem]:
    """Guided fields (the model's default guidance) and reference latents of rendered pieces.

    Reference latents are cached in `work` (one file per seed), so a resumed fit does not redo them."""
    from .guidance import build_guided_field
    from .training.render import render_piece

    reference = PRESETS["reference"]
    problems = []
    for n, seed in enumerate(seeds):
        piece = render_piece(seed, duration=pipe.defaults.duration, sample_rate=pipe.sample_rate)
        prepared = pipe.prepare_conditions(piece.description, **piece.conditions(), duration=pipe.defaults.duration)
        field = build_guided_field(pipe.model, prepared.inputs, pipe.defaults.guidance, 1, prepared.frames)
        z0 = pipe.initial_noise(seed, 1, prepared.frames)
        path = os.path.join(work, f"target_{seed}.pt") if work else None
        if path and os.path.exists(path):
            target = torch.load(path)
        else:
            started = time.perf_counter()
            with torch.no_grad():
                target = integrate(field, z0, reference).z1.detach().cpu()
            if path:
                torch.save(target, path)
            log(f"reference {n + 1}/{len(seeds)} (seed {seed}): {time.perf_counter() - started:.1f} s")
        problems.append(FitProblem(field, z0, target.to(z0.device)))
    return problems


def fitted_entry(state: dict, model: str, pieces: int) -> dict:
    """What a bundle stores: the solver and how it was fitted."""
    best = state["best"]
    solver = SolverConfig(state["method"], steps=state["steps"], schedule=tuple(best["schedule"]))
    return {"solver": solver.to_dict(), "validation_rmse": round(best["validation_rmse"], 5),
            "start": state["start"], "fitted_on": f"{pieces} rendered pieces of {model} (render seeds from "
            f"{FIT_FIRST_SEED}), reference dopri5 rtol = atol = 1e-5, default guidance",
            "iterations": state["iteration"]}


def main(argv: tp.Optional[tp.Sequence[str]] = None) -> None:
    from .checkpoints.fitted import write_fitted_solver
    from .pipeline import load_pipeline

    ap = argparse.ArgumentParser(prog="python -m jasco_core.solver_fit", description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="embedded")
    ap.add_argument("--method", default="midpoint", choices=list(FIXED_STEP_METHODS))
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--pieces", type=int, default=32)
    ap.add_argument("--iterations", type=int, default=60)
    ap.add_argument("--batch", type=int, default=6)
    ap.add_argument("--lr", type=float, default=0.05)
    ap.add_argument("--device", default=None)
    ap.add_argument("--work", default=None, help="folder for targets and optimiser state (resumable)")
    ap.add_argument("--write-bundle", action="store_true", help="store the result in the bundle folder's bundle.json")
    args = ap.parse_args(argv)
    torch.manual_seed(0)
    pipe = load_pipeline(args.model, device=args.device)
    if args.work:
        os.makedirs(args.work, exist_ok=True)
    seeds = list(range(FIT_FIRST_SEED, FIT_FIRST_SEED + args.pieces))
    problems = build_problems(pipe, seeds, args.work)
    n_val = max(1, len(problems) // 4)
    train, validation = problems[:-n_val], problems[-n_val:]
    state_path = os.path.join(args.work, "state.json") if args.work else None
    state = None
    if state_path and os.path.exists(state_path):
        with open(state_path) as f:
            state = json.load(f)
        if (state["method"], state["steps"]) != (args.method, args.steps):
            raise SystemExit(f"{state_path} holds a fit of {state['method']}:{state['steps']}; use another --work")

    def report(s):
        h = s["history"][-1]
        print(f"iteration {h['iteration']}/{args.iterations}: train RMSE {h['train_rmse']:.4f}, validation RMSE "
              f"{h['validation_rmse']:.4f} (best {s['best']['validation_rmse']:.4f}), {h['seconds']:.0f} s", flush=True)
        if state_path:
            with open(state_path + ".tmp", "w") as f:
                json.dump(s, f)
            os.replace(state_path + ".tmp", state_path)

    state = fit_schedule(train, validation, method=args.method, steps=args.steps, iterations=args.iterations,
                         lr=args.lr, batch=args.batch, state=state, on_iteration=report)
    entry = fitted_entry(state, pipe.name, len(problems))
    print(f"start ({START_SCHEDULE}): validation RMSE {state['start']['validation_rmse']:.4f}")
    print(f"fitted: validation RMSE {state['best']['validation_rmse']:.4f}, times "
          f"{', '.join(f'{t:.4f}' for t in state['best']['schedule'])}")
    where = write_fitted_solver(args.model, pipe.name, entry, bundle=args.write_bundle)
    print(f"wrote {where}")


if __name__ == "__main__":
    main()
