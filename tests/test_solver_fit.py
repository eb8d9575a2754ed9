import json

import pytest
import torch

from jasco_core.checkpoints import load_bundle
from jasco_core.checkpoints.fitted import fitted_cache_path, load_user_fitted, write_fitted_solver
from jasco_core.errors import CheckpointError
from jasco_core.guidance import Guidance, build_guided_field
from jasco_core.schedules import time_grid
from jasco_core.solver_fit import (FitProblem, fit_schedule, fitted_entry, grid_from_logits, logits_from_grid,
                                   solve_differentiable)
from jasco_core.solvers import PRESETS, SolverConfig, integrate
from tests.conftest import tiny_inputs, tiny_model


def _field(seed=0, frames=12):
    model = tiny_model(seed)
    model.requires_grad_(False)
    inputs = tiny_inputs(model, batch=1, frames=frames)
    return build_guided_field(model, inputs, Guidance(3.0, 0.0), 1, frames), model.cfg.flow_dim


@pytest.mark.parametrize("method,steps", [("euler", 5), ("midpoint", 3), ("rk4", 2)])
def test_differentiable_steps_are_torchdiffeqs(method, steps):
    field, dim = _field()
    z0 = torch.randn(1, 12, dim, generator=torch.Generator().manual_seed(1))
    grid = time_grid("sway=-0.7", steps, 1.0)
    expected = integrate(field, z0, SolverConfig(method, steps=steps, schedule="sway=-0.7")).z1
    with torch.no_grad():
        got = solve_differentiable(method, field, z0, grid)
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-4)


def test_grid_from_logits_is_increasing_and_ends_at_the_end():
    for seed in range(5):
        logits = torch.randn(6, generator=torch.Generator().manual_seed(seed), dtype=torch.float64) * 3
        grid = grid_from_logits(logits, 1.0)
        assert grid[0] == 0 and grid[-1] == 1.0 and len(grid) == 7
        assert torch.all(torch.diff(grid) > 0)
    start = time_grid("sway=-0.8", 5, 1.0).double()
    torch.testing.assert_close(grid_from_logits(logits_from_grid(start), 1.0), start)


def test_fit_lowers_the_error_to_the_reference_and_keeps_the_best_grid():
    problems = []
    for seed in range(4):
        field, dim = _field(seed=0)
        z0 = torch.randn(1, 12, dim, generator=torch.Generator().manual_seed(10 + seed)) * 3
        target = integrate(field, z0, PRESETS["reference"]).z1
        problems.append(FitProblem(field, z0, target))
    seen = []
    state = fit_schedule(problems[:3], problems[3:], method="euler", steps=3, iterations=8, lr=0.2, batch=3,
                         on_iteration=lambda s: seen.append(s["iteration"]))
    assert seen == list(range(1, 9))
    assert state["best"]["validation_rmse"] <= state["start"]["validation_rmse"]
    assert min(h["train_rmse"] for h in state["history"][1:]) < state["history"][0]["train_rmse"]
    times = state["best"]["schedule"]
    assert times[0] == 0 and times[-1] == 1.0 and all(b > a for a, b in zip(times, times[1:]))
    # resuming a finished fit changes nothing; a longer one goes on from the stored state
    again = fit_schedule(problems[:3], problems[3:], method="euler", steps=3, iterations=8, state=json.loads(json.dumps(state)))
    assert again["history"] == state["history"]
    longer = fit_schedule(problems[:3], problems[3:], method="euler", steps=3, iterations=10, lr=0.2, batch=3,
                          state=json.loads(json.dumps(state)))
    assert len(longer["history"]) == 10


def test_a_fitted_solver_round_trips_through_the_bundle(tiny_bundle_dir, tmp_path):
    import shutil

    folder = str(tmp_path / "bundle")
    shutil.copytree(tiny_bundle_dir, folder)
    assert load_bundle(folder).fitted_solver is None
    assert load_bundle(folder).presets["fast"] == PRESETS["fast"]
    times = [0.0, 0.05, 0.2, 0.45, 0.7, 1.0]
    state = {"method": "midpoint", "steps": 5, "iteration": 12, "start": {"schedule": "sway=-0.8", "validation_rmse": 0.1},
             "best": {"schedule": times, "validation_rmse": 0.05, "iteration": 9}}
    path = write_fitted_solver(folder, "tiny", fitted_entry(state, "tiny", 8), bundle=True)
    assert path.endswith("bundle.json")
    bundle = load_bundle(folder)
    assert bundle.fitted_solver == SolverConfig("midpoint", steps=5, schedule=tuple(times))
    assert bundle.presets["fast"] == bundle.fitted_solver
    from jasco_core.pipeline import Pipeline
    result = Pipeline(bundle).generate("a test", solver="fast", seed=1, duration=1.0)
    assert result.nfe == 10 and result.parameters["solver"]["schedule"] == times


def test_a_malformed_fitted_solver_is_refused(tiny_bundle_dir, tmp_path):
    import shutil

    folder = str(tmp_path / "bundle")
    shutil.copytree(tiny_bundle_dir, folder)
    meta = json.load(open(f"{folder}/bundle.json"))
    meta["fitted_solver"] = {"solver": {"method": "dopri5"}}
    json.dump(meta, open(f"{folder}/bundle.json", "w"))
    with pytest.raises(CheckpointError, match="fixed-step"):
        load_bundle(folder)


def test_a_released_models_fitted_solver_lives_in_the_user_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("JASCO_CACHE_DIR", str(tmp_path))
    assert load_user_fitted("facebook/jasco-chords-drums-400M") == (None, None)
    state = {"method": "euler", "steps": 3, "iteration": 1, "start": {}, "best": {"schedule": [0, 0.3, 0.6, 1.0],
                                                                                  "validation_rmse": 0.2}}
    path = write_fitted_solver("facebook/jasco-chords-drums-400M", "facebook/jasco-chords-drums-400M",
                               fitted_entry(state, "x", 4), bundle=False)
    assert path == fitted_cache_path("facebook/jasco-chords-drums-400M") and "/" not in path.rsplit("fitted_solvers/")[1]
    solver, entry = load_user_fitted("facebook/jasco-chords-drums-400M")
    assert solver.schedule == (0.0, 0.3, 0.6, 1.0) and entry["iterations"] == 1


def test_a_released_bundle_loads_its_fitted_solver_from_the_user_cache(hub_env, tmp_path, monkeypatch):
    monkeypatch.setenv("JASCO_CACHE_DIR", str(tmp_path))
    assert load_bundle("tiny-org/jasco-tiny").presets["fast"] == PRESETS["fast"]
    state = {"method": "midpoint", "steps": 2, "iteration": 3, "start": {}, "best": {"schedule": [0, 0.4, 1.0],
                                                                                      "validation_rmse": 0.1}}
    write_fitted_solver("tiny-org/jasco-tiny", "tiny-org/jasco-tiny", fitted_entry(state, "x", 4), bundle=False)
    bundle = load_bundle("tiny-org/jasco-tiny")
    assert bundle.presets["fast"] == SolverConfig("midpoint", steps=2, schedule=(0.0, 0.4, 1.0))
    assert bundle.info["fitted_solver"]["iterations"] == 3
