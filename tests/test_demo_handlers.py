"""The demo's events end to end with a tiny model: audio, figures, tables, downloads, Stop, errors,
long clips in windows, the page following a model switch, the comparison and the live previews
(the Edit tab: test_demo_edit.py; released models in the menu: test_demo_models.py)."""
from __future__ import annotations

import json
import os
import types

import gradio as gr
import numpy as np
import pytest
import soundfile as sf
from matplotlib.figure import Figure

from demo import handlers as H
from demo.examples import load_examples
from demo.inputs import FIELD_LABELS
from demo_fixtures import OTHER_DEFAULTS, TINY_DURATION, build_other_bundle
from tests.conftest import Recorder


def generate(h, **kwargs):
    kwargs.setdefault("progress", Recorder())
    out = h.generate(**kwargs)
    names = [f"player{k}" for k in range(H.MAX_SAMPLE_PLAYERS)] + [
        "trajectory", "spectrogram", "stats", "downloads", "seed", "status"]
    assert len(out) == len(names)
    result = dict(zip(names, out))
    result["table"] = dict((k, v) for k, v in result["stats"])
    return result


def example_with_files() -> dict:
    return next(e for e in load_examples() if e["drums"] and e["melody"])


def test_the_api_parameters_are_the_handlers_inputs(tiny_handlers):
    assert H.GENERATE_PARAMS[:4] == ["text", "chords", "drums", "melody"]
    assert "request" not in H.GENERATE_PARAMS and "progress" not in H.GENERATE_PARAMS
    assert H.COMPARE_PARAMS[-4:] == ["runs", "extra_runs", "max_nfe", "model"]
    # the page's defaults are the tiny bundle's
    d = tiny_handlers.defaults
    assert (d.solver, d.steps, d.duration, d.max_duration) == ("euler", 4, TINY_DURATION, 120.0)
    assert "up to 120 s (in windows of 10 s)" in tiny_handlers.model_info()


def test_generate_with_text_only_gives_audio_plots_stats_and_downloads(tiny_handlers):
    progress = Recorder()
    out = generate(tiny_handlers, text="mellow jazz piano", progress=progress)
    player = out["player0"]   # plain values (what an API caller gets): a path, then None for unused players
    assert player.endswith(".wav") and all(out[f"player{k}"] is None for k in range(1, H.MAX_SAMPLE_PLAYERS))
    assert isinstance(out["trajectory"], Figure) and isinstance(out["spectrogram"], Figure)
    table = out["table"]
    assert table["NFE (field evaluations)"] == "4" and table["accepted steps"] == "4"
    assert table["device"] == "cpu" and table["seed"] == str(out["seed"])
    assert table["adherence scores"] == "no chords, melody or drums given"
    assert "(random)" in out["status"]  # random seed is the default, and it is reported
    wav, json_path = out["downloads"]
    audio, sr = sf.read(wav)
    assert sr == 22050 and abs(len(audio) / sr - TINY_DURATION) < 0.05 and np.abs(audio).max() > 0
    record = json.load(open(json_path))
    assert record["parameters"]["seed"] == out["seed"]
    assert record["parameters"]["solver"]["method"] == "euler" and record["parameters"]["solver"]["steps"] == 4
    assert record["demo_inputs"]["random_seed"] is False and record["result"]["nfe"] == 4
    # the progress bar follows the real solve: t from 0 to 1, NFE 1..4
    nfe_calls = [(f, d) for f, d in progress.calls if d and d.startswith("NFE")]
    assert [d.split(" ")[1] for _, d in nfe_calls] == ["1", "2", "3", "4"]
    fractions = [f for f, _ in nfe_calls]
    assert fractions == sorted(fractions) and fractions[-1] == pytest.approx(0.75)
    # the trajectory figure's NFE panel is drawn from the same evaluations
    assert out["trajectory"].axes[2].get_title(loc="right") == "4 evaluations"


