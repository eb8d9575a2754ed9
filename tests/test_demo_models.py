"""The model menu against a Hugging Face Hub on 127.0.0.1 serving a released-format model (gated),
its T5 and its EnCodec: states, a switch with its download on the progress bar, failed switches
that keep the previous model, unavailable models refused, and a page that starts whatever the
Hub does."""
from __future__ import annotations

import dataclasses
import time

import gradio as gr
import pytest
import soundfile as sf

from demo import handlers as H
from demo import models as M
from demo_fixtures import RELEASED_TOKEN, serve_released, slow_downloads
from jasco_core import checkpoints
from jasco_core.pipeline import unload_pipeline
from tests.released_fixtures import RELEASED_REPO

OTHER_REPO = "facebook/jasco-chords-drums-melody-400M"   # served with a token this machine does not have


class Recorder:
    """Stands in for gr.Progress: records (fraction, description)."""

    def __init__(self):
        self.calls = []

    def __call__(self, fraction, desc=None, **_):
        self.calls.append((fraction, desc))


@pytest.fixture
def served(fake_hub, released_repos, tmp_path, monkeypatch):
    serve_released(fake_hub, released_repos, monkeypatch, tmp_path / "hf_home")
    return fake_hub


@pytest.fixture
def make_handlers(tiny_bundle_dir):
    """DemoHandlers around the tiny bundle whose freed models are recorded; whatever they switched
    to is freed at the end (the next test must download again)."""
    made = []

    def make(**kwargs):
        freed = []
        h = H.DemoHandlers(tiny_bundle_dir, warm_up=False, unloader=lambda p: (freed.append(p), unload_pipeline(p)),
                           **kwargs)
        h.freed = freed
        made.append(h)
        return h

    yield make
    for h in made:
        h.models.use(tiny_bundle_dir)


def labels(h) -> dict:
    """Every model's label, offered in the menu or not (the unavailable ones are listed apart)."""
    return {c.value: c.label(c.value == h.models.current.name) for c in h.models.choices}


def generate(h, **kwargs):
    out = h.generate(progress=Recorder(), adherence=False, **kwargs)
    return out[0], dict((k, v) for k, v in out[H.MAX_SAMPLE_PLAYERS + 2]), out[-1]


def test_the_menu_lists_every_released_model_with_its_state(served, make_handlers, monkeypatch, tiny_bundle_dir):
    h = make_handlers()
    menu = labels(h)
    assert menu[tiny_bundle_dir] == "embedded (local bundle) \u00b7 loaded" and menu["embedded"] == "embedded \u00b7 ready"
    assert set(checkpoints.RELEASED_MODELS) <= set(menu)
    # the reference checkpoint, its T5 and EnCodec: 2.6 MB here (the real ones: GB)
    assert menu[RELEASED_REPO] == f"{RELEASED_REPO} \u00b7 downloads 2.6 MB on first use"
    assert h.models.choice(RELEASED_REPO).download_bytes == 2_566_676
    assert menu["facebook/jasco-chords-drums-1B"].startswith("facebook/jasco-chords-drums-1B \u00b7 unavailable: ")
    assert "facebook/jasco-chords-drums-1B" in h.unavailable_info() and served.url in h.unavailable_info()
    assert [r for r in served.requests if "/resolve/" in r[1] and r[0] == "GET"] == []   # sizes only

    monkeypatch.delenv("HF_TOKEN")                                       # anonymous: gated
    assert labels(make_handlers())[RELEASED_REPO] == f"{RELEASED_REPO} \u00b7 unavailable: gated: needs HF_TOKEN"
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")                            # offline: not downloaded
    assert labels(make_handlers())[RELEASED_REPO] == f"{RELEASED_REPO} \u00b7 unavailable: offline (HF_HUB_OFFLINE=1)"


def test_a_hub_that_fails_or_hangs_never_stops_the_page(tiny_bundle_dir, make_handlers, monkeypatch):
    real = checkpoints.model_status
    local = [checkpoints.ModelStatus("embedded", "ready", "bundled"),
             checkpoints.ModelStatus(RELEASED_REPO, "download", "it is downloaded on first use")]

    def broken(cache_dirs=None, *, ask_hub=True):
        if ask_hub:
            raise RuntimeError("proxy says no")
        return local

    monkeypatch.setattr(checkpoints, "model_status", broken)
    h = make_handlers()
    choice = h.models.choice(RELEASED_REPO)
    assert choice.state == "unavailable" and "the Hub could not be reached (RuntimeError: proxy says no)" in choice.reason
    assert labels(h)[RELEASED_REPO].endswith("unavailable: the Hub could not be reached")
    assert h.models.choice("embedded").state == "ready"

    def hanging(cache_dirs=None, *, ask_hub=True):
        if ask_hub:
            time.sleep(5)
        return local

    monkeypatch.setattr(checkpoints, "model_status", hanging)
    started = time.perf_counter()
    states = M.read_states(timeout=0.3)
    assert time.perf_counter() - started < 2
    assert states[1].state == "unavailable" and "the Hub did not answer within 0.3 s" in states[1].reason

    monkeypatch.setattr(checkpoints, "model_status", lambda *a, **k: 1 / 0)   # not even the cache: start model only
    assert [c.value for c in make_handlers().models.choices] == [tiny_bundle_dir]
    monkeypatch.setattr(checkpoints, "model_status", real)


