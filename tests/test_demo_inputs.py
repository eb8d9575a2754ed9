"""UI values -> typed values: errors against the right control, guidance, solvers, Compare runs,
the controls' defaults from the pipeline's public properties."""
from __future__ import annotations

import dataclasses
import types

import gradio as gr
import numpy as np
import pytest
import soundfile as sf

from demo import inputs as I
from demo.examples import load_examples

from jasco_core.errors import FieldError
from jasco_core.guidance import GuidanceError
from jasco_core.solvers import PRESETS, MaxNFEExceeded, SolverConfig, SolverConfigError


# -- errors -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("err, message, title", [
    (FieldError("chords", "cannot read 'H'"), "chords: cannot read 'H'", "Chord progression"),
    (SolverConfigError("solver.steps", "expected 1 to 10000"), "steps: expected 1 to 10000", "Steps"),
    (SolverConfigError("solver.method", "expected one of euler"), "solver: expected one of euler", "Solver"),
    (MaxNFEExceeded("solver.max_nfe", "stopped after 3"), "max_nfe: stopped after 3", "NFE cap"),
    (GuidanceError("guidance.all", "expected -50 to 50"), "w_all: expected -50 to 50", "w_all"),
    (GuidanceError("guidance", "all three weights are zero"), "guidance: all three weights are zero",
     "Guidance weights"),
    (FieldError("melody.file", "<unreadable> & gone"), "melody.file: &lt;unreadable&gt; &amp; gone", "Melody"),
])
def test_user_errors_name_the_page_control(err, message, title):
    error = I.user_error(err)
    assert isinstance(error, gr.Error)
    assert error.message == message  # escaped: the toast renders HTML
    assert error.title == f"Check \u201c{title}\u201d"


def test_field_labels_fall_back_on_the_part_before_the_dot():
    assert I.field_label("guidance.weird") == "Guidance weights"
    assert I.field_label("solver.rtol") == "rtol" and I.field_label("nothing.known") == "nothing.known"
    assert I.field_error("seed", "seed: expected 0 or more").message == "seed: expected 0 or more"  # no repeat


# -- plain values ---------------------------------------------------------------------------------------
def test_numbers_text_and_files(tmp_path):
    assert I.number("seed", "5", "a seed", 0, 9, integer=True) == 5
    assert I.number("bpm", 96.5, "a tempo", 20, 400) == 96.5
    for bad in (True, "fast", float("nan"), 500):
        with pytest.raises(FieldError, match="^bpm: expected a tempo"):
            I.number("bpm", bad, "a tempo", 20, 400)
    with pytest.raises(FieldError, match="whole number"):
        I.number("seed", 1.5, "a seed", integer=True)
    assert I.text("chords", None) == "" and I.text("chords", "C:0") == "C:0"
    with pytest.raises(FieldError, match="^text: expected text, got int"):
        I.text("text", 3)
    path = tmp_path / "loop.wav"
    path.write_bytes(b"RIFF")
    assert I.file_value("drums", {"path": str(path)}) == str(path) == I.file_value("drums", str(path))
    assert I.file_value("drums", (22050, [0.0])) == (22050, [0.0]) and I.file_value("drums", " ") is None
    with pytest.raises(FieldError, match="^melody: the uploaded file 'gone.mid' cannot be found"):
        I.file_value("melody", str(tmp_path / "gone.mid"))
    with pytest.raises(FieldError, match="expected an uploaded file"):
        I.file_value("drums", 42)
    assert I.file_name(str(path)) == "loop.wav" and I.file_name((22050, [0.0])) == "<recorded audio>"


def test_request_args_share_the_conditions_and_the_seed():
    example = next(e for e in load_examples() if e["drums"])
    args = I.request_args("piano", "  ", {"path": example["drums"]}, None, 4, 96, "", 3, True)
    assert args == dict(text="piano", chords=None, drums=example["drums"], melody=None, duration=4.0, bpm=96,
                        meter="4/4", seed=None)  # a random seed is drawn by the library
    assert I.request_args("", "C:0", None, None, "2.5", 120, "3/4", 3, False)["seed"] == 3
    with pytest.raises(FieldError, match="^seed:"):
        I.request_args("", "", None, None, 2, 120, "4/4", -1, False)


