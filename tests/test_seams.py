"""`jasco_core.seams.seam_profile` on rendered music with and without clicks and level jumps at the joins."""
from __future__ import annotations

import numpy as np
import pytest

from jasco_core.metrics import MetricInputError
from tests.test_metrics import SR, flute_part, piano_part, render

JOINS = [3.1, 5.6, 8.1]   # between the piano's chord changes (every 1.25 s)


@pytest.fixture(scope="module")
def duet() -> np.ndarray:
    return render(piano_part(), flute_part())


def with_clicks(audio: np.ndarray, times, amplitude: float = 0.5) -> np.ndarray:
    """A 3 ms noise burst at each time: what a hard, unfaded join sounds like."""
    out = audio.copy()
    burst = amplitude * np.random.default_rng(0).standard_normal(int(0.003 * SR))
    for t in times:
        i = int(t * SR)
        out[i:i + burst.size] += burst
    return out


def test_seam_profile_smooth_music_passes(duet):
    from jasco_core.seams import LEVEL_RANGE_DB, SEAM_RATIO_LIMIT, seam_profile

    profile = seam_profile(duet, SR, JOINS)
    assert profile["joins"] == JOINS and len(profile["join_changes"]) == 3
    # nothing happens at these times: the joins change less than the music's sharpest moments
    assert profile["ratio"] < 0.7 * SEAM_RATIO_LIMIT and profile["seam_ok"]
    assert profile["join_p99"] <= profile["join_max"] + 1e-9 and profile["rest_median"] < profile["rest_p99"]
    assert len(profile["block_db"]) == 5 and profile["level_range_db"] < LEVEL_RANGE_DB / 2 and profile["level_ok"]
    assert profile["median_db"] == pytest.approx(float(np.median(profile["block_db"])))


def test_seam_profile_a_click_at_a_join_scores_worse(duet):
    from jasco_core.seams import seam_profile

    smooth = seam_profile(duet, SR, JOINS)
    clicked = seam_profile(with_clicks(duet, JOINS), SR, JOINS)
    assert clicked["ratio"] > 3 * smooth["ratio"] and not clicked["seam_ok"]
    assert all(c > 3 * s for c, s in zip(clicked["join_changes"], smooth["join_changes"]))
    # the same clicks elsewhere are not at the joins: the joins then look no worse than the rest
    elsewhere = seam_profile(with_clicks(duet, [1.6, 6.9]), SR, JOINS)
    assert elsewhere["seam_ok"] and elsewhere["ratio"] < smooth["ratio"] * 1.5
    # a softer click is still worse than none
    assert seam_profile(with_clicks(duet, JOINS, 0.1), SR, JOINS)["ratio"] > 2 * smooth["ratio"]


def test_seam_profile_a_level_jump_at_a_join_scores_worse(duet):
    from jasco_core.seams import seam_profile

    smooth = seam_profile(duet, SR, JOINS)
    quieter = duet.copy()
    quieter[int(5.6 * SR):] *= 10 ** (-10 / 20)                      # 10 dB down from the second join on
    jumped = seam_profile(quieter, SR, JOINS)
    assert jumped["join_changes"][1] > 3 * smooth["join_changes"][1]
    assert jumped["join_changes"][0] == pytest.approx(smooth["join_changes"][0], rel=1e-6)   # before it: unchanged
    assert jumped["level_range_db"] > 6 and not jumped["level_ok"]
    # a 2 s dip of 12 dB in one block only breaks the level rule
    dip = duet.copy()
    dip[4 * SR:6 * SR] *= 10 ** (-12 / 20)
    assert not seam_profile(dip, SR, [], block_seconds=2.0)["level_ok"]


def test_seam_profile_edges_silence_and_errors(duet):
    from jasco_core.seams import seam_profile

    # joins at or outside the ends are ignored; none inside: ratio 0, seams vacuously fine
    none_inside = seam_profile(duet, SR, [0.0, 10.0, 12.5, -1.0])
    assert none_inside["joins"] == [] and none_inside["ratio"] == 0.0 and none_inside["seam_ok"]
    silent = seam_profile(np.zeros(SR * 4, np.float32), SR, [2.0])
    assert silent["ratio"] == 0.0 and silent["level_range_db"] == 0.0
    assert seam_profile(np.stack([duet, duet]), SR, JOINS)["ratio"] == pytest.approx(
        seam_profile(duet, SR, JOINS)["ratio"], rel=1e-4)                  # channels are mixed down
    for bad in (dict(joins_seconds=[float("nan")]), dict(joins_seconds="soon"), dict(joins_seconds=[1.0], radius=-1),
                dict(joins_seconds=[1.0], block_seconds=0)):
        with pytest.raises(MetricInputError):
            seam_profile(duet, SR, **bad)
    with pytest.raises(MetricInputError):
        seam_profile(np.zeros(100, np.float32), SR, [])