def test_choosing_a_released_model_downloads_it_with_progress_and_makes_it_current(served, make_handlers, monkeypatch,
                                                                                   tiny_bundle_dir):
    h = make_handlers()
    start = h.pipeline
    slow_downloads(monkeypatch)
    progress = Recorder()
    updates = dict(zip(H.PAGE_UPDATES, h.select_model(RELEASED_REPO, progress=progress)))
    menu, info, duration, note = (updates[k] for k in ("model", "info", "generate.duration", "generate.note"))
    shown = [desc for _, desc in progress.calls]
    assert shown[0] == f"{RELEASED_REPO}: loading weights"
    # bytes, rate and time left of each download, then "loading weights"
    rates = [d for d in shown if d.startswith(f"downloading {RELEASED_REPO}: ") and "/s \u00b7 " in d and d.endswith(" left")]
    assert rates, shown
    assert any(d.startswith("downloading facebook/encodec_32khz: ") for d in shown)
    assert shown[-1] == f"{RELEASED_REPO}: loading weights"
    fractions = [f for f, d in progress.calls if d in rates]
    assert all(0 < f < 1 for f in fractions) and fractions == sorted(fractions)

    # the page follows the new model
    assert menu["value"] == RELEASED_REPO and (f"{RELEASED_REPO} \u00b7 loaded", RELEASED_REPO) in menu["choices"]
    assert (f"{tiny_bundle_dir}" in dict((v, k) for k, v in menu["choices"])) and h.pipeline is not start
    assert info.startswith(f"Loaded: **{RELEASED_REPO}** \u00b7 32000 Hz") and "conditions: text, chords, drums" in info
    assert duration["maximum"] == min(120.0, h.pipeline.max_duration) and duration["value"] == h.pipeline.defaults.duration
    assert updates["compare.duration"] == duration
    assert note == updates["compare.note"] == updates["edit.note"] == "The loaded model ignores: melody."
    # the guidance and solver controls of every tab take the released model's defaults
    defaults = h.pipeline.defaults
    for tab in ("generate", "edit"):
        assert updates[f"{tab}.w_all"]["value"] == defaults.guidance.weights()["all"]
        assert updates[f"{tab}.solver"]["value"] == defaults.solver.method
    assert updates["compare.w_text"]["value"] == defaults.guidance.weights()["text"]

    # Generate (no model named: the current one) and the previews use it
    player, stats, status = generate(h, text="upbeat jazz piano", chords="C:0 F:0.5", duration=1.0, solver="euler",
                                     steps=2)
    assert sf.info(player).samplerate == 32000 and stats["model"] == RELEASED_REPO and status.startswith("Done in")
    plot, summary = h.preview_chords("C:0 F:0.5", 1.0)
    assert summary.startswith("2 chord(s)")

    # back to the start model: the released one is freed, and asking for it again loads it from disk
    h.select_model(tiny_bundle_dir, progress=Recorder())
    assert h.pipeline is start and [p.name for p in h.freed] == [RELEASED_REPO]
    served.clear_requests()
    player, stats, _ = generate(h, text="piano", duration=1.0, solver="euler", steps=2, model=RELEASED_REPO)
    assert sf.info(player).samplerate == 32000 and h.models.current.name == RELEASED_REPO
    assert [r for r in served.requests if "/resolve/" in r[1] and r[0] == "GET"] == []
    assert labels(h)[RELEASED_REPO] == f"{RELEASED_REPO} \u00b7 loaded"


