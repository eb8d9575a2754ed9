"""`jasco_core.adherence`: one analysis of the audio (detections), the scores derived from it equal
to the metrics of `jasco_core.metrics`, and a failing analysis that hides no other score."""
from __future__ import annotations

import numpy as np

from jasco_core.adherence import adherence_scores, detections
from jasco_core.conditions import AudioClip, MelodyCondition, ParsedChords, pitches_to_salience
from jasco_core.conditions.encode import ConditionTimeline
from jasco_core.metrics import chord_accuracy, detect_chords, detect_melody, drum_onset_f1, melody_agreement, triad_name
from tests.test_metrics import (CHORDS, SECONDS, SR, band, drums, flute_part, melody_frames,  # noqa: F401 (fixtures)
                                piano)

def timeline(chords=None, melody=None, drums=None) -> ConditionTimeline:
    """The conditions of a 10 s request as `Pipeline.read_conditions` gives them."""
    return ConditionTimeline(
        duration=SECONDS, frames=int(SECONDS * 50), frame_rate=50.0, sample_rate=SR,
        chords=None if chords is None else ParsedChords(tuple(chords)),
        melody=None if melody is None else MelodyCondition(pitches_to_salience(melody), melody, 50.0),
        drums=None if drums is None else AudioClip(drums, SR, SECONDS))


def test_adherence_scores_score_each_condition_given(band, drums):
    pitches = melody_frames(flute_part())
    scores = adherence_scores(band, SR, timeline(CHORDS, pitches, drums))
    assert list(scores) == ["chord accuracy", "melody agreement", "drum onset F1"]
    # each is the metric of that condition, with the timeline's duration, frame rate and drum clip
    assert scores == {"chord accuracy": chord_accuracy(band, SR, CHORDS, SECONDS),
                      "melody agreement": melody_agreement(band, SR, pitches, 50.0),
                      "drum onset F1": drum_onset_f1(band, SR, drums, SR)}
    assert scores["chord accuracy"] > 0.7 and scores["melody agreement"] > 0.5 and scores["drum onset F1"] > 0.8
    # only the conditions given are scored; wrong ones score low
    shifted = [(CHORDS[(i + 1) % len(CHORDS)][0], start) for i, (_, start) in enumerate(CHORDS)]
    assert list(adherence_scores(band, SR, timeline(chords=shifted))) == ["chord accuracy"]
    assert adherence_scores(band, SR, timeline(chords=shifted))["chord accuracy"] < 0.3
    assert adherence_scores(band, SR, timeline()) == {}


def test_a_failing_analysis_is_none_and_the_others_still_count(band, drums, caplog):
    scores = adherence_scores(band, SR, timeline(chords=[("H#q", 0.0)], drums=drums))
    assert scores["chord accuracy"] is None and scores["drum onset F1"] > 0.8
    assert "chord accuracy could not be computed" in caplog.text


def test_detections_are_what_the_scores_hear(band, drums):

    times, index = detect_chords(band, SR)
    assert len(times) == len(index) and np.all(np.diff(times) > 0)
    heard = [triad_name(int(k)) for k in index[(times > 0.3) & (times < 1.0)]]
    assert max(set(heard), key=heard.count) == "C", "the first chord of the band is C major"
    second = [triad_name(int(k)) for k in index[(times > 1.55) & (times < 2.2)]]
    assert max(set(second), key=second.count) == "Am"
    t, pitch = detect_melody(band, SR, 55, 90)
    assert len(t) == len(pitch) and pitch.min() >= 55 and pitch.max() <= 90
    d = detections(band, SR, timeline(chords=CHORDS, drums=drums))
    assert d.chords is not None and d.melody is None and d.onsets is not None and len(d.onsets) > 4
    silent = detect_chords(np.zeros(SR), SR)
    assert silent[0].size == 0 and triad_name(-1) == "N" and triad_name(21) == "Am"


def test_given_detections_are_scored_without_analysing_the_audio_again(band, drums):
    given = timeline(CHORDS, melody_frames(flute_part()), drums)
    heard = detections(band, SR, given)
    silence = np.zeros_like(band)        # analysed, this would score 0 everywhere
    assert adherence_scores(silence, SR, given, heard) == adherence_scores(band, SR, given)
