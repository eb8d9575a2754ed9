"""How the demo runs the model: Stop flags per session, the progress bars fed by real solves and
downloads, ZeroGPU wrapping (what a worker receives), and the warm-up at start."""
from __future__ import annotations

import logging
import pickle
import types

import gradio as gr
import pytest

from demo import runs
from demo import runtime as R

from jasco_core.solvers import SolverConfig
from tests.conftest import Recorder


def test_cancel_flags_are_per_session():
    flags = R.CancelFlags()
    a, b = types.SimpleNamespace(session_hash="a"), types.SimpleNamespace(session_hash="b")
    stopped_a, stopped_b = flags.start(a), flags.start(b)
    flags.set(flags.key(a))
    assert stopped_a() and not stopped_b()
    assert not flags.start(a)() and not stopped_a()  # a new request of the session clears its flag
    assert flags.key(None) == "local" == flags.key(types.SimpleNamespace(session_hash=None))


def test_stop_says_where_the_solve_stopped_and_that_an_idle_page_has_nothing_to_stop(tiny_handlers):
    flags = R.CancelFlags()
    session = types.SimpleNamespace(session_hash="s")
    assert flags.stop(session) == runs.NOTHING_TO_STOP == flags.stop_status(session)   # idle
    stopped = flags.start(session)
    seen = []

    def press_stop(n):
        if n == 3:
            seen.append(flags.stop(session))     # the Stop button, during the solve

    report = R.SolveProgress(Recorder(press_stop), stopped, 1.0)
    with pytest.raises(gr.Error, match="stopped"):
        with R.page_errors(stopped):
            tiny_handlers.pipeline.generate("piano", solver=SolverConfig("euler", steps=8), seed=0, duration=1.0,
                                            progress=report)
    assert seen == [runs.STOPPING]
    assert flags.stop_status(session, timeout=1.0) == "Stopped at NFE 3, t = 0.250."
    assert flags.outcome(session) == ("stopped", "")
    assert flags.stop(session) == runs.NOTHING_TO_STOP                                 # over: idle again
    # a refused value is recorded too (the page's status line and Stop know the request is over)
    refused = flags.start(session)
    with pytest.raises(gr.Error, match="seed: "):
        with R.page_errors(refused):
            tiny_handlers.pipeline.generate("piano", seed=-1, duration=1.0)
    assert flags.outcome(session)[0] == "error" and flags.outcome(session)[1].startswith("seed: ")


def test_progress_follows_a_real_solve(tiny_handlers):
    progress = Recorder()
    report = R.SolveProgress(progress, lambda: False, 1.0, offset=0.5, scale=0.5, prefix="run 2/2: ")
    result = tiny_handlers.pipeline.generate("piano", solver=SolverConfig("euler", steps=4), seed=0, duration=1.0,
                                             progress=report)
    assert result.nfe == 4
    assert report.trace == [(0.0, 1, 0), (0.25, 2, 0), (0.5, 3, 0), (0.75, 4, 0)]  # (t, NFE, window) of each evaluation
    assert [f for f, _ in progress.calls] == [0.5, 0.625, 0.75, 0.875]  # its share of the bar
    assert progress.calls[-1][1] == "run 2/2: NFE 4 \u00b7 t = 0.750"


def test_stop_raises_at_the_next_evaluation(tiny_handlers):
    pressed = []
    report = R.SolveProgress(Recorder(), lambda: len(pressed) > 0, 1.0)
    with pytest.raises(R.Stopped):
        tiny_handlers.pipeline.generate("piano", solver=SolverConfig("euler", steps=8), seed=0, duration=1.0,
                                        progress=lambda t, nfe: (report(t, nfe), nfe == 2 and pressed.append(1)))
    assert [nfe for _, nfe, _ in report.trace] == [1, 2]
    assert R.stopped_error().title == "Stopped" and "stopped" in R.stopped_error().message


