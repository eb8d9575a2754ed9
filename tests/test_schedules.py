"""Time grids of the fixed-step solvers: monotone, from 0 to the end time, and checked."""
import numpy as np
import pytest
import torch

from jasco_core.errors import FieldError
from jasco_core.schedules import check_schedule, time_grid
from jasco_core.solvers import SolverConfig, SolverConfigError, integrate


@pytest.mark.parametrize("schedule", ["uniform", "cosine", "sway=-1", "sway=-0.5", "sway=1", "power=0.5", "power=3",
                                      (0.0, 0.05, 0.3, 1.0)])
@pytest.mark.parametrize("end", [1.0, 0.9])
def test_grids_are_monotone_and_end_at_the_end_time(schedule, end):
    if isinstance(schedule, tuple):
        schedule = tuple(t * end for t in schedule)
    steps = len(schedule) - 1 if isinstance(schedule, tuple) else 7
    grid = time_grid(check_schedule(schedule), steps, end)
    assert grid.shape == (steps + 1,) and grid[0] == 0 and abs(float(grid[-1]) - end) < 1e-7
    assert torch.all(grid[1:] > grid[:-1])


def test_uniform_is_exactly_linspace_and_sway_crowds_the_noise_end():
    assert torch.equal(time_grid("uniform", 8, 1.0), torch.linspace(0.0, 1.0, 9))
    sway = time_grid("sway=-1", 8, 1.0)
    assert sway[1] < 1 / 8 and (sway[-1] - sway[-2]) > 1 / 8


@pytest.mark.parametrize("bad", ["linear", "sway=2", "power=0", "power=9", "cosine=1", [0.0, 0.5, 0.4, 1.0],
                                 [0.1, 1.0], [0.0], 7])
def test_bad_schedules_name_the_field(bad):
    with pytest.raises(SolverConfigError) as err:
        SolverConfig("euler", steps=3, schedule=bad)
    assert err.value.field == "solver.schedule"


def test_schedule_rules_of_solver_config():
    with pytest.raises(SolverConfigError, match="chooses its own steps"):
        SolverConfig("dopri5", schedule="cosine")
    with pytest.raises(SolverConfigError) as err:
        SolverConfig("euler", steps=4, schedule=(0.0, 0.5, 1.0))
    assert err.value.field == "solver.steps"
    with pytest.raises(SolverConfigError, match="end time"):
        SolverConfig("euler", steps=2, schedule=(0.0, 0.5, 0.9))
    cfg = SolverConfig.parse("midpoint:4/sway=-1")
    assert cfg.schedule == "sway=-1" and cfg.nfe_per_solve == 8 and cfg.label == "midpoint, 4 steps, sway=-1"
    explicit = SolverConfig("euler", steps=3, schedule=[0, 0.2, 0.5, 1])
    assert explicit.schedule == (0.0, 0.2, 0.5, 1.0) and SolverConfig.from_dict(explicit.to_dict()) == explicit


def test_the_solver_steps_on_the_grid():
    times = []

    def field(t, z):
        times.append(float(t))
        return torch.ones_like(z)
    out = integrate(field, torch.zeros(1, 2, 1), SolverConfig("euler", steps=3, schedule=(0.0, 0.1, 0.5, 1.0)),
                    record_steps=True)
    assert np.allclose(times, [0.0, 0.1, 0.5]) and np.allclose(out.step_sizes, [0.1, 0.4, 0.5])
    assert torch.allclose(out.z1, torch.ones(1, 2, 1))


def test_times_as_text_round_trip():
    from jasco_core.schedules import schedule_text

    assert check_schedule("0, 0.25, 0.6, 1") == (0.0, 0.25, 0.6, 1.0)
    assert check_schedule("[0, 0.5, 1]") == (0.0, 0.5, 1.0)
    for schedule in ["uniform", "sway=-0.8", "cosine", (0.0, 0.123456, 0.5, 1.0)]:
        assert check_schedule(schedule_text(check_schedule(schedule))) == check_schedule(schedule)
    for bad in ["0, x, 1", "0.1, 0.5, 1", "0, 0.6, 0.5, 1"]:
        with pytest.raises(FieldError) as e:
            check_schedule(bad)
        assert e.value.field == "solver.schedule"
