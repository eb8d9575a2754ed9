"""`jasco_core.encoders`: the protocols and the choice of encoder from a bundle's `bundle.json`."""
import numpy as np
import pytest
import torch

from jasco_core.encoders import DrumEncoder, TextEncoder, drum_encoder_from_spec, text_encoder_from_spec
from jasco_core.errors import CheckpointError


def test_minilm_from_spec_encodes_text():
    encoder = text_encoder_from_spec({"type": "minilm"}, dim=384)
    assert isinstance(encoder, TextEncoder) and encoder.dim == 384
    states, mask = encoder.encode(["warm piano", ""])
    assert states.shape[0] == 2 and states.shape[2] == 384 and mask[1].sum() == 0 and mask[0].sum() > 0
    assert text_encoder_from_spec("minilm", dim=384).dim == 384          # the short form


def test_t5_from_spec_uses_the_named_model(hub_env):
    from tests.released_fixtures import T5_DIM, T5_REPO
    encoder = text_encoder_from_spec({"type": "t5", "name": T5_REPO}, dim=T5_DIM)
    states, _ = encoder.encode(["upbeat jazz piano"])
    assert states.shape[-1] == T5_DIM and torch.isfinite(states).all()


@pytest.mark.parametrize("spec, dim, words", [
    ({"type": "clip"}, 384, "unknown text encoder 'clip'"),
    ({"name": "minilm"}, 384, "must be"),
    (7, 384, "must be"),
    ({"type": "minilm"}, 512, "produces 384 features"),
])
def test_text_spec_errors(spec, dim, words):
    with pytest.raises(CheckpointError, match=words) as err:
        text_encoder_from_spec(spec, dim=dim, source="bundle/bundle.json")
    assert err.value.field == "model" and "bundle/bundle.json" in str(err.value)


def test_drum_encoder_from_spec():
    encoder = drum_encoder_from_spec({"type": "features"}, latent_dim=4, frame_rate=50.0)
    assert isinstance(encoder, DrumEncoder)
    clicks = np.zeros(22050, np.float32)
    clicks[::5512] = 1.0
    latents = encoder.encode(clicks, 22050, 50)
    assert latents.shape == (50, 4) and latents.max() > 0
    with pytest.raises(CheckpointError, match="unknown drum encoder 'demucs'"):
        drum_encoder_from_spec({"type": "demucs"}, latent_dim=4, frame_rate=50.0)