def test_progress_of_a_long_clip_counts_each_window_as_an_equal_share():
    progress = Recorder()
    report = R.SolveProgress(progress, lambda: False, 1.0)
    # what the library reports for a clip of 3 windows of Euler 2 steps: each window starts at t = 0
    # with the NFE so far, then one report per evaluation; the NFE counts the whole job
    for index in range(3):
        report(0.0, 2 * index, window=(index, 3))
        for k, t in enumerate((0.0, 0.5)):
            report(t, 2 * index + k + 1, window=(index, 3))
    fractions = [round(f, 4) for f, _ in progress.calls]
    assert fractions == [0.0, 0.0, 0.1667, 0.3333, 0.3333, 0.5, 0.6667, 0.6667, 0.8333]
    assert progress.calls[4][1] == "window 2 of 3 \u00b7 NFE 3 \u00b7 t = 0.000"   # t starts again in a window
    assert progress.calls[-1][1] == "window 3 of 3 \u00b7 NFE 6 \u00b7 t = 0.500"
    assert [w for _, _, w in report.trace] == [0] * 3 + [1] * 3 + [2] * 3


def test_stop_between_windows_ends_the_job_before_the_next_window(tiny_handlers):
    pressed = []
    report = R.SolveProgress(Recorder(), lambda: bool(pressed), 1.0)

    def progress(t, nfe, window=None):
        report(t, nfe, window=window)
        if nfe == 2:          # the last evaluation of the first window: Stop, between two windows
            pressed.append(1)

    with pytest.raises(R.Stopped):
        tiny_handlers.pipeline.generate("piano", solver=SolverConfig("euler", steps=2), seed=0, duration=12.0,
                                        progress=progress)
    assert max(w for _, _, w in report.trace) == 0 and report.trace[-1][1] == 2   # window 2 never evaluated


def test_a_comparison_reports_each_run_to_its_own_progress(tiny_handlers):
    reporters = [R.SolveProgress(Recorder(), lambda: False, 1.0) for _ in range(2)]
    model = R.ModelRef("tiny", tiny_handlers.pipeline)
    comparison = R.compare(model, [SolverConfig("euler", steps=2), SolverConfig("rk4", steps=1)],
                           dict(text="beat", seed=2, duration=1.0), reporters)
    assert [run.nfe for run in comparison.runs] == [2, 4]
    assert [[nfe for _, nfe, _ in r.trace] for r in reporters] == [[1, 2], [1, 2, 3, 4]]
    # each finished run is measured for the next request's GPU budget
    assert len(model.speed.per_nfe) == 2 and all(s > 0 for s, _ in model.speed.per_nfe)


class FakeSpaces:
    """Stands in for the `spaces` package: records what `spaces.GPU` was given."""

    def __init__(self):
        self.wrapped = []

    def GPU(self, duration):
        def decorate(fn):
            self.wrapped.append((fn.__name__, duration))
            return fn
        return decorate


def test_gpu_work_is_wrapped_for_zerogpu_with_a_duration_per_request(monkeypatch):
    fake = FakeSpaces()
    monkeypatch.setattr(R, "spaces", fake)
    R.on_gpu(R.gpu_budget.generation_seconds)(R.run_generation)
    R.on_gpu(R.gpu_budget.comparison_seconds)(R.run_comparison)
    R.on_gpu(R.gpu_budget.edit_seconds)(R.run_edit)
    assert fake.wrapped == [("run_generation", R.gpu_budget.generation_seconds),
                            ("run_comparison", R.gpu_budget.comparison_seconds),
                            ("run_edit", R.gpu_budget.edit_seconds)]
    monkeypatch.setattr(R, "spaces", None)
    fn = lambda: None  # noqa: E731
    assert R.on_gpu(R.gpu_budget.generation_seconds)(fn) is fn


def test_what_a_zerogpu_worker_receives_pickles_and_finds_the_model_again(tiny_handlers, tiny_bundle_dir):
    """ZeroGPU pickles a GPU function's arguments into a forked worker: the model travels by name
    (the worker finds it in the `load_pipeline` cache it inherited), progress with a snapshot of
    the Stop flags, and the (t, NFE) trace comes back with the result."""
    flags = R.CancelFlags()
    stopped = flags.start(types.SimpleNamespace(session_hash="s"))
    report = R.SolveProgress(Recorder(), stopped, 1.0)
    model = R.ModelRef(tiny_bundle_dir, tiny_handlers.pipeline)
    model.speed.per_nfe.append((0.5, 100))
    args = (model, dict(text="piano", duration=1.0, seed=0, solver=SolverConfig("euler", steps=2), progress=report))
    copied_model, copied_kwargs = pickle.loads(pickle.dumps(args))
    assert copied_model.pipeline is None and copied_model.speed.per_nfe[0] == (0.5, 100)
    assert copied_model.get() is tiny_handlers.pipeline  # same (name, device, precision) in the cache
    result, trace = R.run_generation(copied_model, copied_kwargs)
    assert [nfe for _, nfe, _ in trace] == [1, 2] and report.trace == []  # the trace came back, not by reference
    result_copy = pickle.loads(pickle.dumps(result))
    assert result_copy.nfe == 2 and result_copy.audio.shape == result.audio.shape
    flags.set("s")
    assert stopped() and not copied_kwargs["progress"].stopped()  # the worker holds a snapshot


