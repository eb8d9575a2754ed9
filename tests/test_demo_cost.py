"""The cost shown before a run: NFE and seconds from the model's speed log, warnings, Compare totals."""
from __future__ import annotations

import types

import pytest

from demo import cost
from demo.gpu_budget import SpeedLog
from jasco_core.solvers import PRESETS, SolverConfig


def _log() -> SpeedLog:
    return SpeedLog(parameters=9_000_000, frame_rate=50.0, window_frames=500, context_frames=60)


def _result(nfe: int, sampling: float, frames: int = 500):
    latents = types.SimpleNamespace(shape=(1, frames, 8))
    return types.SimpleNamespace(nfe=nfe, latents=latents, windows=[], timings={"sampling": sampling, "conditions": 0.2,
                                                                               "decoding": 0.3})


def test_fixed_steps_are_exact_and_seconds_follow_the_measured_speed():
    log = _log()
    before = cost.estimate(log, SolverConfig("euler", steps=4), 10.0, rows=3)
    assert before.nfe == 4 and before.nfe_measured and not before.measured
    log.record(_result(10, 2.0), PRESETS["fast"], rows=3, kind=(False, False))     # 0.2 s per NFE measured
    after = cost.estimate(log, SolverConfig("euler", steps=4), 10.0, rows=3)
    assert after.measured and after.seconds == pytest.approx(4 * 0.2 + 0.5)
    # a 60 s clip is solved in windows: every window pays the solver's NFE
    assert cost.estimate(log, SolverConfig("euler", steps=4), 60.0, rows=3).nfe == 4 * log.windows(3000)[0]


def test_adaptive_nfe_is_a_prior_until_a_run_with_the_same_settings():
    log = _log()
    dopri = SolverConfig("dopri5", rtol=1e-5, atol=1e-5)
    guess = cost.estimate(log, dopri, 10.0, rows=3)
    assert not guess.nfe_measured and 60 <= guess.nfe <= 250
    log.record(_result(110, 20.0), dopri, rows=3, kind=(False, False))
    assert cost.estimate(log, dopri, 10.0, rows=3).nfe == 110


def test_the_text_names_the_cost_and_warns_on_tight_tolerances_and_long_runs():
    log = _log()
    log.record(_result(10, 2.0), PRESETS["fast"], rows=3, kind=(False, False))
    text = cost.solver_cost_text(log, lambda: PRESETS["fast"], 10.0, 1, 3)
    assert text.startswith("**Cost:** 10 NFE") and "measured on this server" in text and "\u26a0" not in text
    tight = cost.solver_cost_text(log, lambda: SolverConfig("dopri5", rtol=1e-8, atol=1e-8, max_nfe=5000), 10.0, 1, 3)
    assert "very tight tolerance" in tight and "\u26a0 this will take about" in tight

    def refused():
        raise ValueError("steps: expected a whole number")
    assert "check the solver settings" in cost.solver_cost_text(log, refused, 10.0, 1, 3)


def test_compare_lists_each_run_and_the_total():
    log = _log()
    plan = [("Euler 4", PRESETS["Euler 4"]), ("fast", PRESETS["fast"])]
    text = cost.compare_cost_text(log, plan, 10.0, 3)
    assert "14 NFE in all" in text and "Euler 4: 4 NFE" in text and "fast: 10 NFE" in text
