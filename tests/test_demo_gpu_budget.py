"""The GPU seconds a request asks ZeroGPU for: a pure function of the GPU function's own arguments
(no `spaces` needed), following the solver, the clip, the batch and the measured speed."""
from __future__ import annotations

import copy
import types

import numpy as np
import pytest

from demo import gpu_budget as B
from jasco_core.checkpoints import GenerationDefaults
from jasco_core.guidance import Guidance
from jasco_core.solvers import SolverConfig

FRAME_RATE, WINDOW = 50.0, 500   # JASCO: 50 latent frames per second, 10 s windows


def model(parameters: int = 1_000_000_000, solver: SolverConfig = SolverConfig("euler", steps=10)):
    """What `generation_seconds` reads of a `runtime.ModelRef`: its pipeline's defaults and its speed log."""
    defaults = GenerationDefaults(guidance=Guidance(5.0, 0.0), solver=solver, duration=10.0)
    return types.SimpleNamespace(pipeline=types.SimpleNamespace(defaults=defaults),
                                 speed=B.SpeedLog(parameters, FRAME_RATE, WINDOW, WINDOW // 4))


def result(nfe: int, sampling: float, frames: int = WINDOW, samples: int = 1, conditions: float = 1.0):
    return types.SimpleNamespace(nfe=nfe, latents=np.zeros((samples, frames, 1)), audio=np.zeros((samples, 10)),
                                 timings={"conditions": conditions, "sampling": sampling, "decoding": 0.5})


def test_nfe_of_fixed_step_and_adaptive_solvers():
    assert B.expected_nfe(SolverConfig("rk4", steps=8)) == 32
    assert B.expected_nfe(SolverConfig("euler", steps=10)) == 10
    loose, tight = SolverConfig("dopri5", rtol=1e-3, atol=1e-3), SolverConfig("dopri5", rtol=1e-5, atol=1e-5)
    assert B.expected_nfe(loose) < B.expected_nfe(tight) == 242      # 6 evaluations x 40 steps + 2
    assert B.expected_nfe(SolverConfig("dopri5", rtol=1e-8, atol=1e-8, max_nfe=300)) == 300  # never above the cap
    assert B.expected_nfe(tight, seen=100) == 150                      # what was measured, with a margin


def test_a_long_adaptive_solve_asks_for_more_than_a_minute_and_a_short_one_for_less():
    big = model()
    reference = B.generation_seconds(big, dict(duration=10.0, solver=SolverConfig("dopri5", rtol=1e-5, atol=1e-5),
                                               guidance=Guidance(5.0, 0.0), num_samples=1))
    quick = B.generation_seconds(big, dict(duration=10.0, solver=SolverConfig("euler", steps=4),
                                           guidance=Guidance(5.0, 0.0), num_samples=1))
    assert reference > 60 > quick >= B.MIN_SECONDS
    # the prior scales with the model size, the clip, the samples and the guidance terms
    kwargs = dict(duration=10.0, solver=SolverConfig("dopri5", rtol=1e-5, atol=1e-5), num_samples=1)
    assert B.generation_seconds(model(400_000_000), kwargs) < B.generation_seconds(big, kwargs)
    assert B.generation_seconds(big, dict(kwargs, num_samples=4)) > B.generation_seconds(big, kwargs)
    assert B.generation_seconds(big, dict(kwargs, duration=2.0)) < B.generation_seconds(big, kwargs)
    one_term = Guidance(1.0, 0.0, null=0.0)
    assert B.generation_seconds(big, dict(kwargs, guidance=one_term)) < B.generation_seconds(big, kwargs)
    # past the window the clip is solved window by window: each one costs a whole solve
    assert big.speed.windows(3000) == (8, WINDOW) and big.speed.windows(400) == (1, 400)
    assert B.generation_seconds(big, dict(kwargs, duration=60.0)) > 3 * B.generation_seconds(big, kwargs)
    # what the request leaves out comes from the model's defaults (euler 10, 10 s)
    assert B.generation_seconds(big, {}) == B.generation_seconds(big, dict(solver=SolverConfig("euler", steps=10),
                                                                          duration=10.0, num_samples=1))


def test_measurements_replace_the_prior_and_scale_only_upwards():
    m = model()
    kwargs = dict(duration=10.0, solver=SolverConfig("dopri5", rtol=1e-5, atol=1e-5), guidance=Guidance(5.0, 0.0))
    prior = B.generation_seconds(m, kwargs)
    # a fast GPU: 60 NFE in 3 s at 1 sample x 2 terms x 500 frames
    m.speed.record(result(60, 3.0), kwargs["solver"], rows=2, kind=(False, False))
    measured = B.generation_seconds(m, kwargs)
    assert measured < prior
    assert measured == B.gpu_seconds(90, 0.05, 1.5)                   # 1.5 x 60 NFE at 0.05 s, 1.0 + 0.5 s around
    assert m.speed.seconds_per_nfe(rows=8, frames=WINDOW) == pytest.approx(0.2)   # 4x the rows: 4x the time
    assert m.speed.seconds_per_nfe(rows=1, frames=100) == pytest.approx(0.05)     # smaller: never less
    # a request with drums has not been measured yet: the prior for what surrounds the solve
    with_drums = B.generation_seconds(m, dict(kwargs, drums="loop.wav"))
    assert with_drums == B.gpu_seconds(90, 0.05, B.PRIOR_OVERHEAD_SECONDS)
    # a long clip's NFE is counted per window
    m.speed.record(result(3 * 80, 12.0, frames=1200), SolverConfig("dopri5", rtol=1e-4, atol=1e-4), 2, (False, False))
    assert m.speed.nfe_seen[("dopri5", 1e-4, 1e-4)] == 80


def test_a_comparison_asks_for_all_its_runs():
    m = model()
    request = dict(duration=10.0, guidance=Guidance(5.0, 0.0))
    runs = [SolverConfig("euler", steps=4), SolverConfig("euler", steps=8), SolverConfig("dopri5", rtol=1e-5, atol=1e-5)]
    together = B.comparison_seconds(m, runs, request, [None] * 3)
    alone = [B.generation_seconds(m, dict(request, solver=r)) for r in runs]
    assert max(alone) < together < sum(alone)   # one allocation: one margin, one-off costs once


def test_the_estimate_is_a_pure_function_that_never_raises():
    m = model()
    before = copy.deepcopy(m.speed)
    kwargs = dict(duration=10.0, solver=SolverConfig("dopri5", rtol=1e-5, atol=1e-5))
    assert B.generation_seconds(m, kwargs) == B.generation_seconds(m, kwargs)
    assert m.speed == before                                          # nothing recorded by asking
    for bad in (dict(duration="ten"), dict(solver="heun:3"), dict(guidance={"all": "x"}), dict(num_samples="two")):
        assert B.MIN_SECONDS <= B.generation_seconds(m, bad) <= B.MAX_SECONDS   # the request reports it


def test_an_edit_is_sized_as_a_generation_of_its_result_and_never_raises():
    m = model()
    clip = (np.zeros(8000 * 25, np.float32), 8000)                     # 25 s
    solver = SolverConfig("euler", steps=10)
    repaint = B.edit_seconds(m, "repaint", dict(audio=clip, start=5.0, end=8.0, solver=solver))
    assert repaint == B.generation_seconds(m, dict(duration=25.0, solver=solver))
    extend = B.edit_seconds(m, "extend", dict(audio=clip, seconds=40.0, solver=solver))
    assert extend == B.generation_seconds(m, dict(duration=65.0, solver=solver)) > repaint
    assert B.MIN_SECONDS <= B.edit_seconds(m, "extend", dict(audio="not read", seconds="x")) <= B.MAX_SECONDS
    # what an edit took is recorded per window it solved (a repaint solves only its region's)
    edited = result(40, 2.0, frames=1250)
    edited.windows = [object()]                                         # one window of a 25 s clip
    m.speed.record(edited, SolverConfig("dopri5", rtol=1e-4, atol=1e-4), 2, (False, False))
    assert m.speed.nfe_seen[("dopri5", 1e-4, 1e-4)] == 40