def test_the_page_limits_the_duration_to_two_minutes():
    assert I.MAX_PAGE_DURATION == 120.0
    assert I.request_args("", "", None, None, 120, 120, "4/4", 0, True)["duration"] == 120.0
    for bad in (121, 300, 0.5, "long"):
        with pytest.raises(FieldError) as info:
            I.request_args("", "", None, None, bad, 120, "4/4", 0, True)
        assert info.value.field == "duration" and "seconds from 1 to 120" in info.value.message
    with pytest.raises(FieldError, match="from 1 to 60"):   # a lower limit for a model that makes less
        I.request_args("", "", None, None, 61, 120, "4/4", 0, True, max_duration=60)
    assert "duration" not in I.request_args("", "", None, None, None, 120, "4/4", 0, True)   # an edit


def test_the_clip_to_edit_is_read_once_at_the_models_rate_within_the_limit(tmp_path):
    t = np.arange(3 * 8000) / 8000
    sf.write(tmp_path / "clip.wav", 0.5 * np.sin(2 * np.pi * 220 * t), 8000)
    samples, rate = I.edit_audio({"path": str(tmp_path / "clip.wav")}, 22050, 120.0)
    assert rate == 22050 and samples.dtype == np.float32 and abs(samples.size / rate - 3.0) < 1e-3
    assert I.audio_seconds(str(tmp_path / "clip.wav")) == pytest.approx(3.0)
    assert I.audio_seconds(None) is None and I.audio_seconds(str(tmp_path / "gone.wav")) is None
    (tmp_path / "notes.wav").write_text("not audio")
    for value, message in ((str(tmp_path / "clip.wav"), "at most 2 s of audio, got 3.0 s"), (None, "no audio given"),
                           (str(tmp_path / "gone.wav"), "cannot be found"),
                           (str(tmp_path / "notes.wav"), "cannot decode audio file")):
        with pytest.raises(FieldError, match=message) as info:
            I.edit_audio(value, 22050, 2.0)
        assert info.value.field == "audio"
    assert I.extend_seconds(5, 3.0, 120.0) == 5.0
    for bad in (118, 0.2, "x"):
        with pytest.raises(FieldError, match=r"seconds from 0.5 to 117.0 \(the result is at most 120 s") as info:
            I.extend_seconds(bad, 3.0, 120.0)
        assert info.value.field == "seconds"
    assert I.field_label("audio") == "Audio to edit" and I.field_label("end") == "End (s)"


def test_guidance_from_the_sliders():
    assert I.guidance(3, 0, True, 99).weights() == {"all": 3.0, "text": 0.0, "null": -2.0}  # w_null ignored
    assert I.guidance(3, 1, False, -1).null == -1
    with pytest.raises(GuidanceError) as info:
        I.guidance(0, 0, False, 0)
    assert info.value.field == "guidance"


def test_solver_from_the_controls():
    cfg = I.solver_config("dopri5", 4, "uniform", -2, -3, 200)
    assert (cfg.method, cfg.rtol, cfg.atol, cfg.max_nfe) == ("dopri5", pytest.approx(1e-2), pytest.approx(1e-3), 200)
    assert I.solver_config("rk4", 8, None, -4, -4, 32).nfe_per_solve == 32
    assert I.solver_config("midpoint", 5, "sway=-1", -4, -4, 32).schedule == "sway=-1"
    assert I.solver_config("midpoint", 3, "0, 0.2, 0.5, 1", -4, -4, 32).schedule == (0.0, 0.2, 0.5, 1.0)
    assert I.solver_config("dopri5", 3, "sway=-1", -4, -4, 32).schedule == "uniform"   # hidden for adaptive ones
    # a preset or a typed spec in the Method box: its own settings, the other controls ignored
    fitted = SolverConfig("midpoint", steps=5, schedule=(0.0, 0.1, 0.3, 0.5, 0.7, 1.0))
    assert I.solver_config("fast", 99, "cosine", -4, -4, 32, presets={**PRESETS, "fast": fitted}) == \
        dataclasses.replace(fitted, max_nfe=32)
    assert I.solver_config("reference", 4, None, -2, -2, 400) == dataclasses.replace(PRESETS["reference"], max_nfe=400)
    assert I.solver_config("rk4:2/sway=-1", 4, None, -2, -2, 400).schedule == "sway=-1"
    for args, field in [(("heun3", 4, None, -4, -4, 100), "solver"), (("euler", 0, None, -4, -4, 100), "solver.steps"),
                        (("euler", 20, None, -4, -4, 10), "solver.max_nfe"), (("dopri5", 4, None, 3, -4, 100), "rtol"),
                        (("dopri5", 4, None, -4, -4, I.MAX_NFE_LIMIT + 1), "max_nfe"),
                        (("euler", 3, "0, 0.5", -4, -4, 100), "solver.steps"),
                        (("euler", 3, "sway=7", -4, -4, 100), "solver.schedule")]:
        with pytest.raises(FieldError) as info:
            I.solver_config(*args)
        assert info.value.field == field, args


