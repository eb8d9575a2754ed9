"""Several solvers on one request: same prompt, conditions and seed, one solve per `SolverConfig`.

    comparison = compare_solvers(pipe, ["euler:4", "euler:8", "dopri5:1e-5"], text="lofi beat", seed=0)
    for run in comparison.runs:
        print(run.solver.label, run.nfe, run.rmse)

Each run is `Pipeline.generate` with one sample and its trajectory. A run that needs more field
evaluations than its `max_nfe` allows is kept with its `MaxNFEExceeded` error, so the other runs
still count. The reference is the tightest run (`reference_index`: the adaptive run with the
smallest tolerance, else the run with the most evaluations); every finished run is measured by
the RMSE of its final latents against the reference's.
"""
from __future__ import annotations

import dataclasses
import random
import typing as tp

from .pipeline import GenerationResult, Pipeline
from .solvers import STEP_EVALUATIONS, MaxNFEExceeded, SolverConfig, SolverConfigError

__all__ = ["SolverRun", "Comparison", "compare_solvers", "reference_index"]

#: progress(run index, t, NFE so far), called at every field evaluation of every run
RunProgress = tp.Callable[[int, float, int], None]


@dataclasses.dataclass
class SolverRun:
    """One solver's run: its result, or the error that stopped it at its NFE cap."""

    solver: SolverConfig
    result: tp.Optional[GenerationResult] = None
    error: tp.Optional[MaxNFEExceeded] = None
    rmse: tp.Optional[float] = None   # RMSE of the final latents against the reference run's
    is_reference: bool = False

    @property
    def done(self) -> bool:
        return self.result is not None

    @property
    def nfe(self) -> tp.Optional[int]:
        return self.result.nfe if self.result is not None else None

    @property
    def trajectory(self):
        """z_t at the accepted steps: of the whole solve, or, for a run stopped at its NFE cap, of
        the steps it took before (None if it took none)."""
        if self.result is not None:
            return self.result.trajectory
        return getattr(self.error, "partial", None)


@dataclasses.dataclass
class Comparison:
    """All runs, in the order the solvers were given, and which one is the reference."""

    runs: tp.List[SolverRun]
    reference: int   # index into `runs`
    seed: int

    @property
    def reference_run(self) -> SolverRun:
        return self.runs[self.reference]

    @property
    def finished(self) -> tp.List[SolverRun]:
        return [run for run in self.runs if run.done]


def reference_index(runs: tp.Sequence[SolverRun]) -> int:
    """Index of the tightest finished run: the adaptive run with the smallest tolerance (most NFE
    on a tie), else the run with the most evaluations (the higher-order method on a tie)."""
    done = [(i, run) for i, run in enumerate(runs) if run.done]
    if not done:
        raise ValueError("no finished run to take as the reference")
    adaptive = [(i, run) for i, run in done if not run.solver.is_fixed_step]
    if adaptive:
        return min(adaptive, key=lambda x: (max(x[1].solver.rtol, x[1].solver.atol), -x[1].nfe))[0]
    return max(done, key=lambda x: (x[1].nfe, STEP_EVALUATIONS[x[1].solver.method]))[0]


def compare_solvers(pipe: Pipeline, solvers: tp.Sequence[tp.Union[SolverConfig, str, dict]], *,
                    seed: tp.Optional[int] = None, progress: tp.Optional[RunProgress] = None,
                    **request: tp.Any) -> Comparison:
    """Run `pipe.generate(**request, seed=seed)` once per solver, one after another.

    Args:
        solvers: `SolverConfig`s, or what `SolverConfig.coerce` takes ('rk4:8', 'Euler 4', a dict).
        seed: shared by every run (None: one is drawn, and reported in the result).
        progress: `progress(run_index, t, nfe)` at every field evaluation.
        request: the other arguments of `Pipeline.generate` (text, chords, drums, melody, guidance,
            duration, bpm, meter); one sample per run, with its trajectory.

    Raises `SolverConfigError` for an empty list or a wrong solver, any `FieldError` of the request
    (from the first run), and `MaxNFEExceeded` when no run finished within its NFE cap.
    """
    if isinstance(solvers, (str, SolverConfig, dict)):
        solvers = [solvers]
    configs = [SolverConfig.coerce(s, pipe.defaults.solver) for s in solvers]
    if not configs:
        raise SolverConfigError("solver", "expected at least one solver, e.g. ['euler:8', 'dopri5:1e-4']")
    for name in ("solver", "num_samples", "trajectory"):
        if name in request:
            raise TypeError(f"compare_solvers sets {name!r} itself")
    if seed is None:
        seed = random.SystemRandom().randrange(2**31)
    runs: tp.List[SolverRun] = []
    for index, config in enumerate(configs):
        report = None if progress is None else _run_reporter(progress, index)
        try:
            result = pipe.generate(**request, solver=config, seed=seed, num_samples=1, trajectory=True,
                                   progress=report)
        except MaxNFEExceeded as err:
            runs.append(SolverRun(config, error=err))
            continue
        runs.append(SolverRun(config, result=result))
    if not any(run.done for run in runs):
        raise MaxNFEExceeded("solver.max_nfe", "every run hit its NFE cap; raise it or loosen the tolerances")
    reference = reference_index(runs)
    z_ref = runs[reference].result.latents.float()  # [1, T, D]
    for i, run in enumerate(runs):
        if run.done:
            run.rmse = float((run.result.latents.float() - z_ref).pow(2).mean().sqrt())
            run.is_reference = i == reference
    return Comparison(runs, reference, seed)


def _run_reporter(progress: RunProgress, index: int):
    """Run `index`'s `progress(t, nfe)` for `pipe.generate`, passing `window=` on when `progress`
    takes it (a long clip is solved in windows)."""
    from .longform import accepts_window

    if accepts_window(progress):
        return lambda t, nfe, window=None: progress(index, t, nfe, window=window)
    return lambda t, nfe: progress(index, t, nfe)
