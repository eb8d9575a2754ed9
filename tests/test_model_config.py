"""ModelConfig: round trips, strict keys, and the mapping from audiocraft flat settings."""

import pytest

from jasco_core.model import ModelConfig
from tests.conftest import tiny_config


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
