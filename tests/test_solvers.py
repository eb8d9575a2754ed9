import math

import pytest
import torch

from jasco_core.solvers import (ADAPTIVE_METHODS, FIXED_STEP_METHODS, MaxNFEExceeded, SolverConfig,
                                SolverConfigError, integrate)


class CountingField:
    """dz/dt = a(t) z with a known solution; counts its calls."""

    def __init__(self, rate=-1.5):
        self.rate, self.calls = rate, 0

    def __call__(self, t, z):
        self.calls += 1
        return self.rate * (1 + t) * z

    def exact(self, z0, t):
        return z0 * math.exp(self.rate * (t + t * t / 2))


@pytest.mark.parametrize("method", list(FIXED_STEP_METHODS) + list(ADAPTIVE_METHODS))
def test_nfe_equals_field_calls(method):
    field = CountingField()
    z0 = torch.randn(2, 5, 3, generator=torch.Generator().manual_seed(0))
    res = integrate(field, z0, SolverConfig(method=method, steps=6, rtol=1e-5, atol=1e-6))
    assert res.nfe == field.calls == len(res.t_evals)
    if method in FIXED_STEP_METHODS:
        assert res.nfe == 6 * FIXED_STEP_METHODS[method]
        assert len(res.step_sizes) == 6 and all(abs(d - 1 / 6) < 1e-6 for d in res.step_sizes)
    end = SolverConfig(method=method).end_time
    # accepted steps reach the end time (an adaptive solver may step past it and interpolate back)
    assert res.step_times[-1] < end <= res.step_times[-1] + res.step_sizes[-1] + 1e-6
    if method == "euler":
        expected = z0.clone()
        for k in range(6):
            expected = expected * (1 + (1 / 6) * field.rate * (1 + k / 6))
        torch.testing.assert_close(res.z1, expected, rtol=1e-5, atol=1e-6)
    else:
        rtol = {"midpoint": 0.06, "rk4": 1e-3}.get(method, 2e-3)  # 6 steps: 2nd order is coarse
        torch.testing.assert_close(res.z1, field.exact(z0, end), rtol=rtol, atol=1e-4)


def test_adaptive_ends_before_one_like_the_original():
    assert SolverConfig(method="dopri5").end_time == 1 - 1e-5
    assert SolverConfig(method="euler").end_time == 1.0
    assert SolverConfig(method="dopri5", t_end=1.0).end_time == 1.0


def test_max_nfe_stops_a_runaway_solve():
    field = CountingField(rate=-400.0)  # stiff: an explicit solver needs tiny steps
    with pytest.raises(MaxNFEExceeded, match="max_nfe=30"):
        integrate(field, torch.ones(1, 4, 2), SolverConfig(method="dopri5", rtol=1e-7, atol=1e-9, max_nfe=30))
    assert field.calls == 30


def test_fixed_step_over_cap_is_a_config_error():
    with pytest.raises(SolverConfigError, match="max_nfe"):
        SolverConfig(method="rk4", steps=100, max_nfe=50)


@pytest.mark.parametrize("bad", [dict(method="heun9"), dict(method="euler", steps=0),
                                 dict(method="dopri5", rtol=0.0), dict(method="dopri5", atol=2.0),
                                 dict(max_nfe=0)])
def test_invalid_config_names_the_field(bad):
    with pytest.raises(SolverConfigError, match="solver"):
        SolverConfig(**bad)


def test_deterministic():
    z0 = torch.randn(1, 8, 4, generator=torch.Generator().manual_seed(5))
    a = integrate(CountingField(), z0, SolverConfig(method="dopri5"))
    b = integrate(CountingField(), z0, SolverConfig(method="dopri5"))
    assert torch.equal(a.z1, b.z1) and a.t_evals == b.t_evals


@pytest.mark.parametrize("method", ["midpoint", "dopri5"])
def test_trajectory_times_and_shapes_do_not_change_the_solve(method):
    z0 = torch.randn(2, 8, 4, generator=torch.Generator().manual_seed(1))
    cfg = SolverConfig(method=method, steps=8)
    plain = integrate(CountingField(), z0, cfg)
    traj = integrate(CountingField(), z0, cfg, trajectory_times=[0.25, 0.5, 0.75])
    assert traj.nfe == plain.nfe
    torch.testing.assert_close(traj.z1, plain.z1)
    assert traj.trajectory.times == [0.0, 0.25, 0.5, 0.75, cfg.end_time]
    assert traj.trajectory.latents.shape == (5, 2, 8, 4)
    torch.testing.assert_close(traj.trajectory.latents[0], z0)
    field = CountingField()
    torch.testing.assert_close(traj.trajectory.latents[2], field.exact(z0, 0.5), rtol=0.02, atol=1e-3)


def test_record_steps_gives_state_at_every_accepted_step():
    z0 = torch.randn(1, 4, 2)
    res = integrate(CountingField(), z0, SolverConfig(method="dopri5", rtol=1e-4, atol=1e-4), record_steps=True)
    n = len(res.step_times)
    assert n >= 2 and res.trajectory.latents.shape[0] == n + 1
    assert res.trajectory.times[:-1] == res.step_times
    torch.testing.assert_close(res.trajectory.latents[-1], res.z1)