def test_fixed_seed_reproduces_and_json_replays(tiny_handlers):
    a = generate(tiny_handlers, text="bossa nova guitar", chords="C:0 G:1", seed=7, random_seed=False,
                 adherence=False)
    b = generate(tiny_handlers, text="bossa nova guitar", chords="C:0 G:1", seed=7, random_seed=False,
                 adherence=False)
    assert a["seed"] == b["seed"] == 7
    np.testing.assert_array_equal(sf.read(a["downloads"][0])[0], sf.read(b["downloads"][0])[0])
    # the JSON's demo inputs are exactly the handler's parameters: feeding them back reproduces the audio
    inputs = json.load(open(a["downloads"][-1]))["demo_inputs"]
    assert set(inputs) <= set(H.GENERATE_PARAMS)
    c = generate(tiny_handlers, **{**inputs, "adherence": False})
    np.testing.assert_array_equal(sf.read(a["downloads"][0])[0], sf.read(c["downloads"][0])[0])


def test_several_samples_and_an_adaptive_solver(tiny_handlers):
    out = generate(tiny_handlers, text="waltz", num_samples=2, solver="dopri5", log10_rtol=-2, log10_atol=-2,
                   adherence=False)
    assert [out[f"player{k}"] is not None for k in range(4)] == [True, True, False, False]
    assert len(out["downloads"]) == 3  # two WAVs and the JSON
    first, second = (sf.read(p)[0] for p in out["downloads"][:2])
    assert not np.array_equal(first, second)  # two samples, two noises
    nfe = int(out["table"]["NFE (field evaluations)"])
    assert nfe >= 6 and "dopri5, rtol 1e-02" in out["table"]["solver"]
    assert len([ax for ax in out["spectrogram"].axes if ax.images]) == 2


def test_conditions_from_the_bundled_examples_and_adherence_scores(tiny_handlers):
    example = example_with_files()
    out = generate(tiny_handlers, text=example["text"], chords=example["chords"], drums=example["drums"],
                   melody=example["melody"], bpm=example["bpm"], meter=example["meter"], seed=1, random_seed=False)
    table = out["table"]
    for name in ("chord accuracy", "melody agreement", "drum onset F1"):
        assert 0.0 <= float(table[name]) <= 1.0, table
    record = json.load(open(out["downloads"][-1]))
    assert record["parameters"]["drums"] == os.path.basename(example["drums"])  # no server paths in the JSON
    assert record["parameters"]["melody"] == os.path.basename(example["melody"])
    assert record["parameters"]["chords"][0][1] == 0.0


@pytest.mark.parametrize("kwargs, field", [
    (dict(chords="C:0 Xq:1"), "chords"),
    (dict(chords="| C | F |", meter="x/y"), "meter"),
    (dict(duration=999), "duration"),   # past the longest clip (windows of the model's length)
    (dict(duration=121), "duration"),   # past the page's two minutes (the library would make 300 s)
    (dict(duration="long"), "duration"),
    (dict(solver="heun3"), "solver"),
    (dict(steps=0), "steps"),
    (dict(solver="dopri5", log10_rtol=3), "rtol"),
    (dict(steps=20, max_nfe=10), "max_nfe"),
    (dict(solver="dopri5", log10_rtol=-8, log10_atol=-8, max_nfe=3), "max_nfe"),
    (dict(seed=-1, random_seed=False), "seed"),
    (dict(seed=1.5, random_seed=False), "seed"),
    (dict(w_all=0, w_text=0, null_auto=False, w_null=0), "guidance"),
    (dict(w_all=80), "w_all"),
    (dict(num_samples=9), "num_samples"),
    (dict(melody="/nonexistent/tune.mid"), "melody"),
    (dict(melody=__file__), "melody"),
    (dict(model="no-such-model"), "model"),
    (dict(text=123), "text"),
])
def test_bad_input_is_reported_against_its_field(tiny_handlers, kwargs, field):
    with pytest.raises(gr.Error) as info:
        generate(tiny_handlers, text=kwargs.pop("text", "piano"), **kwargs)
    err = info.value
    assert err.message.startswith(f"{field}:"), err.message
    assert FIELD_LABELS[field] in err.title


