"""Bundle folders: save then load gives the same model; `bundle.json` chooses the encoders; broken
folders give a `CheckpointError` naming the file."""
import json
import os

import pytest
import torch

from jasco_core.checkpoints import (CheckpointError, GenerationDefaults, load_bundle, load_embedded_bundle,
                                    save_embedded_bundle)
from jasco_core.codecs.mel import MelCodec
from jasco_core.encoders.drums_features import FeatureDrumEncoder
from jasco_core.encoders.text_minilm import MiniLMTextEncoder
from jasco_core.guidance import Guidance
from jasco_core.model import FlowMatchingModel, ModelConfig


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    torch.manual_seed(0)
    model = FlowMatchingModel(ModelConfig(dim=32, num_heads=4, num_layers=1, flow_dim=64, chords_dim=4, drums_dim=2,
                                          melody_dim=0, text_dim=384, drums_latent_dim=4, time_embedding_dim=16,
                                          time_embedding_hidden=32))
    model.init_weights()
    codec = MelCodec()
    codec.fit_stats([torch.randn(22050).numpy() * 0.1])
    path = str(tmp_path_factory.mktemp("bundle") / "tiny")
    save_embedded_bundle(path, model, codec, name="tiny", max_duration=4.0,
                         defaults=GenerationDefaults(guidance=Guidance(all=2.0, text=-1.0)))
    return path, model


def test_save_then_load_is_the_same_model(saved):
    path, model = saved
    assert sorted(os.listdir(path)) == ["bundle.json", "codec.json", "model.safetensors", "model_config.json"]
    bundle = load_embedded_bundle(path)
    assert bundle.name == "tiny" and bundle.max_duration == 4.0 and bundle.defaults.guidance.text == -1.0
    assert bundle.model.cfg == model.cfg and bundle.accepts == ("text", "chords", "drums")
    for key, value in model.state_dict().items():
        assert torch.equal(bundle.model.state_dict()[key], value), key
    assert isinstance(bundle.text_encoder, MiniLMTextEncoder) and isinstance(bundle.drum_encoder, FeatureDrumEncoder)
    assert load_bundle(path).model.cfg == model.cfg                      # a folder name resolves to it


def _copy(src, dst, edit=None):
    os.makedirs(dst)
    for name in os.listdir(src):
        with open(os.path.join(src, name), "rb") as f:
            data = f.read()
        with open(os.path.join(dst, name), "wb") as f:
            f.write(data)
    if edit:
        meta = json.load(open(os.path.join(dst, "bundle.json")))
        edit(meta)
        json.dump(meta, open(os.path.join(dst, "bundle.json"), "w"))


def test_bundle_json_chooses_the_encoders(saved, tmp_path):
    path, _ = saved
    _copy(path, tmp_path / "clip", lambda m: m.update(text_encoder={"type": "clip"}))
    with pytest.raises(CheckpointError, match="unknown text encoder 'clip'"):
        load_embedded_bundle(str(tmp_path / "clip"))
    _copy(path, tmp_path / "t5", lambda m: m.update(text_encoder={"type": "t5", "name": "absent-t5"}))
    with pytest.raises(CheckpointError, match="absent-t5"):                # T5 is chosen, and is not cached
        load_embedded_bundle(str(tmp_path / "t5"))
    _copy(path, tmp_path / "drums", lambda m: m.update(drum_encoder={"type": "stems"}))
    with pytest.raises(CheckpointError, match="unknown drum encoder 'stems'"):
        load_embedded_bundle(str(tmp_path / "drums"))


def test_broken_folders_name_the_file(saved, tmp_path):
    path, _ = saved
    _copy(path, tmp_path / "truncated")
    with open(tmp_path / "truncated" / "codec.json", "w") as f:
        f.write('{"type": "mel", "sample_')
    with pytest.raises(CheckpointError, match="codec.json is not a readable JSON file"):
        load_embedded_bundle(str(tmp_path / "truncated"))
    _copy(path, tmp_path / "missing")
    os.remove(tmp_path / "missing" / "model_config.json")
    with pytest.raises(CheckpointError, match="missing bundle file .*model_config.json"):
        load_embedded_bundle(str(tmp_path / "missing"))


def test_truncated_weights_are_a_clear_error(saved, tmp_path):
    path, _ = saved
    _copy(path, tmp_path / "cut")
    weights = tmp_path / "cut" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    with pytest.raises(CheckpointError, match="model.safetensors is not a readable safetensors file"):
        load_embedded_bundle(str(tmp_path / "cut"))
