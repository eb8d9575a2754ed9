"""FlowMatchingModel, its config and conditioners: construction, loading, per-request caching."""

import pytest
import torch

from jasco_core.model import ModelConfig, build_model, null_inputs
from jasco_core.model.flow_matching import align_frames, timestep_embedding
from tests.conftest import tiny_config, tiny_inputs, tiny_model


def test_config_round_trip_and_strictness():
    cfg = tiny_config(skip_connections=True, num_layers=4)
    assert ModelConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ValueError, match="unknown keys"):
        ModelConfig.from_dict({**cfg.to_dict(), "dimm": 3})
    with pytest.raises(ValueError, match="divisible"):
        tiny_config(dim=30)
    assert cfg.emb_in_features == cfg.flow_dim + cfg.chords_dim + cfg.drums_dim + cfg.melody_dim
    assert cfg.temporal_conditions == ("chords", "self_wav", "melody")


def test_from_flat_drops_conditions_the_model_lacks():
    flat = {**tiny_config().to_dict(), "conditioners": ["description", "chords", "self_wav"], "n_q": 4}
    flat.pop("attribute_dropout")
    cfg = ModelConfig.from_flat(flat)
    assert cfg.melody_dim == 0 and cfg.temporal_conditions == ("chords", "self_wav")


def test_state_dict_round_trip_and_key_errors():
    model = tiny_model(seed=1)
    state = model.state_dict()
    rebuilt = build_model(model.cfg, state)
    for key, value in rebuilt.state_dict().items():
        assert torch.equal(value, state[key])
    missing = {k: v for k, v in state.items() if not k.startswith("temb_proj")}
    with pytest.raises(KeyError, match="missing .*temb_proj"):
        build_model(model.cfg, missing)
    with pytest.raises(KeyError, match="unexpected .*extra.weight"):
        build_model(model.cfg, {**state, "extra.weight": torch.zeros(1)})


def test_prepared_forward_equals_plain_forward_and_depends_on_t():
    model = tiny_model()
    inputs = tiny_inputs(model)
    tensors = model.condition_provider(inputs, 2, 20)
    z = torch.randn(2, 20, model.cfg.flow_dim)
    with torch.no_grad():
        prepared = model.prepare(tensors, 20)
        a = model(z, torch.tensor([0.3]), tensors)
        b = model.forward_prepared(z, torch.tensor([0.3]), prepared)
        c = model.forward_prepared(z, torch.tensor([0.9]), prepared)
        per_sample = model.forward_prepared(z, torch.tensor([0.3, 0.9]), prepared)
    torch.testing.assert_close(a, b)
    assert not torch.allclose(b, c)
    torch.testing.assert_close(per_sample[0], b[0], rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(per_sample[1], c[1], rtol=1e-5, atol=1e-6)


def test_conditions_change_the_field():
    model = tiny_model()
    inputs = tiny_inputs(model)
    z = torch.randn(2, 20, model.cfg.flow_dim)
    t = torch.tensor([0.5])
    with torch.no_grad():
        base = model(z, t, model.condition_provider(inputs, 2, 20))
        for name in ("description", "chords", "melody", "self_wav"):
            off = null_inputs(model.cfg, inputs, (name,))
            assert not torch.allclose(base, model(z, t, model.condition_provider(off, 2, 20))), name


def test_null_semantics():
    model = tiny_model()
    inputs = tiny_inputs(model)
    off = null_inputs(model.cfg, inputs, ("description", "chords", "melody", "self_wav"))
    assert off.text.abs().sum() == 0 and off.text_mask.sum() == 0 and off.text.shape == inputs.text.shape
    assert (off.chords == model.cfg.null_chord_index).all() and off.melody.abs().sum() == 0
    assert not off.drums_present.any()
    tensors = model.condition_provider(off, 2, 20)
    bias = model.condition_provider.conditioners["self_wav"].output_proj.bias
    torch.testing.assert_close(tensors["self_wav"][0], bias.expand(2, 20, -1))  # no drums anywhere: bias
    assert tensors["description"][0].abs().sum() == 0


def test_small_helpers():
    emb = timestep_embedding(torch.tensor([0.0, 1.0]), 8)
    assert emb.shape == (2, 8) and torch.equal(emb[0, :4], torch.zeros(4)) and torch.equal(emb[0, 4:], torch.ones(4))
    c = torch.ones(1, 5, 3)
    assert align_frames(c, 3).shape == (1, 3, 3)
    padded = align_frames(c, 7)
    assert padded.shape == (1, 7, 3) and padded[:, 5:].abs().sum() == 0


def test_blur_matches_block_means():
    model = tiny_model()
    drums = model.condition_provider.conditioners["self_wav"]
    z = torch.arange(8, dtype=torch.float32).view(1, 8, 1)
    out = drums.temporal_blur(z)[0, :, 0].tolist()
    assert out[:6] == [1.0, 1.0, 1.0, 4.0, 4.0, 4.0]
    # last partial block reflect-padded: frames 6, 7 and 6 again
    assert out[6:] == pytest.approx([19 / 3, 19 / 3])
