"""Fit a model's fast solver to its own trajectories: a bespoke non-stationary multistep solver.

    python -m jasco_core.solver_fit [--model embedded] [--steps 10] [--pieces 32] [--work DIR]
        [--write-bundle] [--guidance ALL TEXT]

The fast solver of a model (`SolverConfig(method="bns")`, the `"fast"` preset once fitted) takes
one field evaluation per step on a time grid t_0 = 0 < ... < t_n = 1 and forms each new state
from every earlier state and evaluation:

    z_{i+1} = sum_{j<=i} a_ij z_j + sum_{j<=i} b_ij v_j,    v_j = v_theta(z_j, t_j)

(Euler is a_ii = 1, b_ii = t_{i+1} - t_i; Adams-Bashforth and the exponential integrators are
other fixed choices). As in bespoke non-stationary (BNS) solvers, the coefficients are fitted to
the model's own trajectories: the reference solver (dopri5, rtol = atol = 1e-5, the original
sampler) on `--pieces` rendered, fully conditioned pieces (text, chords, melody, drums; render
seeds from 2,000,000: disjoint from training (< 1,000,000) and from the held-out evaluation
pieces (1,000,000 +)), with the model's default guidance or `--guidance`. The fit is sequential
least squares: step i's 2(i + 1) coefficients minimise, over the training pieces, the distance of z_{i+1} to the
reference trajectory at t_{i+1} (the last step: to the reference's final latents), given the
states and evaluations of the fitted steps before it. Each step is a small linear problem (a
ridge keeps it well posed; it pulls towards Euler), so the fit needs only the solver's own n
evaluations per piece, no gradients. The grid is chosen among sway grids (S from -1 to 0) by the
mean RMSE to the reference final latents on the validation quarter of the pieces; the candidates
also move the last step's start later (0.9 to 0.98, the other steps swayed before it), as the
last step carries most of the error of a grid crowded near the noise.

Written by hand: the published BNS and OSS solvers ship research code only, and none fits a given
network's ODE. A solver fits the field of one guidance: `--guidance ALL TEXT` fits another and
stores it as a variant beside the default-guidance solver; a request runs the variant fitted
nearest its weights (`checkpoints.fitted`). `--work` keeps the reference trajectories (one file per piece): a second run
redoes only the cheap fit. `--write-bundle` stores the result as `fitted_solver` in the bundle
folder's `bundle.json` (the embedded model's, or a folder given as `--model`); otherwise, and for
released models, it goes to the user cache, where `load_bundle` finds it
(`jasco_core.checkpoints.fitted`).
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import time
import typing as tp

import torch

from .guidance import Guidance, build_guided_field
from .schedules import time_grid
from .solvers import BESPOKE, PRESETS, SolverConfig, integrate

__all__ = ["FIT_FIRST_SEED", "FitProblem", "fit_bespoke", "mean_rmse", "candidate_grids", "lattice_times",
           "choose_grid", "write_fitted_solver", "main"]

FIT_FIRST_SEED = 2_000_000
SWAY_CANDIDATES = (-1.0, -0.8, -0.6, -0.4, 0.0)
#: where the last step may start instead of the sway grid's own last time (the last step carries
#: most of a few-step solver's error: the field changes fastest near the data)
LAST_STEP_STARTS = (0.9, 0.94, 0.96, 0.98)
LAST_STEP_SWAYS = (-1.0, -0.8)
#: reference states are stored at t = k / LATTICE; candidate grids are rounded to it
LATTICE = 200
RIDGE = 1e-6          # relative to the mean diagonal of each step's Gram matrix

Field = tp.Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


@dataclasses.dataclass
class FitProblem:
    """One conditioned piece: its guided field, its noise, and the reference trajectory (latents at
    `times`, the last one the reference's final latents)."""
    field: Field
    z0: torch.Tensor
    times: tp.List[float]
    states: torch.Tensor      # [len(times), B, T, D]

    @property
    def target(self) -> torch.Tensor:
        return self.states[-1]

    def at(self, t: float) -> torch.Tensor:
        """The reference latents at the stored time nearest `t` (the grids' times are stored exactly)."""
        k = min(range(len(self.times)), key=lambda i: abs(self.times[i] - t))
        return self.states[k]


def rmse(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(torch.sqrt(torch.mean((a.double() - b.double()) ** 2)))


def mean_rmse(config: SolverConfig, problems: tp.Sequence[FitProblem]) -> float:
    """Mean RMSE of `config`'s final latents to the reference's, over `problems`."""
    return sum(rmse(integrate(p.field, p.z0, config).z1, p.target) for p in problems) / len(problems)


def fit_bespoke(problems: tp.Sequence[FitProblem], grid: tp.Sequence[float], ridge: float = RIDGE) -> SolverConfig:
    """The `bns` solver on `grid` (0, ..., 1) fitted to `problems` (see the module docstring)."""
    times = [float(t) for t in grid]
    steps = len(times) - 1
    states = [[p.z0.double()] for p in problems]
    velocities: tp.List[tp.List[torch.Tensor]] = [[] for _ in problems]
    coefficients = []
    with torch.no_grad():
        for i in range(steps):
            t = torch.tensor(times[i], dtype=torch.float32)
            for k, p in enumerate(problems):
                velocities[k].append(p.field(t, states[k][i].to(p.z0.dtype)).double())
            n = 2 * (i + 1)
            gram = torch.zeros(n, n, dtype=torch.float64)
            rhs = torch.zeros(n, dtype=torch.float64)
            for k, p in enumerate(problems):
                features = torch.stack([*states[k], *velocities[k]]).reshape(n, -1)
                gram += features @ features.T
                rhs += features @ p.at(times[i + 1]).double().reshape(-1)
            euler = torch.zeros(n, dtype=torch.float64)
            euler[i], euler[2 * i + 1] = 1.0, times[i + 1] - times[i]
            lam = ridge * float(gram.diagonal().mean())
            x = torch.linalg.solve(gram + lam * torch.eye(n, dtype=torch.float64), rhs + lam * euler)
            coefficients.append((tuple(x[:i + 1].tolist()), tuple(x[i + 1:].tolist())))
            for k in range(len(problems)):
                features = [*states[k], *velocities[k]]
                states[k].append(sum(w * f for w, f in zip(x.tolist(), features)))
    return SolverConfig(BESPOKE, steps=steps, schedule=tuple(times), coefficients=tuple(coefficients))


def lattice_times() -> tp.List[float]:
    """The times the reference trajectories are stored at (every candidate grid's times among them)."""
    return [k / LATTICE for k in range(LATTICE + 1)]


def _on_lattice(times) -> tp.Optional[tp.Tuple[float, ...]]:
    grid = tuple(round(float(t) * LATTICE) / LATTICE for t in times)
    return grid if all(b > a for a, b in zip(grid, grid[1:])) else None


def candidate_grids(steps: int) -> tp.Dict[str, tp.Tuple[float, ...]]:
    """Sway grids (S from -1 to 0), and sway grids whose last step starts at a later time (the
    other steps swayed on [0, start]), all rounded to the lattice of stored reference times."""
    grids = {f"sway={s:g}" if s else "uniform": _on_lattice(time_grid(f"sway={s:g}", steps, 1.0).double())
             for s in SWAY_CANDIDATES}
    if steps >= 3:
        for s in LAST_STEP_SWAYS:
            for start in LAST_STEP_STARTS:
                head = time_grid(f"sway={s:g}", steps - 1, start).double().tolist()
                grids[f"sway={s:g}, last step from {start:g}"] = _on_lattice([*head, 1.0])
    return {name: grid for name, grid in grids.items() if grid is not None}


def choose_grid(train: tp.Sequence[FitProblem], validation: tp.Sequence[FitProblem], steps: int,
                log: tp.Callable[[str], None] = print) -> tp.Tuple[SolverConfig, dict]:
    """Fit on every candidate grid; keep the one with the lowest validation RMSE. Returns the
    solver and a report {grid name: validation RMSE}."""
    report, best = {}, None
    for name, grid in candidate_grids(steps).items():
        started = time.perf_counter()
        solver = fit_bespoke(train, grid)
        report[name] = mean_rmse(solver, validation)
        log(f"bns {steps} steps on {name}: validation RMSE {report[name]:.4f} ({time.perf_counter() - started:.0f} s)")
        if best is None or report[name] < report[best[0]]:
            best = (name, solver)
    return best[1], {"grids": report, "chosen": best[0]}


# -- problems from rendered pieces ---------------------------------------------------------------
def build_problems(pipe, seeds: tp.Sequence[int], times: tp.Sequence[float], work: tp.Optional[str],
                   log: tp.Callable[[str], None] = print,
                   guidance: tp.Optional[Guidance] = None) -> tp.List[FitProblem]:
    """Guided fields (`guidance`, default: the model's default guidance) and reference trajectories at
    `times` of rendered pieces, cached in `work` (one file per seed, guidance and set of times)."""
    from .training.render import render_piece

    reference, problems = PRESETS["reference"], []
    guidance = pipe.defaults.guidance if guidance is None else guidance
    key = f"{len(times)}_{abs(hash(tuple(round(t, 9) for t in times))) % 10**8}"
    if guidance.weights() != pipe.defaults.guidance.weights():
        key += "_g" + "_".join(f"{w:g}" for w in guidance.weights().values())
    for n, seed in enumerate(seeds):
        piece = render_piece(seed, duration=pipe.defaults.duration, sample_rate=pipe.sample_rate)
        prepared = pipe.prepare_conditions(piece.description, **piece.conditions(), duration=pipe.defaults.duration)
        field = build_guided_field(pipe.model, prepared.inputs, guidance, 1, prepared.frames)
        z0 = pipe.initial_noise(seed, 1, prepared.frames)
        path = os.path.join(work, f"trajectory_{seed}_{key}.pt") if work else None
        if path and os.path.exists(path):
            stored = torch.load(path)
        else:
            started = time.perf_counter()
            solved = integrate(field, z0, reference, trajectory_times=times)
            stored = {"times": solved.trajectory.times, "states": solved.trajectory.latents}
            if path:
                torch.save(stored, path)
            log(f"reference {n + 1}/{len(seeds)} (seed {seed}): {solved.nfe} NFE, {time.perf_counter() - started:.1f} s")
        problems.append(FitProblem(field, z0, stored["times"], stored["states"].to(z0.device)))
    return problems


def fitted_entry(solver: SolverConfig, report: dict, model: str, pieces: int, validation: float,
                 baseline: float, guidance: tp.Optional[tp.Dict[str, float]] = None) -> dict:
    """What a bundle stores: the solver, the guidance weights it was fitted at, and how it was fitted."""
    entry = {"solver": solver.to_dict(), "validation_rmse": round(validation, 5),
             "baseline_validation_rmse": {"midpoint:5/sway=-0.8": round(baseline, 5)}, "grids": report["grids"],
             "fitted_on": f"{pieces} rendered pieces of {model} (render seeds from {FIT_FIRST_SEED}; a quarter kept "
                          "for validation), reference dopri5 rtol = atol = 1e-5"}
    if guidance is not None:
        entry["guidance"] = {k: round(float(v), 6) for k, v in guidance.items()}
    return entry


def write_fitted_solver(model_arg: str, model_name: str, entry: dict, *, bundle: bool, variant: bool = False) -> str:
    """Store a fitted solver: in the bundle folder's `bundle.json` when `bundle` (the embedded
    model, or `model_arg` is a bundle folder), else in the user cache. `variant`: add it to the
    stored solver's `variants` (it names the other guidance it was fitted at) instead of replacing
    the stored one. Returns the file written."""
    from .checkpoints.fitted import FITTED_KEY, add_variant, load_user_fitted, read_fitted_entry, write_user_fitted
    from .checkpoints.folder import BUNDLE_FILE, read_bundle_meta, write_json
    from .checkpoints.resolve import resolve_model
    from .errors import CheckpointError

    read_fitted_entry(entry, "the fitted solver")

    def merged(stored: tp.Optional[dict]) -> dict:
        if not variant:
            return entry if stored is None else {**entry, "variants": stored.get("variants", [])}
        if stored is None:
            raise CheckpointError("model", f"{model_name} has no fitted solver for its default guidance to add "
                                  "a variant to; fit that first (without --guidance)")
        return add_variant(stored, entry)

    if not bundle:
        return write_user_fitted(model_name, merged(load_user_fitted(model_name)[1]))
    source = resolve_model(model_arg, download=False)
    if source.kind != "bundle":
        raise CheckpointError("model", f"{model_arg!r} is not a bundle folder; a released model's fitted "
                              "solver goes to the user cache (leave out --write-bundle)")
    meta = read_bundle_meta(source.path)
    meta[FITTED_KEY] = merged(meta.get(FITTED_KEY))
    path = os.path.join(source.path, BUNDLE_FILE)
    write_json(path, meta)
    return path


def main(argv: tp.Optional[tp.Sequence[str]] = None) -> None:
    from .pipeline import load_pipeline

    ap = argparse.ArgumentParser(prog="python -m jasco_core.solver_fit", description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="embedded")
    ap.add_argument("--steps", type=int, default=10, help="field evaluations of the fitted solver")
    ap.add_argument("--pieces", type=int, default=32)
    ap.add_argument("--device", default=None)
    ap.add_argument("--work", default=None, help="folder for the reference trajectories (reused by a second run)")
    ap.add_argument("--write-bundle", action="store_true", help="store the result in the bundle folder's bundle.json")
    ap.add_argument("--guidance", nargs=2, type=float, metavar=("ALL", "TEXT"), default=None,
                    help="fit for these guidance weights (null = 1 - all - text) instead of the model's default; "
                         "the result is stored as a variant beside the default-guidance solver")
    args = ap.parse_args(argv)
    pipe = load_pipeline(args.model, device=args.device)
    guidance = pipe.defaults.guidance if args.guidance is None else Guidance(all=args.guidance[0], text=args.guidance[1])
    variant = guidance.weights() != pipe.defaults.guidance.weights()
    if args.work:
        os.makedirs(args.work, exist_ok=True)
    times = lattice_times()
    seeds = list(range(FIT_FIRST_SEED, FIT_FIRST_SEED + args.pieces))
    problems = build_problems(pipe, seeds, times, args.work, guidance=guidance)
    n_val = max(1, len(problems) // 4)
    train, validation = problems[:-n_val], problems[-n_val:]
    solver, report = choose_grid(train, validation, args.steps)
    final = mean_rmse(solver, validation)
    baseline = mean_rmse(PRESETS["fast"], validation)
    print(f"fitted {solver.label} on {report['chosen']}: validation RMSE {final:.4f} "
          f"(midpoint:5/sway=-0.8, the generic 'fast': {baseline:.4f})")
    entry = fitted_entry(solver, report, pipe.name, len(problems), final, baseline, guidance.weights())
    print(f"wrote {write_fitted_solver(args.model, pipe.name, entry, bundle=args.write_bundle, variant=variant)}")


if __name__ == "__main__":
    main()
