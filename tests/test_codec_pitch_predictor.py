"""The codec's learnt semitone bands: the shipped predictor really brings the chords back."""
import json

import numpy as np
import pytest
import torch

from jasco_core import metrics
from jasco_core.checkpoints import load_bundle
from jasco_core.codecs import CodecInputError, MelCodec, MelCodecConfig
from jasco_core.codecs.pitch_predictor import PitchPredictor, PredictedPitchCodec
from jasco_core.training.render import render_piece


@pytest.fixture(scope="module")
def codec() -> PredictedPitchCodec:
    codec = load_bundle("embedded").codec
    assert isinstance(codec, PredictedPitchCodec)
    return codec


def test_latent_is_the_mel_part(codec):
    piece = render_piece(1_000_300, duration=3.0)
    audio = torch.from_numpy(piece.audio)[None]
    full = codec.encode_full(audio)
    latents = codec.encode(audio)
    assert codec.dim == codec.config.n_mels == 64 and full.shape[-1] == 64 + codec.config.n_pitch
    assert torch.equal(latents, full[..., :64])
    completed = codec.complete(latents)
    assert completed.shape == full.shape and torch.equal(completed[..., :64], latents)
    out = codec.decode(latents)
    assert out.shape == (1, latents.shape[1] * codec.hop_length) and torch.isfinite(out).all()
    assert torch.equal(out, codec.decode(latents))  # deterministic
    assert json.loads(json.dumps(codec.to_dict()))["pitch_predictor"]["n_pitch"] == codec.config.n_pitch


def test_predicted_bands_restore_the_chords(codec):
    """Held-out pieces (seeds never used in training), encoded and decoded again: the predicted
    semitone bands must recover most of the chord accuracy the 64 mel bands alone lose."""
    mel_only = codec.mel_only()
    assert mel_only.dim == 64 and mel_only.config.n_pitch == 0
    ref, plain, predicted = [], [], []
    for seed in (1_000_310, 1_000_311, 1_000_312):
        piece = render_piece(seed, duration=10.0)
        latents = codec.encode(torch.from_numpy(piece.audio)[None])
        score = lambda audio: metrics.chord_accuracy(audio, piece.sample_rate, piece.chords, 10.0)  # noqa: E731
        ref.append(score(piece.audio))
        plain.append(score(mel_only.decode(latents)[0].numpy()))
        predicted.append(score(codec.decode(latents)[0].numpy()))
    ref, plain, predicted = map(np.mean, (ref, plain, predicted))
    assert predicted >= 0.7 * ref, (predicted, ref)
    assert predicted > plain + 0.15, (predicted, plain)


def test_mismatched_predictor_is_refused(codec):
    with pytest.raises(CodecInputError, match="semitone bands"):
        PredictedPitchCodec(MelCodec(MelCodecConfig()), PitchPredictor())
    with pytest.raises(CodecInputError, match="predictor maps"):
        PredictedPitchCodec(codec.inner, PitchPredictor(n_pitch=12))
    with pytest.raises(CodecInputError, match="shape"):
        codec.decode(torch.zeros(1, 50, 113))