def test_a_failed_switch_keeps_the_previous_model_working_and_selected(served, make_handlers, monkeypatch,
                                                                      released_repos, tiny_bundle_dir):
    served.add_repo(OTHER_REPO, released_repos[RELEASED_REPO], gated=True, token="hf_someone_else")
    monkeypatch.delenv("HF_TOKEN")
    h = make_handlers(states=[checkpoints.ModelStatus(RELEASED_REPO, "download", "", 2_566_676),
                              checkpoints.ModelStatus(OTHER_REPO, "download", "", 2_566_676)])
    start = h.pipeline
    with pytest.warns(UserWarning, match="HF_TOKEN") as warned:   # gated, anonymous
        menu, *rest = h.select_model(RELEASED_REPO, progress=Recorder())
    assert f"{served.url}/{RELEASED_REPO}" in str(warned[0].message)       # where access is requested
    assert menu["value"] == tiny_bundle_dir and rest == [gr.skip()] * (len(H.PAGE_UPDATES) - 1)   # the page is left as it was
    assert h.pipeline is start and h.freed == []
    assert generate(h, text="piano", duration=1.0)[2].startswith("Done in")

    monkeypatch.setenv("HF_TOKEN", RELEASED_TOKEN)
    h.select_model(RELEASED_REPO, progress=Recorder())
    current = h.pipeline
    assert h.models.current.name == RELEASED_REPO
    # a token without access to the other model: warned, and the released model stays current and working
    with pytest.warns(UserWarning, match="has no access"):
        menu, *_ = h.select_model(OTHER_REPO, progress=Recorder())
    assert menu["value"] == RELEASED_REPO and h.pipeline is current and h.freed == []
    with pytest.raises(gr.Error) as err:   # the API says the same
        generate(h, text="piano", model=OTHER_REPO)
    assert err.value.message.startswith("model: ") and "has no access" in err.value.message
    player, stats, _ = generate(h, text="piano", duration=1.0, solver="euler", steps=2)
    assert stats["model"] == RELEASED_REPO and stats["NFE (field evaluations)"] == "2"

    # a network failure in the middle of a download: the same
    from huggingface_hub import file_download
    monkeypatch.setattr(file_download.time, "sleep", lambda s: None)
    served.add_repo(OTHER_REPO, released_repos[RELEASED_REPO], gated=True, token=RELEASED_TOKEN)
    served.interrupt_next("state_dict.bin", after_bytes=100_000, times=20, repo_id=OTHER_REPO)
    with pytest.warns(UserWarning, match="run again|Run again"):
        menu, *_ = h.select_model(OTHER_REPO, progress=Recorder())
    assert menu["value"] == RELEASED_REPO and h.pipeline is current


def test_unavailable_and_unknown_models_are_refused_with_the_reason(make_handlers, tiny_bundle_dir):
    h = make_handlers(states=[checkpoints.ModelStatus("embedded", "ready", "bundled"),
                              checkpoints.ModelStatus(RELEASED_REPO, "unavailable", "it is not downloaded and "
                                                      "HF_HUB_OFFLINE=1. Download it with `hf download ...`")])
    assert labels(h)[RELEASED_REPO] == f"{RELEASED_REPO} \u00b7 unavailable: offline (HF_HUB_OFFLINE=1)"
    assert "HF_HUB_OFFLINE=1" in h.unavailable_info()
    # the menu offers only what can be chosen; the unavailable model is listed apart, with its reason
    assert [value for _, value in h.models.menu()] == [c.value for c in h.models.choices if c.available]
    assert RELEASED_REPO not in dict((v, k) for k, v in h.models.menu()) and RELEASED_REPO in [c.value for c in h.models.choices]
    assert "1 unavailable model is listed" in h.models.menu_info()
    with pytest.raises(gr.Error, match="unavailable: it is not downloaded and HF_HUB_OFFLINE=1") as refused:
        generate(h, text="x", model=RELEASED_REPO)
    assert "`" not in refused.value.message and "Download it with hf download ..." in refused.value.message
    with pytest.raises(gr.Error, match="model: unknown model 'x'"):
        generate(h, text="x", model="x")
    with pytest.warns(UserWarning, match="unavailable"):  # gr.Warning outside an event
        menu, *_ = h.select_model(RELEASED_REPO)
    assert menu["value"] == tiny_bundle_dir and h.models.current is h.models.start
    assert h.select_model(tiny_bundle_dir) == (gr.skip(),) * len(H.PAGE_UPDATES)   # already current: nothing changes


def test_reasons_are_plain_text_in_a_toast():
    assert M.plain("set `HF_TOKEN` (see **Settings**), then `hf download x`") == \
        "set HF_TOKEN (see Settings), then hf download x"
    assert M.plain("a snake_case_name stays") == "a snake_case_name stays"


def test_short_reasons_for_the_menu():
    assert M.short_reason("the model x is gated: request access at http://h/x, then set HF_TOKEN") == \
        "gated: needs HF_TOKEN"
    assert M.short_reason("no model x at http://h (or it is private: set HF_TOKEN ...)") == "not on the Hub"
    assert M.short_reason("something else entirely. More words") == "something else entirely"
    choice = M.ModelChoice("a/b", "a/b", "download", download_bytes=1_400_000_000)
    assert choice.label() == "a/b \u00b7 downloads 1.40 GB on first use" and choice.label(True) == "a/b \u00b7 loaded"
    assert dataclasses.replace(choice, download_bytes=None).summary == "downloads its files on first use"