def test_a_long_clip_is_made_in_windows_with_progress_stats_and_a_trace_per_window(tiny_handlers):
    progress = Recorder()
    out = generate(tiny_handlers, text="slow ambient pads", duration=12, solver="euler", steps=2, adherence=False,
                   seed=2, random_seed=False, progress=progress)
    audio, sr = sf.read(out["downloads"][0])
    assert abs(len(audio) / sr - 12.0) < 0.05
    table = out["table"]
    assert table["windows"] == "2 (0.0\u201310.0, 2.0\u201312.0 s)" and table["NFE per window"] == "2, 2"
    assert table["NFE (field evaluations)"] == "4" and " in 2 windows" in out["status"]
    # the bar: "window i of n", the whole job's NFE, each window an equal share, never backwards
    solve = [(f, d) for f, d in progress.calls if d and d.startswith("window")]
    assert solve[0][1].startswith("window 1 of 2 \u00b7 NFE 0") and solve[-1][1] == "window 2 of 2 \u00b7 NFE 4 \u00b7 t = 0.500"
    fractions = [f for f, _ in solve]
    assert fractions == sorted(fractions) and fractions[-1] == pytest.approx(0.75)
    # the trajectory figure: one labelled trace per window, the NFE of the whole job
    figure = out["trajectory"]
    assert [t.get_text() for t in figure.legends[0].get_texts()] == ["window 1 (frames 0\u2013500)",
                                                                     "window 2 (frames 100\u2013600)"]
    assert figure.axes[2].get_title(loc="right") == "4 evaluations in 2 windows"
    record = json.load(open(out["downloads"][-1]))
    assert [w["nfe"] for w in record["result"]["windows"]] == [2, 2] and record["demo_inputs"]["duration"] == 12


def test_stop_in_a_later_window_ends_the_job(tiny_handlers):
    request = types.SimpleNamespace(session_hash="session-long")
    seen = []

    def press_stop(n):
        desc = progress.calls[-1][1] or ""
        seen.append(desc)
        if desc.startswith("window 2 of 2"):  # the second window has begun
            tiny_handlers.stop(request)

    progress = Recorder(press_stop)
    with pytest.raises(gr.Error, match="stopped"):
        tiny_handlers.generate(text="drone", duration=12, solver="euler", steps=2, adherence=False, request=request,
                               progress=progress)
    second = [d for d in seen if d.startswith("window 2")]
    assert len(second) == 1 and not any(d.startswith("writing") for d in seen)   # stopped at once


def test_after_a_model_switch_every_tab_takes_its_defaults(tiny_handlers, tiny_bundle_dir):
    other = build_other_bundle()
    try:
        updates = dict(zip(H.PAGE_UPDATES, tiny_handlers.select_model(other, progress=Recorder())))
        expected = dict(w_all=2.0, w_text=1.0, null_auto=False, w_null=-4.0, solver="dopri5", log10_rtol=-3.0,
                        log10_atol=-4.0, max_nfe=200)
        for tab in ("generate", "edit"):
            for name, value in expected.items():
                assert updates[f"{tab}.{name}"]["value"] == value, (tab, name)
            assert updates[f"{tab}.steps"]["visible"] is False and updates[f"{tab}.log10_rtol"]["visible"] is True
            assert updates[f"{tab}.w_null"]["interactive"] is True   # null = 1 - all - text is not ticked
        assert [updates[f"compare.{k}"]["value"] for k in ("w_all", "w_text", "max_nfe")] == [2.0, 1.0, 200]
        assert updates["generate.duration"]["value"] == updates["compare.duration"]["value"] == OTHER_DEFAULTS["duration"]
        assert updates["generate.duration"]["maximum"] == 120.0 and updates["edit.seconds"]["maximum"] == 120.0
        assert updates["model"]["value"] == other and "up to 120 s (in windows of 10 s)" in updates["info"]
        # the Method menu names the new model's presets ("fast" is its own: here the generic one)
        assert ("fast \u00b7 midpoint, 5 steps, sway=-0.8", "fast") in updates["generate.solver"]["choices"]
        # a request that leaves them out gets the same defaults: dopri5, guidance (2, 1, -4)
        out = generate(tiny_handlers, text="piano", adherence=False)
        assert out["table"]["solver"].startswith("dopri5, rtol 1e-03, atol 1e-04") and "NFE cap 200" in out["table"]["solver"]
        assert out["table"]["guidance"] == "w_all 2, w_text 1, w_null -4"
    finally:
        updates = dict(zip(H.PAGE_UPDATES, tiny_handlers.select_model(tiny_bundle_dir, progress=Recorder())))
    assert updates["generate.solver"]["value"] == "euler" and updates["generate.steps"]["visible"] is True
    assert tiny_handlers.select_model(tiny_bundle_dir) == (gr.skip(),) * len(H.PAGE_UPDATES)


