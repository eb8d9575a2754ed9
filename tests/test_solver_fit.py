import json

import pytest
import torch

from jasco_core.checkpoints import load_bundle
from jasco_core.checkpoints.fitted import fitted_cache_path, load_user_fitted
from jasco_core.errors import CheckpointError
from jasco_core.guidance import Guidance, build_guided_field
from jasco_core.schedules import time_grid
from jasco_core.solver_fit import (FitProblem, candidate_grids, choose_grid, fit_bespoke, fitted_entry, lattice_times,
                                   mean_rmse, write_fitted_solver)
from jasco_core.solvers import PRESETS, SolverConfig, SolverConfigError, integrate
from tests.conftest import tiny_inputs, tiny_model


def _field(seed=0, frames=12):
    model = tiny_model(seed)
    inputs = tiny_inputs(model, batch=1, frames=frames)
    return build_guided_field(model, inputs, Guidance(3.0, 0.0), 1, frames), model.cfg.flow_dim


def _problems(count: int, steps: int = 4):
    """The tiny model's reference trajectories from `count` noises, at every candidate grid's times."""
    times = sorted({t for grid in candidate_grids(steps).values() for t in grid})
    field, dim = _field()
    problems = []
    for k in range(count):
        z0 = torch.randn(1, 12, dim, generator=torch.Generator().manual_seed(10 + k)) * 2
        solved = integrate(field, z0, PRESETS["reference"], trajectory_times=times)
        problems.append(FitProblem(field, z0, solved.trajectory.times, solved.trajectory.latents))
    return problems


@pytest.mark.parametrize("steps", [2, 4, 10, 16])
def test_candidate_grids_are_monotone_end_at_one_and_lie_on_the_stored_times(steps):
    stored = set(lattice_times())
    grids = candidate_grids(steps)
    assert "sway=-0.8" in grids and (steps < 3 or "sway=-0.8, last step from 0.9" in grids)
    for name, grid in grids.items():
        assert len(grid) == steps + 1 and grid[0] == 0.0 and grid[-1] == 1.0, name
        assert all(b > a for a, b in zip(grid, grid[1:])) and set(grid) <= stored, name
        if "last step from" in name:
            assert grid[-2] == float(name.rsplit(" ", 1)[1]), name


def test_the_bespoke_solver_is_exact_for_euler_coefficients_and_counts_its_evaluations():
    field, dim = _field()
    z0 = torch.randn(1, 12, dim, generator=torch.Generator().manual_seed(1))
    grid = tuple(float(t) for t in time_grid("sway=-0.5", 4, 1.0))
    euler = tuple(((0.0,) * i + (1.0,), (0.0,) * i + (grid[i + 1] - grid[i],)) for i in range(4))
    bespoke = SolverConfig("bns", steps=4, schedule=grid, coefficients=euler)
    result = integrate(field, z0, bespoke, record_steps=True)
    expected = integrate(field, z0, SolverConfig("euler", steps=4, schedule=grid))
    torch.testing.assert_close(result.z1, expected.z1, rtol=1e-5, atol=1e-5)
    assert result.nfe == 4 == bespoke.nfe_per_solve and result.step_times == pytest.approx(list(grid[:-1]))
    assert SolverConfig.from_dict(json.loads(json.dumps(bespoke.to_dict()))) == bespoke


@pytest.mark.parametrize("bad", [dict(coefficients=None), dict(coefficients=(((1.0,), (0.1,)),)),
                                 dict(schedule="sway=-1"), dict(coefficients=((("x",), (0.1,)),) * 4)])
def test_bespoke_settings_are_checked(bad):
    grid = tuple(float(t) for t in time_grid("uniform", 4, 1.0))
    base = dict(method="bns", steps=4, schedule=grid,
                coefficients=tuple(((0.0,) * i + (1.0,), (0.0,) * i + (0.25,)) for i in range(4)))
    with pytest.raises(SolverConfigError):
        SolverConfig(**{**base, **bad})
    with pytest.raises(SolverConfigError, match="only the fitted"):
        SolverConfig("euler", steps=4, coefficients=base["coefficients"])


