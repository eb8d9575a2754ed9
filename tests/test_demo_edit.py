"""The Edit tab's events with the tiny model: repaint keeps the clip outside the region, extend
continues it, records replay, Stop, the small updates, and every bad value against its field with
nothing left on disk."""
from __future__ import annotations

import json
import os
import types

import gradio as gr
import numpy as np
import pytest
import soundfile as sf
from matplotlib.figure import Figure

from demo import edit as E
from demo.inputs import FIELD_LABELS
from demo_fixtures import music_clip
from tests.conftest import Recorder

SR = 22050
OUTPUTS = ["before", "after", "figure", "stats", "downloads", "seed", "status"]


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> str:
    return music_clip(str(tmp_path_factory.mktemp("edit") / "take.wav"), 3.0)


def run(h, kind: str, *args, **kwargs) -> dict:
    kwargs.setdefault("progress", Recorder())
    out = dict(zip(OUTPUTS, getattr(h.edit, kind)(*args, **kwargs)))
    out["table"] = dict((k, v) for k, v in out["stats"])
    return out


def test_the_api_parameters_have_defaults_but_the_clip_and_the_region():
    assert E.REPAINT_PARAMS[:3] == ["audio", "start", "end"] and E.EXTEND_PARAMS[:2] == ["audio", "seconds"]
    assert E.REPAINT_PARAMS[3:] == E.EXTEND_PARAMS[2:] and E.REPAINT_PARAMS[-1] == "model"
    import inspect
    for fn, required in ((E.EditHandlers.repaint, 3), (E.EditHandlers.extend, 1)):
        params = [p for name, p in inspect.signature(fn).parameters.items() if name not in ("self", "request", "progress")]
        assert [p.default is inspect.Parameter.empty for p in params] == [True] * required + [False] * (len(params) - required)


def test_repaint_regenerates_the_region_and_keeps_the_rest(tiny_handlers, clip):
    progress = Recorder()
    out = run(tiny_handlers, "repaint", clip, 1.0, 2.0, text="brushed drums", chords="C:0 G:1.5", seed=3,
              random_seed=False, progress=progress)
    before, _ = sf.read(out["before"], dtype="float32")
    after, sr = sf.read(out["after"], dtype="float32")
    original, _ = sf.read(clip, dtype="float32")
    assert sr == SR and len(after) == len(before) == len(original)
    np.testing.assert_allclose(before, original, atol=1.5 / 32768)    # before: the clip as the model reads it
    keep = np.r_[0:int(0.97 * SR), int(2.03 * SR):len(after)]         # outside the region and its crossfades
    np.testing.assert_array_equal(after[keep], before[keep])
    inside = slice(int(1.05 * SR), int(1.95 * SR))
    assert np.abs(after[inside] - before[inside]).max() > 0.01
    assert out["status"].startswith("Done in") and "repainted 1\u20132 s of a 3.00 s clip" in out["status"]
    assert out["seed"] == 3 and isinstance(out["after"], str)         # a plain path (the API's value)
    before_label, after_label = E.EditHandlers.player_labels(out["before"], out["after"])   # then on the page
    assert after_label["label"] == "After \u00b7 3.00 s \u00b7 22050 Hz" and before_label["label"].startswith("Before \u00b7 ")
    table = out["table"]
    assert table["edit"] == "repainted 1\u20132 s of a 3.00 s clip" and table["NFE (field evaluations)"] == "4"
    assert table["windows"] == "1 (0.0\u20133.0 s)" and table["frames kept per window (context)"] == "100 of 150"
    assert isinstance(out["figure"], Figure) and [ax.get_ylabel() for ax in out["figure"].axes] == ["before", "after"]
    assert any(d and d.startswith("NFE 4") for _, d in progress.calls)
    wav, record_path = out["downloads"]
    assert wav == out["after"]
    # the JSON replays the edit through /repaint (the clip by name: the caller uploads it again)
    record = json.load(open(record_path))
    inputs = record["demo_inputs"]
    assert inputs["audio"] == "take.wav" and (inputs["start"], inputs["end"]) == (1.0, 2.0)
    assert record["parameters"]["edit"] == "repaint" and record["parameters"]["audio"] == "take.wav"
    again = run(tiny_handlers, "repaint", **dict(inputs, audio=clip))
    np.testing.assert_array_equal(sf.read(again["after"])[0], sf.read(wav)[0])