# -- Compare runs -------------------------------------------------------------------------------------
def test_compare_presets_are_the_library_presets():
    assert I.COMPARE_PRESETS == ["fast", "reference", "Euler 4", "Euler 8", "Euler 16", "Midpoint 8", "RK4 8",
                                 "dopri5 1e-3", "dopri5 1e-4"]  # "dopri5 1e-5" is "reference"
    assert all(PRESETS[name] for name in I.COMPARE_PRESETS)
    assert I.DEFAULT_COMPARE_RUNS == ["Euler 4", "Euler 8", "Euler 16", "Midpoint 8", "fast", "dopri5 1e-3", "reference"]
    # "fast" is the loaded model's own
    own = {**PRESETS, "fast": SolverConfig("euler", steps=3)}
    assert I.compare_runs(["fast"], "", 100, own) == [("fast", SolverConfig("euler", steps=3, max_nfe=100))]


def test_compare_runs_builds_solver_settings():
    plan = I.compare_runs(["Euler 4", "reference"], "rk4:8; bosh3@1e-4, euler:4", 1000)
    assert [(label, c.method, c.steps if c.is_fixed_step else c.rtol) for label, c in plan] == [
        ("Euler 4", "euler", 4), ("reference", "dopri5", 1e-5), ("rk4 8", "rk4", 8), ("bosh3 1e-04", "bosh3", 1e-4)]
    assert all(c.max_nfe == 1000 for _, c in plan)
    # typed runs may be separated by spaces, and may name presets
    plan = I.compare_runs([], "euler:2 Euler 16 dopri5: 1e-3", 10)
    assert [(label, c) for label, c in plan] == [
        ("euler 2", SolverConfig("euler", steps=2, max_nfe=10)), ("euler 16", SolverConfig("euler", steps=16, max_nfe=16)),
        ("dopri5 1e-03", SolverConfig("dopri5", rtol=1e-3, atol=1e-3, max_nfe=10))]  # a cap below 16 NFE is raised


@pytest.mark.parametrize("runs, extra, field, message", [
    ([], "", "runs", "tick at least one"),
    (["Euler 4"], "heun:3", "extra_runs", "cannot read 'heun:3'"),
    (["Euler 4"], "euler:0", "extra_runs", "whole number of steps"),
    (["Euler 4"], "dopri5:2", "extra_runs", "tolerance"),
    (["Nope 3"], "", "runs", "unknown preset"),
    (list(I.COMPARE_PRESETS), "rk4:2", "runs", "at most 8 runs"),
])
def test_compare_run_choices_are_checked(runs, extra, field, message):
    with pytest.raises(FieldError, match=message) as info:
        I.compare_runs(runs, extra, 1000)
    assert info.value.field == field


# -- defaults ------------------------------------------------------------------------------------------
def test_defaults_come_from_the_pipelines_public_properties(tiny_handlers):
    pipe = tiny_handlers.pipeline
    public = types.SimpleNamespace(**{name: getattr(pipe, name) for name in (
        "defaults", "sample_rate", "frame_rate", "accepts", "max_duration", "window_seconds", "presets")})  # no bundle
    d = I.UIDefaults.from_pipeline(public, "tiny")
    assert d == dataclasses.replace(tiny_handlers.defaults, model="tiny")
    # the library makes up to 300 s; the page up to 120 s, in windows of the model's 10 s
    assert (d.solver, d.steps, d.duration, d.max_duration, d.window_seconds) == ("euler", 4, 2.0, 120.0, 10.0)
    assert pipe.max_duration == 300.0
    guidance, solver = I.sampling(d, None, 1.0, True, None, None, 8, None, None, None, None)   # None: the model's
    assert guidance.weights() == {"all": 3.0, "text": 1.0, "null": -3.0}
    assert (solver.method, solver.steps, solver.max_nfe) == ("euler", 8, d.max_nfe)
    assert (d.w_all, d.w_text, d.w_null, d.null_auto) == (3.0, 0.0, -2.0, True)
    assert d.accepts == ("text", "chords", "drums", "melody") and d.sample_rate == 22050
    assert d.duration_adjustable and (d.log10_rtol, d.log10_atol) == (-5.0, -5.0)