def test_download_progress_shows_bytes_rate_and_time_left_then_loading_weights():
    clock = types.SimpleNamespace(now=100.0)
    bar = Recorder()
    report = R.DownloadProgress(bar, "facebook/jasco-chords-drums-400M", every=0.2, clock=lambda: clock.now)
    report.loading()
    what = "downloading facebook/jasco-chords-drums-400M"
    for now, done in ((100.0, 0), (102.0, 400_000_000), (102.1, 410_000_000), (104.0, 800_000_000),
                      (105.0, 1_400_000_000)):
        clock.now = now
        report(done, 1_400_000_000, what)
    assert report.shown == [
        "facebook/jasco-chords-drums-400M: loading weights",
        f"{what}: 0 B of 1.40 GB",                                            # no rate yet
        f"{what}: 400.0 MB of 1.40 GB \u00b7 200.0 MB/s \u00b7 5 s left",
        f"{what}: 800.0 MB of 1.40 GB \u00b7 200.0 MB/s \u00b7 3 s left",     # 102.1 was throttled
        "facebook/jasco-chords-drums-400M: loading weights"]
    assert [round(f, 3) for f, _ in bar.calls] == [0.0, 0.0, 0.286, 0.571, 1.0]
    clock.now = 106.0   # the next repository (the text encoder) is a new download, with its own rate
    report(0, 900_000_000, "downloading google-t5/t5-base")
    clock.now = 116.0
    report(300_000_000, 900_000_000, "downloading google-t5/t5-base")
    assert report.shown[-1] == "downloading google-t5/t5-base: 300.0 MB of 900.0 MB \u00b7 30.0 MB/s \u00b7 20 s left"
    assert R.format_seconds(125) == "2 min 05 s" and R.format_seconds(0.4) == "<1 s" and R.format_bytes(950) == "950 B"


def test_warm_up_runs_one_short_solve_and_survives_failures(tiny_handlers, monkeypatch, caplog):
    pipe = tiny_handlers.pipeline
    calls = []
    real = pipe.generate
    monkeypatch.setattr(pipe, "generate", lambda *a, **k: calls.append(k) or real(*a, **k))
    R.warm_up(pipe)
    assert len(calls) == 1 and calls[0]["solver"] == SolverConfig("euler", steps=1) and calls[0]["duration"] == 1.0
    # with the model's speed log, a second short solve measures the seconds per NFE for the cost note
    ref = tiny_handlers.models.current
    ref.speed.per_nfe.clear()
    R.warm_up(pipe, ref.speed)
    assert len(calls) == 3 and calls[2]["solver"] == SolverConfig("euler", steps=2)
    assert len(ref.speed.per_nfe) == 1 and ref.speed.per_nfe[0][0] > 0

    def broken(*a, **k):
        raise RuntimeError("no memory")

    monkeypatch.setattr(pipe, "generate", broken)
    with caplog.at_level(logging.WARNING, logger="demo.runtime"):
        R.warm_up(pipe)  # does not raise: only the first request is slower
    assert "warm-up generation failed: no memory" in caplog.text
    # on ZeroGPU a GPU exists only inside spaces.GPU functions: no warm-up solve outside them
    monkeypatch.setattr(R, "zero_gpu", lambda: True)
    gpu_calls = []
    gpu_pipe = types.SimpleNamespace(device=types.SimpleNamespace(type="cuda"), sample_rate=22050, max_duration=10.0,
                                     generate=lambda *a, **k: gpu_calls.append(k))
    R.warm_up(gpu_pipe)
    assert gpu_calls == []