def test_the_fit_beats_the_analytic_solvers_of_the_same_cost_on_held_out_noise():
    problems = _problems(6)
    train, validation = problems[:4], problems[4:]
    solver, report = choose_grid(train, validation, 4, log=lambda _: None)
    assert solver.method == "bns" and solver.nfe_per_solve == 4 and set(report["grids"]) == set(candidate_grids(4))
    fitted = mean_rmse(solver, validation)
    assert fitted == pytest.approx(min(report["grids"].values()))
    for analytic in ("euler:4", "euler:4/sway=-0.8", "midpoint:2/sway=-0.8", "rk4:1"):
        assert fitted < mean_rmse(SolverConfig.parse(analytic), validation), analytic
    # on the same grid, the least-squares coefficients do at least as well as Euler's on the training pieces
    grid = candidate_grids(4)["sway=-0.8"]
    assert mean_rmse(fit_bespoke(train, grid), train) <= mean_rmse(SolverConfig("euler", steps=4, schedule=grid), train)


def test_a_fitted_solver_round_trips_through_the_bundle(tiny_bundle_dir, tmp_path):
    import shutil

    folder = str(tmp_path / "bundle")
    shutil.copytree(tiny_bundle_dir, folder)
    assert load_bundle(folder).fitted_solver is None
    assert load_bundle(folder).presets["fast"] == PRESETS["fast"]
    problems = _problems(3)
    solver, report = choose_grid(problems[:2], problems[2:], 4, log=lambda _: None)
    path = write_fitted_solver(folder, "tiny", fitted_entry(solver, report, "tiny", 3, 0.05, 0.1), bundle=True)
    assert path.endswith("bundle.json")
    bundle = load_bundle(folder)
    assert bundle.fitted_solver == solver and bundle.presets["fast"] == solver
    from jasco_core.pipeline import Pipeline
    result = Pipeline(bundle).generate("a test", solver="fast", seed=1, duration=1.0)
    assert result.nfe == 4 and result.parameters["solver"]["method"] == "bns"
    assert SolverConfig.from_dict(result.parameters["solver"]) == solver, "a result's parameters replay the solver"


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
    fitted = SolverConfig("euler", steps=3, schedule=(0.0, 0.3, 0.6, 1.0))
    path = write_fitted_solver("facebook/jasco-chords-drums-400M", "facebook/jasco-chords-drums-400M",
                               fitted_entry(fitted, {"grids": {}}, "x", 4, 0.2, 0.3), bundle=False)
    assert path == fitted_cache_path("facebook/jasco-chords-drums-400M") and "/" not in path.rsplit("fitted_solvers/")[1]
    solver, entry = load_user_fitted("facebook/jasco-chords-drums-400M")
    assert solver == fitted and entry["validation_rmse"] == 0.2


def test_a_released_bundle_loads_its_fitted_solver_from_the_user_cache(hub_env, tmp_path, monkeypatch):
    monkeypatch.setenv("JASCO_CACHE_DIR", str(tmp_path))
    assert load_bundle("tiny-org/jasco-tiny").presets["fast"] == PRESETS["fast"]
    fitted = SolverConfig("midpoint", steps=2, schedule=(0.0, 0.4, 1.0))
    write_fitted_solver("tiny-org/jasco-tiny", "tiny-org/jasco-tiny", fitted_entry(fitted, {"grids": {}}, "x", 4, 0.1, 0.2),
                        bundle=False)
    bundle = load_bundle("tiny-org/jasco-tiny")
    assert bundle.presets["fast"] == fitted
    assert bundle.info["fitted_solver"]["validation_rmse"] == 0.1


