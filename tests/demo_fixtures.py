"""A tiny model bundle for the demo's tests, built once per test session.

The bundle has the embedded model's format and parts (flow-matching transformer, `MelCodec`,
MiniLM text encoder, feature drum encoder, all four conditions) but random weights of a few
thousand parameters, so a 2 s generation takes about a second on a CPU. Its defaults are Euler
with 4 steps, guidance (3, 0) and a 2 s clip.

    tiny_bundle_dir, tiny_handlers, tiny_app_url                # fixtures, in tests/conftest.py
"""
from __future__ import annotations

import atexit
import functools
import os
import shutil
import tempfile

import numpy as np
import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

TINY_DURATION = 2.0
TINY_MAX_DURATION = 10.0


def _codec_audio(sample_rate: int, seconds: float = 1.0) -> np.ndarray:
    """A second of synthetic music-like audio (a chord of partials, a few clicks, some noise)."""
    rng = np.random.default_rng(0)
    t = np.arange(int(sample_rate * seconds)) / sample_rate
    audio = sum(0.2 / k * np.sin(2 * np.pi * f * k * t) for f in (220.0, 277.2, 329.6) for k in (1, 2, 3))
    clicks = np.zeros_like(t)
    clicks[:: sample_rate // 4] = 1.0
    audio = audio + np.convolve(clicks, np.exp(-np.arange(400) / 40.0), mode="same") * 0.3
    audio = audio + 0.01 * rng.standard_normal(t.size)
    return (0.8 * audio / np.abs(audio).max()).astype(np.float32)


@functools.lru_cache(maxsize=None)
def build_tiny_bundle() -> str:
    """Write the tiny bundle into a temporary folder (removed at exit) and return its path."""
    from jasco_core.checkpoints import GenerationDefaults
    from jasco_core.checkpoints import save_embedded_bundle
    from jasco_core.codecs.mel import MelCodec
    from jasco_core.guidance import Guidance
    from jasco_core.model import FlowMatchingModel, ModelConfig
    from jasco_core.solvers import SolverConfig

    torch.manual_seed(0)
    model = FlowMatchingModel(ModelConfig(
        dim=32, num_heads=4, num_layers=2, flow_dim=64, chords_dim=4, drums_dim=2, melody_dim=4, text_dim=384,
        drums_latent_dim=4, drums_blurring_factor=1, time_embedding_dim=16, time_embedding_hidden=32))
    model.init_weights()
    model.eval()
    codec = MelCodec()
    codec.fit_stats([_codec_audio(codec.sample_rate)])
    folder = tempfile.mkdtemp(prefix="jasco-tiny-bundle-")
    atexit.register(shutil.rmtree, folder, True)
    save_embedded_bundle(folder, model, codec, defaults=GenerationDefaults(
        guidance=Guidance(3, 0), solver=SolverConfig("euler", steps=4), duration=TINY_DURATION),
        max_duration=TINY_MAX_DURATION)
    return folder


OTHER_DEFAULTS = {"guidance": {"all": 2.0, "text": 1.0, "null": -4.0},
                  "solver": {"method": "dopri5", "steps": 4, "rtol": 1e-3, "atol": 1e-4, "max_nfe": 200, "t_end": None,
                             "schedule": "uniform"},
                  "duration": 3.0}


@functools.lru_cache(maxsize=None)
def build_other_bundle() -> str:
    """The tiny bundle under another name with other defaults (`OTHER_DEFAULTS`: guidance (2, 1, -4),
    dopri5 at 1e-3 / 1e-4 capped at 200 NFE, 3 s clips): a second model for the model menu."""
    import json

    folder = tempfile.mkdtemp(prefix="jasco-other-bundle-")
    atexit.register(shutil.rmtree, folder, True)
    shutil.copytree(build_tiny_bundle(), folder, dirs_exist_ok=True)
    path = os.path.join(folder, "bundle.json")
    with open(path) as f:
        bundle = json.load(f)
    bundle.update(name="tiny-other", defaults=OTHER_DEFAULTS)
    with open(path, "w") as f:
        json.dump(bundle, f)
    return folder


def music_clip(path: str, seconds: float, sample_rate: int = 22050) -> str:
    """A WAV of `seconds` of synthetic music (chord partials, clicks, a little noise) at `path`."""
    import soundfile as sf

    one = _codec_audio(sample_rate)
    sf.write(path, np.tile(one, int(np.ceil(seconds)))[:int(round(seconds * sample_rate))], sample_rate)
    return path


def other_model_states() -> list:
    """The model menu's states: the released models as this machine sees them, and the other bundle."""
    from demo.models import read_states
    from jasco_core.checkpoints import ModelStatus

    return read_states() + [ModelStatus(build_other_bundle(), "ready", "a second tiny model")]


@functools.lru_cache(maxsize=None)
def build_tiny_handlers():
    """`DemoHandlers` around the tiny bundle (shared by the tests of a session); the other bundle
    is in its menu (a test that switches to it switches back)."""
    from demo.handlers import DemoHandlers

    outputs = tempfile.mkdtemp(prefix="jasco-demo-test-outputs-")
    atexit.register(shutil.rmtree, outputs, True)
    return DemoHandlers(build_tiny_bundle(), output_dir=outputs, states=other_model_states())


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@functools.lru_cache(maxsize=None)
def launch_tiny_app() -> str:
    """The demo around the tiny bundle, served on 127.0.0.1 in this process; returns its URL.
    One server is shared by the client and browser tests and closed at exit."""
    from demo.ui import build_demo, launch_options

    app = build_demo(build_tiny_handlers())
    _, url, _ = app.launch(server_name="127.0.0.1", server_port=free_port(), prevent_thread_lock=True,
                           quiet=True, **launch_options())
    atexit.register(app.close)
    return url


# -- released models served by a fake Hugging Face Hub on 127.0.0.1 (tests/hub_server.py) ----------
RELEASED_TOKEN = "hf_demo_test_token"


def serve_released(hub, repos, monkeypatch, home: str, token: str = RELEASED_TOKEN) -> None:
    """`hub` serves the released model (gated, `token` grants access), its T5 and its EnCodec; the
    real huggingface_hub client talks to it (HF_ENDPOINT), caches into a fresh `home` (HF_HOME),
    online, and with `HF_TOKEN=token` (delete it to be anonymous)."""
    from tests.hub_server import prepare_client
    from tests.released_fixtures import ENCODEC_32K_REPO, RELEASED_REPO, T5_BASE_REPO

    hub.add_repo(RELEASED_REPO, repos[RELEASED_REPO], gated=True, token=token)
    hub.add_repo(T5_BASE_REPO, repos[T5_BASE_REPO])
    hub.add_repo(ENCODEC_32K_REPO, repos[ENCODEC_32K_REPO])
    prepare_client(monkeypatch, home)
    monkeypatch.setenv("HF_ENDPOINT", hub.url)
    monkeypatch.setenv("HF_HOME", str(home))
    for name in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "AUDIOCRAFT_CACHE_DIR", "HF_HUB_OFFLINE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HF_TOKEN", token)


def slow_downloads(monkeypatch, chunk: int = 64 * 1024, pause: float = 0.02) -> None:
    """Downloads from the fake Hub arrive in `chunk`-byte pieces every `pause` seconds (and the
    client reports each piece), so a download lasts long enough to show its rate and time left."""
    import time

    from huggingface_hub import constants
    from tests import hub_server

    read = hub_server._File.read

    def slow_read(self, start, end):
        for piece in read(self, start, end):
            time.sleep(pause)
            yield piece

    monkeypatch.setattr(hub_server, "_CHUNK", chunk)
    monkeypatch.setattr(hub_server._File, "read", slow_read)
    monkeypatch.setattr(constants, "DOWNLOAD_CHUNK_SIZE", chunk)