def test_extend_continues_the_clip(tiny_handlers, clip):
    out = run(tiny_handlers, "extend", clip, 1.5, text="piano", seed=1, random_seed=False)
    after, _ = sf.read(out["after"], dtype="float32")
    before, _ = sf.read(out["before"], dtype="float32")
    assert abs(len(after) / SR - 4.5) < 0.01
    head = int(2.9 * SR)                                              # the clip, up to its last whole frame
    np.testing.assert_array_equal(after[:head], before[:head])
    assert np.abs(after[int(3.1 * SR):]).max() > 0                    # new music after it
    assert "extended a 3.00 s clip by 1.5 s" in out["status"]
    assert json.load(open(out["downloads"][-1]))["demo_inputs"]["seconds"] == 1.5
    assert "by 2 s" in run(tiny_handlers, "extend", clip, text="piano")["status"]   # the model's clip length


@pytest.mark.parametrize("kind, args, kwargs, field, message", [
    ("repaint", (2.0, 1.0), {}, "end", "the region is empty"),
    ("repaint", (1.0, 1.0), {}, "end", "the region is empty"),
    ("repaint", (1.0, 9.0), {}, "end", "from 0 to 3.00 (the clip's length)"),
    ("repaint", (-1.0, 1.0), {}, "start", "from 0 to 3.00"),
    ("repaint", (None, 1.0), {}, "start", "from 0 to 3.00"),
    ("extend", (119.0,), {}, "seconds", "the result is at most 120 s"),
    ("extend", ("lots",), {}, "seconds", "expected seconds from 0.5"),
    ("repaint", (0.0, 1.0), dict(audio=None), "audio", "no audio given"),
    ("repaint", (0.0, 1.0), dict(audio="unreadable"), "audio", "cannot decode audio file"),
    ("repaint", (0.0, 1.0), dict(audio="long"), "audio", "at most 120 s of audio, got 121.0 s"),
    ("extend", (1.0,), dict(audio="long"), "audio", "at most 119.5 s of audio"),
    ("repaint", (0.0, 1.0), dict(chords="C:0 H:1"), "chords", "cannot read chord 'H'"),
    ("repaint", (0.0, 1.0), dict(seed=-1, random_seed=False), "seed", "whole number"),
])
def test_bad_values_name_their_field_and_leave_nothing_on_disk(tiny_handlers, clip, tmp_path, kind, args, kwargs,
                                                               field, message):
    files = {"unreadable": tmp_path / "notes.wav", "long": tmp_path / "long.wav"}
    files["unreadable"].write_text("not audio")
    sf.write(files["long"], np.random.default_rng(0).standard_normal(121 * 4000) * 0.1, 4000)
    audio = kwargs.pop("audio", clip)
    audio = str(files[audio]) if audio in files else audio
    before = sorted(os.listdir(tiny_handlers.outputs.root))
    with pytest.raises(gr.Error) as info:
        run(tiny_handlers, kind, audio, *args, **kwargs)
    assert info.value.message.startswith(f"{field}:") and message in info.value.message, info.value.message
    assert FIELD_LABELS[field] in info.value.title
    assert sorted(os.listdir(tiny_handlers.outputs.root)) == before


def test_stop_interrupts_an_edit(tiny_handlers, clip):
    request = types.SimpleNamespace(session_hash="session-edit")
    progress = Recorder(lambda n: n == 3 and tiny_handlers.stop(request))
    with pytest.raises(gr.Error, match="stopped"):
        tiny_handlers.edit.repaint(clip, 0.5, 2.5, text="x", request=request, progress=progress)
    assert not any(d and d.startswith("writing") for _, d in progress.calls)


def test_the_small_updates_of_the_tab(tiny_handlers, clip):
    assert tiny_handlers.edit.use_audio(clip) == clip
    with pytest.raises(gr.Error, match="audio: there is no clip there yet"):
        tiny_handlers.edit.use_audio(None)
    # a clip chosen: its length, the result's (which the previews span), and a region if none fits
    assert tiny_handlers.edit.length(clip, E.MODES[0], 2.0) == (3.0, "The clip is 3.00 s long; the result will be "
                                                                     "3.00 s.", 1.0, 2.0)
    assert tiny_handlers.edit.length(clip, E.MODES[0], 2.0, 0.5, 2.5)[2:] == (gr.skip(), gr.skip())   # kept
    assert tiny_handlers.edit.length(clip, E.MODES[0], 2.0, 0.5, 4.0)[2:] == (1.0, 2.0)   # past the clip's end
    assert tiny_handlers.edit.length(clip, E.MODES[1], 2.0)[0] == 5.0
    assert tiny_handlers.edit.length(None)[1] == ""
    region, seconds, repaint, extend = E.EditHandlers.mode_controls(E.MODES[1])
    assert (region["visible"], seconds["visible"], repaint["visible"], extend["visible"]) == (False, True, False, True)