def test_progress_callback_reports_t_and_nfe():
    seen = []
    res = integrate(CountingField(), torch.ones(1, 3, 2), SolverConfig(method="rk4", steps=3),
                    progress=lambda t, nfe: seen.append((t, nfe)))
    assert [n for _, n in seen] == list(range(1, res.nfe + 1))
    assert seen[0][0] == 0.0 and max(t for t, _ in seen) == pytest.approx(1.0)


def test_progress_callback_can_cancel():
    class Stop(Exception):
        pass

    def progress(t, nfe):
        if nfe == 3:
            raise Stop

    with pytest.raises(Stop):
        integrate(CountingField(), torch.ones(1, 3, 2), SolverConfig(method="euler", steps=10), progress=progress)


@pytest.mark.parametrize("spec, expected", [
    ("rk4:8", SolverConfig("rk4", steps=8)), ("euler@4", SolverConfig("euler", steps=4)),
    (" Midpoint : 3 ", SolverConfig("midpoint", steps=3)),
    ("dopri5:1e-4", SolverConfig("dopri5", rtol=1e-4, atol=1e-4)),
    ("bosh3:0.001", SolverConfig("bosh3", rtol=1e-3, atol=1e-3)),
    ("dopri5", SolverConfig("dopri5")), ("Euler 16", SolverConfig("euler", steps=16)),
    ("reference", SolverConfig("dopri5", rtol=1e-5, atol=1e-5)),
])
def test_parse_reads_the_text_forms(spec, expected):
    assert SolverConfig.parse(spec) == expected


def test_parse_raises_the_cap_for_fixed_steps_and_keeps_it_for_adaptive():
    assert SolverConfig.parse("rk4:300").max_nfe == 1200
    assert SolverConfig.parse("rk4:8", max_nfe=10).max_nfe == 32
    assert SolverConfig.parse("dopri5:1e-3", max_nfe=40).max_nfe == 40
    assert SolverConfig.parse("Euler 4", max_nfe=2).max_nfe == 4


@pytest.mark.parametrize("spec, field", [("", "solver"), ("heun:4", "solver"), ("rk4:x", "solver"),
                                         ("rk4:0", "solver.steps"), ("rk4:2.5", "solver.steps"),
                                         ("dopri5:5", "solver"), (8, "solver")])
def test_parse_errors_say_the_form(spec, field):
    with pytest.raises(SolverConfigError) as err:
        SolverConfig.parse(spec)
    assert err.value.field == field and ("method:steps" in str(err.value) or "expected" in str(err.value))


def test_presets_and_coerce():
    from jasco_core.solvers import PRESETS
    assert PRESETS["Euler 4"] == SolverConfig("euler", steps=4) and PRESETS["Midpoint 8"].nfe_per_solve == 16
    default = SolverConfig("euler", steps=4)
    assert SolverConfig.coerce(None, default) is default
    assert SolverConfig.coerce({"method": "rk4", "steps": 2}, default) == SolverConfig("rk4", steps=2)
    assert SolverConfig.coerce("dopri5:1e-3", default).rtol == 1e-3
    assert SolverConfig("dopri5", rtol=1e-4, atol=1e-4).label == "dopri5, rtol 1e-04, atol 1e-04"
    assert SolverConfig("euler", steps=4).label == "euler, 4 steps"


def test_reference_and_fast_presets():
    from jasco_core.checkpoints import load_bundle
    from jasco_core.solvers import PRESETS

    assert PRESETS["reference"] == SolverConfig("dopri5", rtol=1e-5, atol=1e-5)
    embedded = load_bundle("embedded").presets["fast"]
    for fast in (PRESETS["fast"], embedded):
        assert fast.is_fixed_step and fast.nfe_per_solve <= 10
        field = CountingField()
        result = integrate(field, torch.ones(1, 3, 2), fast)
        assert result.nfe == field.calls == fast.nfe_per_solve, "'fast' never exceeds its NFE"
        assert result.step_times[0] == 0.0 and abs(sum(result.step_sizes) - 1.0) < 1e-6
    # the model's own "fast" is what a name resolves to when the model's presets are given
    custom = {**PRESETS, "fast": SolverConfig("euler", steps=3)}
    assert SolverConfig.parse("fast", presets=custom) == SolverConfig("euler", steps=3)
    assert SolverConfig.coerce("FAST", PRESETS["Euler 4"], custom).steps == 3
    assert SolverConfig.parse("fast") == PRESETS["fast"]


def test_a_capped_solve_keeps_its_accepted_steps():
    field = CountingField(rate=-40.0)     # stiff: dopri5 at a tight tolerance needs many steps
    with pytest.raises(MaxNFEExceeded) as info:
        integrate(field, torch.ones(1, 2, 2), SolverConfig("dopri5", rtol=1e-9, atol=1e-9, max_nfe=40),
                  record_steps=True)
    partial = info.value.partial
    assert partial is not None and len(partial.times) >= 2 and partial.latents.shape[1:] == (1, 2, 2)
    assert partial.times[0] == 0.0 and all(b > a for a, b in zip(partial.times, partial.times[1:]))
    with pytest.raises(MaxNFEExceeded) as info:
        integrate(field, torch.ones(1, 2, 2), SolverConfig("dopri5", rtol=1e-9, atol=1e-9, max_nfe=40))
    assert info.value.partial is None
