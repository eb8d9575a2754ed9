"""drum_features on a rendered drum groove: alignment, band selectivity, level independence."""
from __future__ import annotations

import numpy as np
import pretty_midi
import pytest

from jasco_core.encoders.drums_features import DRUM_FEATURE_DIM, DrumFeatureError, drum_features

KICK, SNARE, HAT = 36, 38, 42
# two bars at 120 bpm: kick on beats 1 and 3, snare on 2 and 4, closed hat on every off-beat
KICK_TIMES = [0.0, 1.0, 2.0, 3.0]
SNARE_TIMES = [0.5, 1.5, 2.5, 3.5]
HAT_TIMES = [0.25, 0.75, 1.25, 1.75, 2.25, 2.75, 3.25, 3.75]
SECONDS = 4.5
N_FRAMES = 225


def render_groove(sample_rate: int) -> np.ndarray:
    pm = pretty_midi.PrettyMIDI(initial_tempo=120)
    drums = pretty_midi.Instrument(program=0, is_drum=True)
    for pitch, times, velocity in ((KICK, KICK_TIMES, 110), (SNARE, SNARE_TIMES, 100), (HAT, HAT_TIMES, 90)):
        drums.notes += [pretty_midi.Note(velocity, pitch, t, t + 0.1) for t in times]
    pm.instruments.append(drums)
    audio = pm.fluidsynth(fs=sample_rate)
    n = int(SECONDS * sample_rate)
    return np.pad(audio, (0, max(0, n - len(audio))))[:n].astype(np.float32)


@pytest.fixture(scope="module")
def groove() -> np.ndarray:
    return render_groove(22050)


@pytest.fixture(scope="module")
def features(groove) -> np.ndarray:
    return drum_features(groove, 22050, N_FRAMES)


def _at(channel: np.ndarray, times: list) -> float:
    """Mean over the events of the channel's maximum within +-1 frame of each event."""
    return float(np.mean([channel[max(0, round(t * 50) - 1): round(t * 50) + 2].max() for t in times]))


def test_shape_range_and_determinism(groove, features):
    assert features.shape == (N_FRAMES, DRUM_FEATURE_DIM) and features.dtype == np.float32
    assert features.min() >= 0.0 and features.max() <= 1.0
    assert np.array_equal(features, drum_features(groove, 22050, N_FRAMES))


def test_onset_peaks_are_aligned_with_hits(features):
    events = sorted(KICK_TIMES + SNARE_TIMES + HAT_TIMES)
    event_frames = np.array([round(t * 50) for t in events])
    for band in range(3):
        channel = features[:, band]
        strong = np.flatnonzero(channel > 0.2 * channel.max())
        # every strong onset value lies within one frame (20 ms) of a hit
        distance = np.abs(strong[:, None] - event_frames[None]).min(axis=1)
        assert distance.max() <= 1, (band, strong[distance > 1])
    # and between hits the onset channels are quiet
    quiet = [round(t * 50) + 6 for t in events]
    assert features[quiet, :3].max() < 0.1


def test_bands_select_their_instrument(features):
    low, mid, high = features[:, 0], features[:, 1], features[:, 2]
    assert _at(low, KICK_TIMES) > 1.3 * _at(low, SNARE_TIMES)
    assert _at(low, KICK_TIMES) > 10 * _at(low, HAT_TIMES)
    assert _at(mid, SNARE_TIMES) > 1.2 * _at(mid, KICK_TIMES)
    assert _at(mid, SNARE_TIMES) > 5 * _at(mid, HAT_TIMES)
    assert _at(high, HAT_TIMES) > 2 * _at(high, KICK_TIMES)


def test_energy_channel_follows_the_hits(features):
    energy = features[:, 3]
    assert energy[[round(t * 50) + 1 for t in KICK_TIMES]].min() > 0.8
    assert energy[-5:].max() < energy.max()


def test_level_independence(groove, features):
    quiet = drum_features(groove * 0.01, 22050, N_FRAMES)
    loud = drum_features(groove * 3.0, 22050, N_FRAMES)  # float audio: no clipping
    assert np.allclose(quiet, features, atol=1e-4)
    assert np.allclose(loud, features, atol=1e-4)


def test_other_sample_rate_gives_the_same_features(features):
    other = drum_features(render_groove(44100), 44100, N_FRAMES)
    for band in range(DRUM_FEATURE_DIM):
        assert np.corrcoef(other[:, band], features[:, band])[0, 1] > 0.9


def test_exact_frame_count_and_silence(groove, features):
    assert drum_features(groove, 22050, 100).shape == (100, DRUM_FEATURE_DIM)
    assert np.array_equal(drum_features(groove, 22050, 100), features[:100])
    longer = drum_features(groove, 22050, 400)
    assert longer.shape == (400, DRUM_FEATURE_DIM) and not longer[240:].any()
    silent = drum_features(np.zeros(22050 * 3, dtype=np.float32), 22050, 150)
    assert silent.shape == (150, DRUM_FEATURE_DIM) and not silent.any()
    assert drum_features(groove, 22050, 0).shape == (0, DRUM_FEATURE_DIM)


def test_bad_inputs_raise_value_errors(groove):
    with pytest.raises(DrumFeatureError, match="mono"):
        drum_features(np.stack([groove, groove]), 22050, 10)
    with pytest.raises(ValueError, match="NaN"):
        drum_features(np.full(1000, np.nan, dtype=np.float32), 22050, 10)
    with pytest.raises(ValueError, match="frame_rate"):
        drum_features(groove, 22050, 10, frame_rate=48)


def test_feature_encoder_shows_the_model_the_hits(groove):
    """`FeatureDrumEncoder.hits` reads the hits back from the features the model receives."""
    from jasco_core.encoders.drums_features import FeatureDrumEncoder

    encoder = FeatureDrumEncoder()
    latents = encoder.encode(groove, 22050, N_FRAMES)
    assert np.array_equal(latents, drum_features(groove, 22050, N_FRAMES))
    hits = encoder.hits(latents)
    expected = sorted(KICK_TIMES + SNARE_TIMES + HAT_TIMES)
    found = [np.min(np.abs(hits - t)) <= 0.04 for t in expected]
    assert np.mean(found) >= 0.9, (hits, expected)
    assert len(hits) <= len(expected) + 2
    assert encoder.hits(np.zeros((N_FRAMES, DRUM_FEATURE_DIM), np.float32)).size == 0
    assert encoder.silence(N_FRAMES).shape == (DRUM_FEATURE_DIM,)
