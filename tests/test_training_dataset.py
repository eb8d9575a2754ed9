"""The compact training-set builder: shapes, dtypes and a round trip against fresh renders."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from jasco_core.conditions.chords import frame_chords
from jasco_core.conditions.vocabulary import load_vocabulary
from jasco_core.encoders.drums_features import drum_features
from jasco_core.training.dataset import (
    build_dataset,
    codec_from_dataset,
    delta_decode,
    delta_encode,
    dequantise_latents,
    load_dataset,
    quantise_latents,
)
from jasco_core.training.render import render_piece

N, DURATION, FIRST_SEED = 3, 3.0, 5
T = int(DURATION * 50)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "tiny.npz"
    report = build_dataset(path, N, first_seed=FIRST_SEED, workers=1, duration=DURATION)
    return path, report


def test_report(built):
    path, report = built
    assert report.n_pieces == N and report.bytes == path.stat().st_size
    assert report.bytes_per_piece < 40_000
    assert report.seconds > 0


def test_shapes_and_dtypes(built):
    data = load_dataset(built[0])
    assert data["latents"].shape == (N, T, 64) and data["latents"].dtype == np.uint8
    assert data["chords"].shape == (N, T) and data["chords"].dtype == np.int16
    assert data["melody"].shape == (N, T) and data["melody"].dtype == np.int8
    assert data["drums"].shape == (N, T, 4) and data["drums"].dtype == np.float16
    assert data["descriptions"].shape == (N,) and data["meta_json"].shape == (N,)
    assert list(data["seeds"]) == list(range(FIRST_SEED, FIRST_SEED + N))
    assert (data["latent_lo"], data["latent_hi"]) == (-4.0, 4.0)
    assert data["frame_rate"] == 50 and data["sample_rate"] == 22050 and data["duration"] == DURATION
    assert tuple(data["chord_labels"]) == load_vocabulary().labels
    # the stored file holds the delta-coded latents, plain np.load sees them too
    with np.load(built[0]) as raw:
        assert "latents_delta" in raw.files and "latents" not in raw.files


def test_round_trip_against_fresh_renders(built):
    data = load_dataset(built[0])
    codec = codec_from_dataset(data)
    assert codec.config.fitted
    vocab = load_vocabulary()
    lo, hi = data["latent_lo"], data["latent_hi"]
    latents = dequantise_latents(data["latents"], lo, hi)
    for i, seed in enumerate(data["seeds"]):
        piece = render_piece(int(seed), DURATION)
        meta = json.loads(data["meta_json"][i])
        assert meta["seed"] == seed and data["descriptions"][i] == piece.description
        assert [tuple(c) for c in meta["chords"]] == piece.chords
        with torch.no_grad():
            expected = codec.encode(torch.from_numpy(piece.audio)[None])[0].numpy()
        inside = (expected > lo) & (expected < hi)
        assert inside.mean() > 0.99
        assert np.abs(latents[i][inside] - expected[inside]).max() <= (hi - lo) / 510 + 1e-5
        np.testing.assert_array_equal(data["chords"][i], frame_chords(piece.chords, T, 50, vocab))
        np.testing.assert_array_equal(data["melody"][i], piece.melody_pitch)
        drums = drum_features(piece.drums, piece.sample_rate, T) if meta["has_drums"] else np.zeros((T, 4))
        np.testing.assert_allclose(data["drums"][i].astype(np.float32), drums, atol=1 / 255)
        assert meta["has_drums"] == bool(data["drums"][i].any())


def test_passing_the_codec_reproduces_the_latents(built, tmp_path):
    data = load_dataset(built[0])
    path = tmp_path / "again.npz"
    build_dataset(path, 2, first_seed=FIRST_SEED + 1, workers=2, duration=DURATION,
                  codec=codec_from_dataset(built[0]))
    again = load_dataset(path)
    assert again["codec_config_json"] == data["codec_config_json"]
    np.testing.assert_array_equal(again["latents"], data["latents"][1:])
    np.testing.assert_array_equal(again["drums"], data["drums"][1:])


def test_quantisation_and_delta_coding():
    rng = np.random.default_rng(0)
    x = rng.normal(0, 1.5, size=(2, 50, 64)).astype(np.float32)
    q = quantise_latents(x)
    assert q.dtype == np.uint8
    back = dequantise_latents(q)
    inside = np.abs(x) < 4
    assert np.abs(back[inside] - x[inside]).max() <= 8 / 510 + 1e-6
    assert back.max() <= 4 and back.min() >= -4
    np.testing.assert_array_equal(delta_decode(delta_encode(q)), q)