def test_handlers_keep_working_after_an_error(tiny_handlers):
    with pytest.raises(gr.Error):
        generate(tiny_handlers, text="x", chords="C:-1")
    assert generate(tiny_handlers, text="x", adherence=False)["player0"].endswith(".wav")


def test_stop_interrupts_a_running_solve(tiny_handlers):
    request = types.SimpleNamespace(session_hash="session-a")
    other = types.SimpleNamespace(session_hash="session-b")

    def press_stop(n):
        if n == 2:  # after the first field evaluation
            tiny_handlers.stop(request)

    progress = Recorder(press_stop)
    with pytest.raises(gr.Error, match="stopped"):
        tiny_handlers.generate(text="drone", request=request, progress=progress, adherence=False)
    nfe_calls = [d for _, d in progress.calls if d and d.startswith("NFE")]
    assert len(nfe_calls) == 1  # the solve stopped at its next evaluation
    # another session is unaffected, and the next request of this session runs (the flag is cleared)
    assert tiny_handlers.generate(text="drone", request=other, progress=Recorder(), adherence=False)[0]
    assert tiny_handlers.generate(text="drone", request=request, progress=Recorder(), adherence=False)[0]
    assert tiny_handlers.stop(request).startswith("Nothing to stop")   # an idle session


def test_stop_interrupts_a_comparison(tiny_handlers):
    request = types.SimpleNamespace(session_hash="session-c")
    progress = Recorder(lambda n: n == 3 and tiny_handlers.stop(request))
    with pytest.raises(gr.Error, match="stopped"):
        tiny_handlers.compare(text="x", runs=["Euler 4", "Euler 8"], request=request, progress=progress)
    assert not any(d and d.startswith("run 2/2") for _, d in progress.calls)  # the second run never started


def test_compare_runs_each_solver_and_measures_error_against_the_tightest(tiny_handlers):
    progress = Recorder()
    out = tiny_handlers.compare(text="lofi beat", chords="Am:0 F:1", seed=3, runs=["Euler 4", "Euler 8"],
                                extra_runs="dopri5:1e-3", progress=progress)
    players, (rows, figure, status) = out[:H.MAX_COMPARE_RUNS], out[H.MAX_COMPARE_RUNS:]
    assert [p is not None for p in players] == [True] * 3 + [False] * (H.MAX_COMPARE_RUNS - 3)
    assert [r[0] for r in rows] == ["Euler 4", "Euler 8", "dopri5 1e-03"]
    assert rows[0][1] == "4" and rows[1][1] == "8" and int(rows[2][1]) > 0
    assert rows[2][2] == "0 (reference)"
    assert float(rows[0][2]) > float(rows[1][2]) > 0  # Euler converges towards the reference
    assert isinstance(figure, Figure) and "reference: dopri5 1e-03" in status and "seed 3" in status
    # every run is a real clip of the same length, and different solvers give different audio
    clips = [sf.read(p)[0] for p in players[:3]]
    assert all(abs(len(c) / 22050 - TINY_DURATION) < 0.05 for c in clips)
    assert not np.array_equal(clips[0], clips[1])
    descs = [d for _, d in progress.calls if d]
    assert any(d.startswith("run 3/3 (dopri5 1e-03): NFE") for d in descs)
    fractions = [f for f, _ in progress.calls]
    assert max(fractions) <= 1.0 and fractions[-1] > 2 / 3


def test_compare_reports_a_run_stopped_by_the_nfe_cap(tiny_handlers):
    out = tiny_handlers.compare(text="x", runs=["Euler 4"], extra_runs="dopri5:1e-8", max_nfe=6,
                                progress=Recorder())
    rows = out[H.MAX_COMPARE_RUNS]
    assert rows[1][2] == "stopped at the NFE cap" and rows[1][1] == "> 6" and rows[0][2] == "0 (reference)"
    assert [p is not None for p in out[:2]] == [True, False]  # one player: the finished run
    with pytest.raises(gr.Error) as info:  # no run finishes: reported against the cap
        tiny_handlers.compare(text="x", runs=[], extra_runs="dopri5:1e-8", max_nfe=6, progress=Recorder())
    assert info.value.message.startswith("max_nfe:") and "NFE cap" in info.value.title


