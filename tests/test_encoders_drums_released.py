"""`ReleasedDrumEncoder`: drum latents of the released models (coarsest EnCodec codebook of the stem)."""
import numpy as np
import torch

from tests.released_fixtures import LATENT_DIM


def test_released_drum_encoder(hub_env):
    from jasco_core.codecs.encodec import EncodecCodec
    from jasco_core.encoders.drums_released import NO_DEMUCS_NOTE, ReleasedDrumEncoder

    codec = EncodecCodec.from_state_dict(hub_env["encodec"].state_dict(), latent_mean=0.5, latent_std=2.0)
    audio = 0.1 * torch.randn(6400)
    drums = ReleasedDrumEncoder(codec, segment_duration=0.4)
    assert drums.separator is None and drums.notes == [NO_DEMUCS_NOTE]   # demucs is not installed here
    lat = drums.encode(audio.numpy(), 32000, 8)
    assert lat.shape == (8, LATENT_DIM) and lat.dtype == np.float32
    np.testing.assert_allclose(drums.silence(8), drums.encode(np.zeros(100, np.float32), 32000, 8))
