"""Round trips through a launched demo on 127.0.0.1 with `gradio_client`, and `app.py`'s settings."""
from __future__ import annotations

import json
import re

import gradio as gr
import numpy as np
import pytest
import soundfile as sf
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError

from demo import edit as E
from demo import handlers as H
from demo_fixtures import TINY_DURATION, build_other_bundle, music_clip


@pytest.fixture(scope="module")
def client(tiny_app_url):
    return Client(tiny_app_url, verbose=False, download_files=True)


def _has_update_dict(value) -> bool:
    """Whether a component update ({'__type__': 'update', ...}) is anywhere in `value`."""
    if isinstance(value, dict):
        return "__type__" in value or any(_has_update_dict(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_has_update_dict(v) for v in value)
    return False


def test_the_api_page_lists_the_work_events_with_named_outputs(client):
    api = client.view_api(return_format="dict", print_info=False)["named_endpoints"]
    documented = ["/generate", "/stop_generate", "/repaint", "/extend", "/stop_edit", "/compare", "/stop_compare"]
    assert list(api) == documented          # the work first; previews and page updates are off the page
    for name, info in api.items():
        labels = [r["label"] for r in info["returns"]]
        assert not any(re.fullmatch(r"value_\d+", label or "") for label in labels), (name, labels)
        assert all(labels), (name, labels)
    assert [r["label"] for r in api["/generate"]["returns"]][-6:] == [
        "Trajectory plot", "Spectrogram", "Stats", "Downloads", "Seed", "Status"]
    # the UI's events stay callable though undocumented (positionally: the client has no parameter names)
    assert client.predict(["Euler 4"], "euler:0", 100, api_name="/preview_runs").startswith(
        "\u26a0\ufe0f extra_runs:")


def test_every_parameter_of_generate_and_compare_has_a_default(client):
    api = client.view_api(return_format="dict", print_info=False)["named_endpoints"]
    assert {"/generate", "/compare", "/repaint", "/extend", "/stop_generate", "/stop_compare", "/stop_edit"} <= set(api)
    for name, params in (("/generate", H.GENERATE_PARAMS), ("/compare", H.COMPARE_PARAMS)):
        info = api[name]["parameters"]
        assert [p["parameter_name"] for p in info] == params
        assert all(p["parameter_has_default"] for p in info), [p["parameter_name"] for p in info]
    # an edit needs its clip and region (`/extend`: the clip; `seconds` defaults to the page's value)
    for name, params, required in (("/repaint", E.REPAINT_PARAMS, 3), ("/extend", E.EXTEND_PARAMS, 1)):
        info = api[name]["parameters"]
        assert [p["parameter_name"] for p in info] == params
        assert [p["parameter_has_default"] for p in info] == [False] * required + [True] * (len(params) - required)


def test_generate_with_only_text(client):
    out = client.predict(text="mellow jazz piano with brushed drums", api_name="/generate")
    assert not _has_update_dict(out)          # plain values: file paths, numbers, tables, text
    path = out[0]
    assert isinstance(path, str) and all(p is None for p in out[1:H.MAX_SAMPLE_PLAYERS])
    audio, sr = sf.read(path)
    assert sr == 22050 and abs(len(audio) / sr - TINY_DURATION) < 0.05
    stats = {row[0]: row[1] for row in out[H.MAX_SAMPLE_PLAYERS + 2]["data"]}
    assert stats["NFE (field evaluations)"] == "4"
    downloads, seed, status = out[-3:]
    parameters = json.load(open([p for p in downloads if p.endswith(".json")][0]))["parameters"]
    assert parameters["seed"] == seed and status.startswith("Done in")
    assert out[H.MAX_SAMPLE_PLAYERS]["type"] == "matplotlib"  # the trajectory figure


def test_generate_returns_audio_at_minus_14_lufs_under_minus_1_dbfs(client):
    import pyloudnorm

    out = client.predict(text="mellow jazz piano", chords="C:0 F:1", duration=4, num_samples=2, seed=3,
                         random_seed=False, adherence=False, api_name="/generate")
    for path in out[:2]:
        audio, rate = sf.read(path)
        assert pyloudnorm.Meter(rate).integrated_loudness(audio) == pytest.approx(-14.0, abs=2.0)
        assert 20 * np.log10(np.abs(audio).max()) <= -1.0 + 1e-3
    raw = client.predict(text="mellow jazz piano", chords="C:0 F:1", duration=4, num_samples=2, seed=3,
                         random_seed=False, adherence=False, normalize=False, api_name="/generate")
    loudness = lambda o: dict(o[H.MAX_SAMPLE_PLAYERS + 2]["data"])["loudness"]  # noqa: E731
    assert "-14.0 LUFS" in loudness(out) or "true peak -1.0 dBFS" in loudness(out)
    assert loudness(raw) == "as generated (not normalised)"


def test_bad_input_names_the_field_and_the_server_keeps_serving(client):
    with pytest.raises(AppError, match=r"chords: .*cannot read chord 'H'"):
        client.predict(text="piano", chords="C:0 H:1", api_name="/generate")
    # values the page's own widgets refuse are reported against their parameter too
    with pytest.raises(AppError, match=r"duration: expected a number from 1 to 120, got 600"):
        client.predict(text="piano", duration=600, api_name="/generate")   # the library would make 300 s
    with pytest.raises(AppError, match=r"duration: expected a number from 1 to 120, got 121"):
        client.predict(text="piano", duration=121, api_name="/generate")
    with pytest.raises(AppError, match=r"solver: expected .*euler.*dopri5"):
        client.predict(text="piano", solver="heun", api_name="/generate")
    with pytest.raises(AppError, match=r"runs: expected a list of some of .*'Euler 4'.*got \['Euler 5'\]"):
        client.predict(text="piano", runs=["Euler 5"], api_name="/compare")
    out = client.predict(text="piano", chords="C:0 F:1", seed=5, random_seed=False, adherence=False,
                         api_name="/generate")
    assert out[-2] == 5


def test_select_model_refuses_an_unavailable_model_and_keeps_the_loaded_one(client, tiny_bundle_dir):
    # the tests run offline: the released models are listed, unavailable, and refused
    menu = client.predict("facebook/jasco-chords-drums-400M", api_name="/select_model")[0]
    assert menu["value"] == tiny_bundle_dir
    offered = [value for _, value in menu["choices"]]
    assert tiny_bundle_dir in offered and "facebook/jasco-chords-drums-400M" not in offered   # not choosable
    with pytest.raises(AppError, match=r"model: 'facebook/jasco-chords-drums-400M' is unavailable: .*HF_HUB_OFFLINE"):
        client.predict(text="piano", model="facebook/jasco-chords-drums-400M", api_name="/generate")
    assert client.predict(text="piano", adherence=False, api_name="/generate")[-1].startswith("Done in")


def test_select_model_switches_and_the_controls_follow(client, tiny_bundle_dir):
    other = build_other_bundle()
    try:
        out = dict(zip(H.PAGE_UPDATES, client.predict(other, api_name="/select_model")))
        assert out["model"]["value"] == other and "up to 120 s (in windows of 10 s)" in out["info"]
        assert out["generate.solver"]["value"] == out["edit.solver"]["value"] == "dopri5"
        assert (out["generate.w_all"]["value"], out["compare.w_text"]["value"], out["edit.max_nfe"]["value"]) == (2, 1, 200)
        assert out["generate.duration"]["value"] == 3
    finally:
        out = dict(zip(H.PAGE_UPDATES, client.predict(tiny_bundle_dir, api_name="/select_model")))
    assert out["model"]["value"] == tiny_bundle_dir and out["generate.solver"]["value"] == "euler"


def test_repaint_and_extend_through_the_api(client, tmp_path):
    clip = handle_file(music_clip(str(tmp_path / "take.wav"), 2.0))
    before, after, figure, stats, downloads, seed, status = client.predict(
        audio=clip, start=0.5, end=1.5, text="brushed drums", seed=4, random_seed=False, api_name="/repaint")
    assert status.startswith("Done in") and "repainted 0.5\u20131.5 s of a 2.00 s clip" in status and seed == 4
    a, sr = sf.read(after["value"] if isinstance(after, dict) else after)
    b, _ = sf.read(before["value"] if isinstance(before, dict) else before)
    assert sr == 22050 and len(a) == len(b) == 2 * 22050
    np.testing.assert_array_equal(a[:int(0.4 * sr)], b[:int(0.4 * sr)])       # kept before the region
    assert figure["type"] == "matplotlib" and [p.endswith((".wav", ".json")) for p in downloads] == [True, True]
    assert json.load(open(downloads[-1]))["demo_inputs"]["audio"] == "take.wav"
    *_, status = client.predict(audio=clip, seconds=1.0, text="piano", api_name="/extend")
    assert "extended a 2.00 s clip by 1 s" in status
    with pytest.raises(AppError, match=r"end: expected an end after the start \(1.5 s\)"):
        client.predict(audio=clip, start=1.5, end=0.5, api_name="/repaint")
    with pytest.raises(AppError, match=r"end: expected seconds from 0 to 2.00 \(the clip's length\)"):
        client.predict(audio=clip, start=0.5, end=5.0, api_name="/repaint")
    with pytest.raises(AppError, match=r"seconds: expected seconds from 0.5 to 118.0"):
        client.predict(audio=clip, seconds=119, api_name="/extend")
    (tmp_path / "notes.wav").write_text("not audio")
    with pytest.raises(AppError, match=r"audio: cannot decode audio file"):
        client.predict(audio=handle_file(str(tmp_path / "notes.wav")), start=0, end=1, api_name="/repaint")


def test_compare(client):
    out = client.predict(text="lofi hip hop", chords="Am:0 F:1", runs=["Euler 4", "Euler 8"],
                         extra_runs="dopri5:1e-3", api_name="/compare")
    table = out[H.MAX_COMPARE_RUNS]["data"]
    assert [row[0] for row in table] == ["Euler 4", "Euler 8", "dopri5 1e-03"]
    assert table[-1][2] == "0 (reference)" and out[-1].startswith("3 of 3 runs done")
    assert out[H.MAX_COMPARE_RUNS]["headers"] == ["run", "NFE", "RMSE", "seconds"] and not _has_update_dict(out)


def test_previews_through_the_api(client):
    figure, note = client.predict("| C | F |", 4, 120, "4/4", api_name="/preview_chords")
    assert figure["visible"] and figure["value"]["type"] == "matplotlib" and note.startswith("2 chord(s)")


def test_app_honours_server_settings_and_model_from_the_environment(tiny_bundle_dir, monkeypatch):
    import app

    from demo import runtime

    launched = {}
    monkeypatch.setattr(gr.Blocks, "launch", lambda self, **kwargs: launched.update(kwargs, blocks=self)
                        or (None, "http://0.0.0.0:7999/", None))
    monkeypatch.setattr(gr.Blocks, "block_thread", lambda self: launched.update(blocked=True))
    monkeypatch.setattr(runtime, "warm_up_in_background", lambda model: launched.update(warm_up=model))
    monkeypatch.setenv("JASCO_MODEL", tiny_bundle_dir)
    monkeypatch.setenv("GRADIO_SERVER_NAME", "0.0.0.0")
    monkeypatch.setenv("GRADIO_SERVER_PORT", "7999")
    app.main()
    assert launched["server_name"] == "0.0.0.0" and launched["server_port"] == 7999
    # served first, warmed up after (in the background), then the main thread serves
    assert launched["prevent_thread_lock"] and launched["blocked"] and launched["warm_up"].name == tiny_bundle_dir
    blocks = launched["blocks"]
    assert blocks._queue.max_size is not None  # bounded queue
    api_names = {fn.api_name for fn in blocks.fns.values() if fn.api_name}
    assert {"generate", "compare"} <= api_names
    # every event that runs a function has an api_name
    assert all(fn.api_name for fn in blocks.fns.values() if fn.fn is not None)


def test_stop_interrupts_a_running_generation(client):
    import time

    job = client.submit(text="long drone", duration=10, num_samples=4, solver="rk4", steps=200, adherence=False,
                        api_name="/generate")  # 800 evaluations of a batch of 12
    deadline = time.time() + 60
    while not any((u.progress_data or []) for u in [job.status()]) and time.time() < deadline:
        time.sleep(0.05)  # wait until the solve reports progress
    started = time.time()
    client.predict(api_name="/stop_generate")
    with pytest.raises(Exception, match="stopped"):
        job.result(timeout=60)
    assert time.time() - started < 20  # far sooner than 400 steps would take
    # the next request of the same session runs normally
    assert client.predict(text="x", adherence=False, api_name="/generate")[-1].startswith("Done in")