@pytest.mark.parametrize("kwargs, field, message", [
    (dict(runs=[]), "runs", "tick at least one"),
    (dict(extra_runs="heun:3"), "extra_runs", "cannot read 'heun:3'"),
    (dict(runs=["Nope 3"]), "runs", "unknown preset"),
    (dict(max_nfe=0), "max_nfe", "an integer from 1"),
])
def test_compare_choices_are_reported_against_their_field(tiny_handlers, kwargs, field, message):
    with pytest.raises(gr.Error, match=message) as info:
        tiny_handlers.compare(text="x", progress=Recorder(), **kwargs)
    assert info.value.message.startswith(f"{field}:") and FIELD_LABELS[field] in info.value.title


def test_previews_read_the_conditions_as_the_model_does(tiny_handlers):
    plot, note = tiny_handlers.preview_chords("| C | Am | F G |", 6.0, 120, "4/4")
    assert plot["visible"] and isinstance(plot["value"], Figure) and note.startswith("4 chord(s) over 6 s")
    assert [t.get_text() for t in plot["value"].axes[0].texts] == ["C", "Am", "F", "G"]  # one bar per chord
    plot, note = tiny_handlers.preview_chords("C:0 Q:1", 8.0, 120, "4/4")
    assert not plot["visible"] and note.startswith("\u26a0\ufe0f chords:")
    plot, note = tiny_handlers.preview_chords("", 8.0, 120, "4/4")
    assert not plot["visible"] and note == ""
    example = example_with_files()
    plot, note = tiny_handlers.preview_drums(example["drums"], 4.0)
    # the hits drawn are the ones the drum encoder shows the model
    hits = tiny_handlers.pipeline.read_conditions(drums=example["drums"], duration=4.0).drum_hits
    assert len(hits) > 0 and f"the model is shown {len(hits)} hits in 4 s" in note
    assert isinstance(plot["value"], Figure) and len(plot["value"].axes[0].lines) == len(hits)
    plot, note = tiny_handlers.preview_melody(example["melody"], 4.0)
    assert isinstance(plot["value"], Figure) and "voiced" in note
    plot, note = tiny_handlers.preview_melody(__file__, 4.0)
    assert not plot["visible"] and "melody" in note
    plot, note = tiny_handlers.preview_drums("/nonexistent/loop.wav", 4.0)
    assert not plot["visible"] and note.startswith("\u26a0\ufe0f drums:")
    plot, note = tiny_handlers.preview_drums(None, 4.0)
    assert not plot["visible"] and note == ""


def test_previews_span_a_long_clip(tiny_handlers):
    example = example_with_files()
    plot, note = tiny_handlers.preview_drums(example["drums"], 60.0)
    hits = tiny_handlers.pipeline.read_conditions(drums=example["drums"], duration=60.0).drum_hits
    assert max(hits) > 50 and f"the model is shown {len(hits)} hits in 60 s" in note and "looped" in note
    assert plot["value"].axes[0].get_xlim() == (0.0, 60.0)
    plot, note = tiny_handlers.preview_chords("| C | Am | F | G |" * 7, 56.0, 120, "4/4")
    assert note.startswith("28 chord(s) over 56 s") and len(plot["value"].axes) == 2   # two rows of 28 s
    assert sum(len(ax.texts) for ax in plot["value"].axes) == 28
    plot, _ = tiny_handlers.preview_melody(example["melody"], 60.0)
    assert plot["value"].axes[0].get_xlim() == (0.0, 60.0)


def test_ui_helpers(tiny_handlers):
    assert H.DemoHandlers.null_weight(3, 1, True)["value"] == -3
    assert H.DemoHandlers.null_weight(3, 1, False)["interactive"] is True
    steps, schedule, rtol, atol = H.DemoHandlers.solver_controls("dopri5")
    assert (steps["visible"], schedule["visible"], rtol["visible"], atol["visible"]) == (False, False, True, True)
    visible = [u["visible"] for u in H.DemoHandlers.solver_controls("midpoint")]
    assert visible == [True, True, False, False]
    assert [u["visible"] for u in H.DemoHandlers.solver_controls("fast")] == [False] * 4, "a preset brings its own"
    assert H.DemoHandlers.copy_settings("a", 1) == ("a", 1)
    assert "conditions: text, chords, drums, melody" in tiny_handlers.model_info()
