import os

import pytest
import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from jasco_core.model import ConditionInputs, FlowMatchingModel, ModelConfig  # noqa: E402

def reference_dir() -> str:
    """Reference outputs of the original implementation: the shared copy next to the repository
    when present, else the copy kept under tests/fixtures (so CI always has them)."""
    shared = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "reference")
    if os.path.isdir(shared):
        return shared
    return os.path.join(os.path.dirname(__file__), "fixtures", "reference")


REFERENCE = reference_dir()
PARITY_FIXTURE = os.path.join(REFERENCE, "parity", "config_a.pt")
CHECKPOINT_FORMAT = os.path.join(REFERENCE, "checkpoint_format")   # a checkpoint in the released format
REF_STATE = os.path.join(CHECKPOINT_FORMAT, "state_dict.bin")


def tiny_config(**overrides) -> ModelConfig:
    base = dict(dim=32, num_heads=4, num_layers=2, flow_dim=8, chords_dim=4, drums_dim=2, melody_dim=4,
                text_dim=12, chords_card=194, null_chord_index=194, melody_bins=53, drums_latent_dim=4,
                drums_blurring_factor=3, time_embedding_dim=16, time_embedding_hidden=32)
    base.update(overrides)
    return ModelConfig(**base)


def tiny_model(seed: int = 0, **overrides) -> FlowMatchingModel:
    torch.manual_seed(seed)
    model = FlowMatchingModel(tiny_config(**overrides))
    model.init_weights()
    # random (non-zero) biases and norms so that every parameter matters in the tests
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("bias") or "norm" in name:
                p.add_(0.1 * torch.randn_like(p))
    return model.eval()


def tiny_inputs(model: FlowMatchingModel, batch: int = 2, frames: int = 20, seed: int = 1) -> ConditionInputs:
    g = torch.Generator().manual_seed(seed)
    cfg = model.cfg
    L = 5
    mask = torch.ones(batch, L, dtype=torch.long)
    mask[1:, 3:] = 0
    melody = torch.zeros(batch, cfg.melody_bins, frames)
    melody[:, 10, :] = 1.0
    return ConditionInputs(
        text=torch.randn(batch, L, cfg.text_dim, generator=g), text_mask=mask,
        chords=torch.randint(0, cfg.chords_card, (batch, frames), generator=g),
        melody=melody, drums=torch.randn(batch, frames, cfg.drums_latent_dim, generator=g),
        drums_silence=torch.randn(cfg.drums_latent_dim, generator=g))


@pytest.fixture
def parity_fixture_path():
    if not os.path.exists(PARITY_FIXTURE):
        pytest.skip(f"reference parity fixture not found at {PARITY_FIXTURE}")
    return PARITY_FIXTURE


@pytest.fixture
def reference_state():
    """`state_dict.bin` in the released format (tiny sizes, real structure)."""
    if not os.path.exists(REF_STATE):
        pytest.skip(f"reference checkpoint not found at {REF_STATE}")
    return REF_STATE


@pytest.fixture
def empty_cache(tmp_path, monkeypatch):
    """An empty Hugging Face cache, offline."""
    cache = tmp_path / "hub"
    cache.mkdir()
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.delenv("AUDIOCRAFT_CACHE_DIR", raising=False)
    return str(cache)


@pytest.fixture(scope="session")
def tiny_hub(tmp_path_factory):
    """Tiny random T5 / EnCodec / JASCO models in a hub cache layout (see `released_fixtures`)."""
    from tests.released_fixtures import build_tiny_hub
    return build_tiny_hub(tmp_path_factory.mktemp("tiny_hub"))


@pytest.fixture
def hub_env(tiny_hub, monkeypatch):
    """The tiny hub as this test's (offline) Hugging Face cache."""
    monkeypatch.setenv("HF_HUB_CACHE", tiny_hub["cache"])
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.delenv("AUDIOCRAFT_CACHE_DIR", raising=False)
    return tiny_hub


@pytest.fixture
def fake_hub(monkeypatch, tmp_path):
    """A started, empty Hugging Face Hub on 127.0.0.1 (`tests/hub_server.py`), with the real client
    prepared to talk to it: online, anonymous."""
    from tests.hub_server import running_hub
    with running_hub(monkeypatch, tmp_path) as hub:
        yield hub


@pytest.fixture(scope="session")
def released_repos(tmp_path_factory):
    """The files of a released model repository (the reference checkpoint), of its T5 and of its
    EnCodec, as a Hub would serve them: {repo id: {filename: path}}."""
    from tests.released_fixtures import build_released_repos
    if not os.path.exists(REF_STATE):
        pytest.skip(f"reference checkpoint not found at {REF_STATE}")
    return build_released_repos(tmp_path_factory.mktemp("released_repos"), CHECKPOINT_FORMAT)


# -- a rendered drum pattern, shared by the drums, audio and metrics tests -------------------------
HITS = [0.0, 0.5, 1.0, 1.25, 1.5, 2.0, 2.5, 3.0, 3.25, 3.5]


def drum_track(fs=48000):
    """A rendered kick/snare/hat pattern (General MIDI drum kit), mono float."""
    import numpy as np
    import pretty_midi

    pm = pretty_midi.PrettyMIDI()
    kit = pretty_midi.Instrument(program=0, is_drum=True, name="Kit")
    for k, t in enumerate(HITS):
        pitch = 36 if k % 2 == 0 else 38
        kit.notes.append(pretty_midi.Note(velocity=110, pitch=pitch, start=0.05 + t, end=0.05 + t + 0.1))
    pm.instruments.append(kit)
    return pm.fluidsynth(fs=fs).astype(np.float32)


@pytest.fixture(scope="session")
def drums48k():
    return drum_track(48000)


# -- the released chord vocabulary, shared by the chord tests -------------------------------------
def vocabulary():
    from jasco_core.conditions import load_vocabulary
    return load_vocabulary()


def idx(label: str) -> int:
    """Index of a vocabulary label."""
    return vocabulary().index_of(label)


# -- the demo's tiny model, handlers and a launched app (built once; see demo_fixtures.py) ---------
@pytest.fixture(scope="session")
def tiny_bundle_dir() -> str:
    from demo_fixtures import build_tiny_bundle
    return build_tiny_bundle()


@pytest.fixture(scope="session")
def tiny_handlers():
    from demo_fixtures import build_tiny_handlers
    return build_tiny_handlers()


@pytest.fixture(scope="session")
def tiny_app_url() -> str:
    from demo_fixtures import launch_tiny_app
    return launch_tiny_app()


# -- helpers of the demo tests ---------------------------------------------------------------------
class Recorder:
    """Stands in for gr.Progress: records (fraction, description)."""

    def __init__(self, on_call=None):
        self.calls, self.on_call = [], on_call

    def __call__(self, fraction, desc=None, **_):
        self.calls.append((fraction, desc))
        if self.on_call:
            self.on_call(len(self.calls))


def png_bytes(fig) -> bytes:
    """A matplotlib figure rendered to PNG (checked to be one)."""
    import io
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    data = buffer.getvalue()
    assert data.startswith(b"\x89PNG")
    return data