def _euler_bns(grid) -> SolverConfig:
    """Euler's coefficients as a `bns` solver on `grid` (a stand-in for a fitted one)."""
    steps = len(grid) - 1
    return SolverConfig("bns", steps=steps, schedule=tuple(grid), coefficients=tuple(
        ((0.0,) * i + (1.0,), (0.0,) * i + (grid[i + 1] - grid[i],)) for i in range(steps)))


def test_a_request_runs_the_fitted_solver_fitted_nearest_its_guidance(tiny_bundle_dir, tmp_path):
    import dataclasses
    import shutil

    from jasco_core.pipeline import Pipeline

    folder = str(tmp_path / "bundle")
    shutil.copytree(tiny_bundle_dir, folder)
    main = _euler_bns((0.0, 0.2, 0.5, 1.0))
    strong = _euler_bns((0.0, 0.1, 0.3, 1.0))
    with pytest.raises(CheckpointError, match="fit that first"):
        write_fitted_solver(folder, "tiny", fitted_entry(strong, {"grids": {}}, "tiny", 3, 0.1, 0.2,
                                                         dict(all=6.0, text=0.0, null=-5.0)), bundle=True, variant=True)
    write_fitted_solver(folder, "tiny", fitted_entry(main, {"grids": {}}, "tiny", 3, 0.05, 0.1), bundle=True)
    write_fitted_solver(folder, "tiny", fitted_entry(strong, {"grids": {}}, "tiny", 3, 0.1, 0.2,
                                                     dict(all=6.0, text=0.0, null=-5.0)), bundle=True, variant=True)
    bundle = load_bundle(folder)
    default = tuple(bundle.defaults.guidance.weights().values())
    assert bundle.presets["fast"] == main
    assert [(w, s) for w, s in bundle.fitted_family] == [(default, main), ((6.0, 0.0, -5.0), strong)]
    pipe = Pipeline(bundle)

    def used(**kw):
        return SolverConfig.from_dict(pipe.generate("a test", seed=1, duration=1.0, **kw).parameters["solver"])

    assert used(solver="fast") == main
    assert used(solver="fast", guidance=Guidance(5.5, 0.0)) == strong
    capped = dataclasses.replace(main, max_nfe=7)
    assert used(solver=capped, guidance=Guidance(5.5, 0.0)) == dataclasses.replace(strong, max_nfe=7)
    assert used(solver="euler:3", guidance=Guidance(5.5, 0.0)) == SolverConfig.parse("euler:3"), "others run as asked"
    other = _euler_bns((0.0, 0.4, 0.8, 1.0))
    assert used(solver=other, guidance=Guidance(5.5, 0.0)) == other, "a bns solver of another fit runs as given"
    # a second fit at the same weights replaces the variant; a new default fit keeps the variants
    write_fitted_solver(folder, "tiny", fitted_entry(other, {"grids": {}}, "tiny", 3, 0.1, 0.2,
                                                     dict(all=6.0, text=0.0, null=-5.0)), bundle=True, variant=True)
    write_fitted_solver(folder, "tiny", fitted_entry(main, {"grids": {}}, "tiny", 3, 0.04, 0.1), bundle=True)
    assert [s for _, s in load_bundle(folder).fitted_family] == [main, other]


@pytest.mark.parametrize("variant, message", [({"solver": {"method": "euler", "steps": 2}}, "names no 'guidance'"),
                                              ({"solver": {"method": "euler", "steps": 2}, "guidance": {"all": 2}},
                                               "numbers 'all', 'text' and 'null'")])
def test_a_malformed_variant_is_refused(tiny_bundle_dir, tmp_path, variant, message):
    import shutil

    folder = str(tmp_path / "bundle")
    shutil.copytree(tiny_bundle_dir, folder)
    meta = json.load(open(f"{folder}/bundle.json"))
    meta["fitted_solver"] = {"solver": _euler_bns((0.0, 0.5, 1.0)).to_dict(), "variants": [variant]}
    json.dump(meta, open(f"{folder}/bundle.json", "w"))
    with pytest.raises(CheckpointError, match=message):
        load_bundle(folder)
