"""Several solvers on one request (`jasco_core.compare`) with the tiny model of the demo tests."""
from __future__ import annotations

import types

import pytest
import torch

from demo_fixtures import TINY_DURATION
from jasco_core import load_pipeline
from jasco_core.compare import SolverRun, compare_solvers, reference_index
from jasco_core.solvers import MaxNFEExceeded, SolverConfig, SolverConfigError


@pytest.fixture(scope="module")
def pipe(tiny_bundle_dir):
    return load_pipeline(tiny_bundle_dir, device="cpu")


def test_every_run_solves_the_same_request_from_the_same_noise(pipe):
    calls = []
    comparison = compare_solvers(pipe, ["euler:2", "Euler 8", SolverConfig("dopri5", rtol=1e-4, atol=1e-4)],
                                 text="lofi beat", chords="Am:0 F:1", seed=5,
                                 progress=lambda i, t, nfe: calls.append((i, nfe)))
    runs = comparison.runs
    assert comparison.seed == 5 and all(run.result.seed == 5 for run in runs)
    assert [run.solver.label for run in runs] == ["euler, 2 steps", "euler, 8 steps", "dopri5, rtol 1e-04, atol 1e-04"]
    starts = [run.result.trajectory.latents[0] for run in runs]  # z_0 of each run
    assert all(torch.equal(starts[0], z0) for z0 in starts[1:])
    assert all(run.result.audio.shape == (1, int(TINY_DURATION * pipe.sample_rate)) for run in runs)
    # a run is exactly the generation with that solver alone
    alone = pipe.generate("lofi beat", chords="Am:0 F:1", seed=5, solver="euler:2")
    assert torch.equal(alone.latents, runs[0].result.latents)
    # progress names the run
    assert [nfe for i, nfe in calls if i == 0] == [1, 2] and [nfe for i, nfe in calls if i == 1] == list(range(1, 9))
    assert len([1 for i, _ in calls if i == 2]) == runs[2].nfe


def test_errors_are_measured_against_the_tightest_run(pipe):
    comparison = compare_solvers(pipe, ["euler:2", "euler:8", "dopri5:1e-3", "dopri5:1e-5"], text="x", seed=0,
                                 duration=1.0)
    runs = comparison.runs
    assert comparison.reference == 3 and comparison.reference_run is runs[3] and runs[3].is_reference
    assert runs[3].rmse == 0.0 and not any(run.is_reference for run in runs[:3])
    assert runs[0].rmse > runs[1].rmse > 0  # Euler converges towards the reference
    expected = float((runs[0].result.latents - runs[3].result.latents).pow(2).mean().sqrt())
    assert runs[0].rmse == pytest.approx(expected, rel=1e-6)


def test_a_run_over_its_nfe_cap_is_kept_with_its_error(pipe):
    capped = SolverConfig("dopri5", rtol=1e-8, atol=1e-8, max_nfe=5)
    comparison = compare_solvers(pipe, ["euler:4", capped], text="x", seed=0, duration=1.0)
    done, over = comparison.runs
    assert done.done and done.is_reference and done.rmse == 0.0
    assert not over.done and over.nfe is None and over.rmse is None and isinstance(over.error, MaxNFEExceeded)
    assert comparison.finished == [done]
    assert done.trajectory is done.result.trajectory
    # a run capped after some accepted steps keeps them: the comparison figure still draws it
    longer = compare_solvers(pipe, ["euler:4", SolverConfig("dopri5", rtol=1e-10, atol=1e-10, max_nfe=40)],
                             text="x", seed=0, duration=1.0).runs[1]
    assert not longer.done and longer.trajectory is not None and len(longer.trajectory.times) >= 2
    assert longer.trajectory.latents.shape[1] == 1
    with pytest.raises(MaxNFEExceeded, match="every run hit its NFE cap"):
        compare_solvers(pipe, [capped], text="x", seed=0, duration=1.0)


def test_wrong_requests_raise_field_errors(pipe):
    with pytest.raises(SolverConfigError, match="at least one solver"):
        compare_solvers(pipe, [], text="x")
    with pytest.raises(SolverConfigError) as info:
        compare_solvers(pipe, ["heun:3"], text="x")
    assert info.value.field == "solver"
    with pytest.raises(ValueError) as info:  # the request's own errors, from the first run
        compare_solvers(pipe, ["euler:2"], text="x", chords="C:0 Q:1")
    assert info.value.field == "chords"
    with pytest.raises(TypeError, match="sets 'num_samples'"):
        compare_solvers(pipe, ["euler:2"], text="x", num_samples=2)


def test_a_random_seed_is_drawn_once_for_every_run(pipe):
    comparison = compare_solvers(pipe, "euler:1", text="x", duration=1.0)
    assert len(comparison.runs) == 1 and comparison.runs[0].result.seed == comparison.seed


def _run(method: str, nfe: int, **settings) -> SolverRun:
    return SolverRun(SolverConfig(method, **settings), result=types.SimpleNamespace(nfe=nfe))


def test_reference_choice():
    # the adaptive run with the smallest tolerance, whatever its NFE
    runs = [_run("euler", 64, steps=64), _run("dopri5", 20, rtol=1e-5, atol=1e-5), _run("bosh3", 30, rtol=1e-4, atol=1e-4)]
    assert reference_index(runs) == 1
    # fixed-step runs only: the most evaluations, then the higher-order method
    assert reference_index([_run("euler", 8, steps=8), _run("rk4", 8, steps=2), _run("euler", 4, steps=4)]) == 1
    assert reference_index([SolverRun(SolverConfig("euler")), _run("euler", 2, steps=2)]) == 1  # finished runs only
    with pytest.raises(ValueError):
        reference_index([SolverRun(SolverConfig("euler"))])
