"""Released audiocraft JASCO checkpoints: safe reading, strict building, loading as a bundle (from a
folder, the file, or the cache) and generating, on the reference checkpoint and tiny random models."""
import os

import numpy as np
import pytest
import torch

from jasco_core import checkpoints as ck
from jasco_core.checkpoints import CheckpointError
from jasco_core.model import ConditionInputs
from tests.conftest import CHECKPOINT_FORMAT as REFERENCE
from tests.released_fixtures import ENCODEC_REPO, LATENT_DIM


class _Payload:
    """Unpickling this would create a directory (a stand-in for arbitrary code)."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


def _hook():  # a module-level function: pickled by reference, needs an import to load
    return 42


def test_reference_checkpoint_rebuilds_with_all_parameters(reference_state):
    state, settings = ck.read_released(reference_state)
    cfg = settings.model_config
    assert (cfg.dim, cfg.num_heads, cfg.num_layers, cfg.flow_dim) == (64, 4, 2, 128)
    assert (cfg.chords_dim, cfg.drums_dim, cfg.melody_dim, cfg.text_dim) == (16, 2, 0, 768)
    assert cfg.cross_attention and cfg.time_embedding_hidden == 512 and cfg.sequence_length == 500
    assert cfg.chords_card == cfg.null_chord_index == 194 and cfg.drums_blurring_factor == 3
    assert cfg.temporal_conditions == ("chords", "self_wav")
    assert settings.text_encoder == "t5-base" and settings.sample_rate == 32000 and settings.frame_rate == 50
    assert (settings.latent_mean, settings.latent_std, settings.segment_duration) == (-0.0074, 4.0102, 10.0)
    assert settings.defaults().guidance.weights() == {"all": 5.0, "text": 0.0, "null": -4.0}

    model = ck.build_released_model(state, settings)
    in_model = sum(p.numel() for p in model.parameters()) + sum(b.numel() for b in model.buffers())
    assert in_model == sum(v.numel() for v in state.values()) == ck.parameter_counts(state)["total"]
    for key, value in model.state_dict().items():
        assert torch.equal(value, state[key]), key

    with open(os.path.join(REFERENCE, "param_list.txt")) as f:
        rows = [line.split("\t") for line in f if line.strip()]
    assert len(rows) == len(state) == 43
    assert sum(int(np.prod(eval(shape))) for _, shape, _ in rows) == in_model
    assert {name for name, _, _ in rows} == set(state)


def test_reference_forward_with_random_conditions(reference_state):
    state, settings = ck.read_released(reference_state)
    model = ck.build_released_model(state, settings)
    cfg = model.cfg
    g = torch.Generator().manual_seed(0)
    B, T = 2, 30
    inputs = ConditionInputs(text=torch.randn(B, 5, cfg.text_dim, generator=g),
                             text_mask=torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]]),
                             chords=torch.randint(0, 194, (B, T), generator=g),
                             drums=torch.randn(B, T, cfg.drums_latent_dim, generator=g))
    with torch.no_grad():
        tensors = model.condition_provider(inputs, B, T)
        v = model(torch.randn(B, T, cfg.flow_dim, generator=g), torch.tensor([0.3]), tensors)
    assert v.shape == (B, T, 128) and torch.isfinite(v).all()


@pytest.mark.parametrize("payload", ["reduce", "function"])
def test_pickled_code_is_refused_and_not_executed(tmp_path, payload):
    marker = str(tmp_path / "executed")
    path = tmp_path / "state_dict.bin"
    obj = _Payload(marker) if payload == "reduce" else _hook
    torch.save({"best_state": {"w": torch.zeros(2)}, "xp.cfg": "a: 1", "hook": obj}, str(path))
    with pytest.raises(CheckpointError) as err:
        ck.read_checkpoint(str(path))
    assert str(path) in str(err.value) and "run code" in str(err.value)
    assert err.value.field == "model"
    assert not os.path.exists(marker)
    with pytest.raises(CheckpointError):
        ck.load_bundle(str(tmp_path))


def test_not_a_checkpoint(tmp_path):
    bad = tmp_path / "state_dict.bin"
    bad.write_bytes(b"this is not a torch file")
    with pytest.raises(CheckpointError, match="not a readable torch checkpoint"):
        ck.read_checkpoint(str(bad))
    torch.save({"weights": {}}, str(bad))
    with pytest.raises(CheckpointError, match="missing \\['best_state', 'xp.cfg'\\]"):
        ck.read_released(str(bad))


def test_load_released_bundle_from_folder_file_and_cache(hub_env):
    full = ck.load_bundle(hub_env["full"])
    assert full.accepts == ("text", "chords", "drums", "melody")
    assert (full.sample_rate, full.frame_rate, full.max_duration) == (32000, 50.0, 2.0)
    assert "stored in the checkpoint" in full.codec.source
    assert full.defaults.guidance.weights()["all"] == 5.0 and full.defaults.duration == 2.0
    assert full.info["warnings"] and full.vocabulary.null_index == 194
    # the codec shares the tensors the model keeps in its drums conditioner (no second copy)
    bag = full.model.condition_provider.conditioners["self_wav"].compression_model
    assert bag.get("model.quantizer.layers.0.codebook.embed").data_ptr() == \
        full.codec.model.quantizer.layers[0].codebook.embed.data_ptr()

    slim = ck.load_bundle(os.path.join(hub_env["slim"], "state_dict.bin"))
    assert ENCODEC_REPO in slim.codec.source
    audio = 0.1 * torch.randn(1, 6400)
    torch.testing.assert_close(slim.codec.encode(audio), full.codec.encode(audio))

    cached = ck.load_bundle("tiny-org/jasco-tiny")
    assert cached.name == "tiny-org/jasco-tiny" and cached.model.cfg == full.model.cfg


def test_end_to_end_generation(hub_env):
    import jasco_core
    from jasco_core.solvers import SolverConfig

    pipe = jasco_core.load_pipeline(hub_env["full"], device="cpu")
    solver = SolverConfig(method="euler", steps=2)
    a = pipe.generate("upbeat jazz piano", chords="C:0 F:1", duration=2.0, solver=solver, seed=0)
    assert a.sample_rate == 32000 and a.audio.shape == (1, 64000) and np.isfinite(a.audio).all()
    assert a.latents.shape == (1, 100, LATENT_DIM) and a.nfe == 2
    b = pipe.generate("upbeat jazz piano", chords="C:0 F:1", duration=2.0, solver=solver, seed=0)
    np.testing.assert_array_equal(a.audio, b.audio)
    rng = np.random.default_rng(0)
    drums = (0.3 * rng.standard_normal(64000)).astype(np.float32)
    d = pipe.generate("rock guitar with drums", drums=(drums, 32000), duration=2.0, solver=solver, seed=0)
    assert d.audio.shape == (1, 64000) and np.isfinite(d.audio).all()
    assert not np.array_equal(d.latents.numpy(), a.latents.numpy())


def test_frames_before_the_first_chord_are_no_chord_as_in_the_original(hub_env):
    from jasco_core.conditions.encode import encode_conditions, read_conditions

    bundle = ck.load_bundle(hub_env["full"])
    assert bundle.chords_before_first == "no_chord"
    timeline = read_conditions(bundle, chords="C:0.5 F:1", duration=2.0)
    chords = encode_conditions(bundle, "", timeline).inputs.chords[0]
    assert chords[:25].tolist() == [bundle.vocabulary.no_chord_index] * 25 == [0] * 25
    assert chords[25].item() == bundle.vocabulary.index_of("C")


def test_long_clips_and_repaint_take_the_same_path(hub_env):
    import jasco_core
    from jasco_core.solvers import SolverConfig

    pipe = jasco_core.load_pipeline(hub_env["full"], device="cpu")
    assert pipe.window_seconds == 2.0
    solver = SolverConfig("euler", steps=2)
    long = pipe.generate("upbeat jazz piano", chords="C:0 F:1 G:2.5 C:4", duration=5.0, seed=0, solver=solver)
    assert long.audio.shape == (1, 5 * 32000) and np.isfinite(long.audio).all() and len(long.windows) == 3
    painted = pipe.repaint((long.audio[0], 32000), 2.0, 3.0, "rock guitar", chords="C:0 D:2 G:2.5 C:4", seed=1,
                           solver=solver)
    assert painted.audio.shape == long.audio.shape
    assert np.array_equal(painted.audio[0, :60000], long.audio[0, :60000])
    assert not np.allclose(painted.audio[0, 66000:94000], long.audio[0, 66000:94000])
