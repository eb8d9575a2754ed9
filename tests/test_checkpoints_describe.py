"""`describe`: what a model contains without loading its text encoder or codec."""
import pytest
import torch

from jasco_core import checkpoints as ck
from jasco_core.checkpoints import CheckpointError


def test_describe_the_embedded_bundle():
    d = ck.describe("embedded")
    assert d["format"] == "bundle folder" and d["name"] == "embedded" and d["sample_rate"] == 22050
    assert d["frame_rate"] == 50.0 and d["accepts"] == ["text", "chords", "drums", "melody"]
    assert d["parameters"]["total"] > 8_000_000 and d["latent_dim"] == d["model_config"]["flow_dim"]
    assert "model:" in ck.format_description(d) and "accepts:       text, chords, drums, melody" in ck.format_description(d)


def test_describe_a_released_checkpoint(reference_state):
    d = ck.describe(reference_state)
    assert d["format"] == "audiocraft JASCO checkpoint" and d["text_encoder"] == "t5-base"
    assert d["codec"] == "pretrained facebook/encodec_32khz" and d["max_duration"] == 10.0
    assert d["parameters"]["codec_in_state"] == 8192 and d["accepts"] == ["text", "chords", "drums"]


def test_missing_and_unexpected_keys_are_listed(reference_state, tmp_path):
    pkg = torch.load(reference_state, map_location="cpu", weights_only=True)
    state = dict(pkg["best_state"])
    del state["transformer.layers.1.linear2.weight"]
    state["transformer.layers.9.extra.weight"] = torch.zeros(3)
    torch.save({**pkg, "best_state": state}, str(tmp_path / "state_dict.bin"))
    with pytest.raises(CheckpointError) as err:
        ck.describe(str(tmp_path))
    msg = str(err.value)
    assert "transformer.layers.1.linear2.weight" in msg and "transformer.layers.9.extra.weight" in msg
    assert "missing (1)" in msg and "unexpected (1)" in msg
