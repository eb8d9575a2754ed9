"""`EncodecCodec`: the released models' codec against the `transformers` EnCodec it wraps."""
import torch

from tests.released_fixtures import LATENT_DIM


def test_encodec_codec_latents(hub_env):
    from jasco_core.codecs.encodec import EncodecCodec

    ref = hub_env["encodec"]
    codec = EncodecCodec.from_state_dict(ref.state_dict(), latent_mean=0.5, latent_std=2.0)
    assert (codec.sample_rate, codec.frame_rate, codec.dim, codec.hop_length) == (32000, 50.0, LATENT_DIM, 640)
    assert codec.frames_for(2.0) == 100 and codec.frames_for(0.01) == 1
    audio = 0.1 * torch.randn(2, 6400)
    with torch.no_grad():
        raw = ref.encoder(audio[:, None]).transpose(1, 2)
        z = codec.encode(audio)
        assert z.shape == (2, 10, LATENT_DIM)
        torch.testing.assert_close(z, (raw - 0.5) / 2.0)                 # continuous, pre-quantisation
        torch.testing.assert_close(codec.decode(z), ref.decoder((z * 2.0 + 0.5).transpose(1, 2))[:, 0])
        codes = ref.quantizer.layers[0].encode(ref.encoder(audio[:1, None]))
        torch.testing.assert_close(codec.coarse_latents(audio[:1])[0], ref.quantizer.layers[0].codebook.embed[codes[0]])


def test_encodec_32khz_config_is_inferred_from_tensor_shapes():
    from transformers import EncodecConfig, EncodecModel

    from jasco_core.codecs.encodec import ENCODEC_32KHZ, encodec_config_from_state

    reference = EncodecConfig(**ENCODEC_32KHZ)
    with torch.device("meta"):  # shapes only
        state = EncodecModel(reference).state_dict()
    inferred = encodec_config_from_state(state)
    for key in ("upsampling_ratios", "num_filters", "hidden_size", "codebook_size", "codebook_dim", "num_lstm_layers",
                "num_residual_layers", "kernel_size", "last_kernel_size", "residual_kernel_size", "compress",
                "use_conv_shortcut", "norm_type", "audio_channels", "sampling_rate", "num_quantizers"):
        assert getattr(inferred, key) == getattr(reference, key), key
    assert inferred.num_quantizers == 4 and inferred.hop_length == 640
