"""How the demo runs the model: Stop flags per session, the progress bar fed by real solves,
ZeroGPU wrapping, and the warm-up at start."""
from __future__ import annotations

import logging
import types

import pytest

from demo import runtime as R
from demo_fixtures import tiny_handlers  # noqa: F401  (fixture)
from jasco_core.solvers import SolverConfig


class Recorder:
    """Stands in for gr.Progress: records (fraction, description)."""

    def __init__(self):
        self.calls = []

    def __call__(self, fraction, desc=None, **_):
        self.calls.append((fraction, desc))


def test_cancel_flags_are_per_session():
    flags = R.CancelFlags()
    a, b = types.SimpleNamespace(session_hash="a"), types.SimpleNamespace(session_hash="b")
    stopped_a, stopped_b = flags.start(a), flags.start(b)
    flags.set(flags.key(a))
    assert stopped_a() and not stopped_b()
    assert not flags.start(a)() and not stopped_a()  # a new request of the session clears its flag
    assert flags.key(None) == "local" == flags.key(types.SimpleNamespace(session_hash=None))


def test_progress_follows_a_real_solve(tiny_handlers):
    progress = Recorder()
    report = R.SolveProgress(progress, lambda: False, 1.0, offset=0.5, scale=0.5, prefix="run 2/2: ")
    result = tiny_handlers.pipeline.generate("piano", solver=SolverConfig("euler", steps=4), seed=0, duration=1.0,
                                             progress=report)
    assert result.nfe == 4
    assert report.trace == [(0.0, 1), (0.25, 2), (0.5, 3), (0.75, 4)]  # (t, NFE) of every evaluation
    assert [f for f, _ in progress.calls] == [0.5, 0.625, 0.75, 0.875]  # its share of the bar
    assert progress.calls[-1][1] == "run 2/2: NFE 4 \u00b7 t = 0.750"


def test_stop_raises_at_the_next_evaluation(tiny_handlers):
    pressed = []
    report = R.SolveProgress(Recorder(), lambda: len(pressed) > 0, 1.0)
    with pytest.raises(R.Stopped):
        tiny_handlers.pipeline.generate("piano", solver=SolverConfig("euler", steps=8), seed=0, duration=1.0,
                                        progress=lambda t, nfe: (report(t, nfe), nfe == 2 and pressed.append(1)))
    assert [nfe for _, nfe in report.trace] == [1, 2]
    assert R.stopped_error().title == "Stopped" and "stopped" in R.stopped_error().message


def test_a_comparison_reports_each_run_to_its_own_progress(tiny_handlers):
    reporters = [R.SolveProgress(Recorder(), lambda: False, 1.0) for _ in range(2)]
    comparison = R.run_comparison(tiny_handlers.pipeline, [SolverConfig("euler", steps=2), SolverConfig("rk4", steps=1)],
                                  dict(text="beat", seed=2, duration=1.0), reporters)
    assert [run.nfe for run in comparison.runs] == [2, 4]
    assert [[nfe for _, nfe in r.trace] for r in reporters] == [[1, 2], [1, 2, 3, 4]]


def test_gpu_work_is_wrapped_for_zerogpu_when_spaces_is_importable(monkeypatch):
    wrapped = []

    class FakeSpaces:
        @staticmethod
        def GPU(duration):
            def decorate(fn):
                wrapped.append((fn.__name__, duration))
                return fn
            return decorate

    monkeypatch.setattr(R, "spaces", FakeSpaces)
    R.on_gpu(R.run_generation)
    assert wrapped == [("run_generation", R.GPU_SECONDS)]
    monkeypatch.setattr(R, "spaces", None)
    fn = lambda: None  # noqa: E731
    assert R.on_gpu(fn) is fn


def test_warm_up_runs_one_short_solve_and_survives_failures(tiny_handlers, monkeypatch, caplog):
    pipe = tiny_handlers.pipeline
    calls = []
    real = pipe.generate
    monkeypatch.setattr(pipe, "generate", lambda *a, **k: calls.append(k) or real(*a, **k))
    R.warm_up(pipe)
    assert len(calls) == 1 and calls[0]["solver"] == SolverConfig("euler", steps=1) and calls[0]["duration"] == 1.0

    def broken(*a, **k):
        raise RuntimeError("no memory")

    monkeypatch.setattr(pipe, "generate", broken)
    with caplog.at_level(logging.WARNING, logger="demo.runtime"):
        R.warm_up(pipe)  # does not raise: only the first request is slower
    assert "warm-up generation failed: no memory" in caplog.text
    # on ZeroGPU a GPU exists only inside spaces.GPU functions: no warm-up solve outside them
    monkeypatch.setattr(R, "spaces", object())
    gpu_calls = []
    gpu_pipe = types.SimpleNamespace(device=types.SimpleNamespace(type="cuda"), sample_rate=22050, max_duration=10.0,
                                     generate=lambda *a, **k: gpu_calls.append(k))
    R.warm_up(gpu_pipe)
    assert gpu_calls == []
