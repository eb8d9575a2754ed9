"""A result's adherence to its conditions, from one analysis of its audio.

`detections(audio, sample_rate, timeline)`: the chords, main voice and drum hits the metrics of
`jasco_core.metrics` detect in the audio, for each condition the timeline (a `ConditionTimeline`)
gives, and the hits of the drum clip given. `adherence_scores` turns them into one score per
condition, each equal to its metric in `jasco_core.metrics`; a caller that also draws what was
heard (the page's spectrogram) passes the same detections, so the audio is analysed once.
"""
from __future__ import annotations

import logging
import typing as tp
import warnings

import numpy as np

from .metrics import (check_chords, score_chords, score_melody, score_onsets, melody_register, detect_chords, detect_melody,
                      onset_times)

logger = logging.getLogger(__name__)

__all__ = ["ADHERENCE_NAMES", "Detections", "detections", "adherence_scores"]

ADHERENCE_NAMES = ("chord accuracy", "melody agreement", "drum onset F1")


class Detections(tp.NamedTuple):
    """What the metrics hear in one output, next to what was asked (for figures): None where the
    condition was not given or its analysis failed."""
    chords: tp.Optional[tp.Tuple[np.ndarray, np.ndarray]]   # frame times, triad index (`detect_chords`)
    melody: tp.Optional[tp.Tuple[np.ndarray, np.ndarray]]   # frame times, MIDI pitch (`detect_melody`)
    onsets: tp.Optional[np.ndarray]                         # hit times in the output (`onset_times`)
    drum_onsets: tp.Optional[np.ndarray] = None             # hit times in the drum clip given, same analysis


def detections(audio: tp.Any, sample_rate: int, timeline: tp.Any) -> Detections:
    """The chords, main voice and hits the adherence metrics detect in `audio`, for each condition
    `timeline` (a `ConditionTimeline`) gives; the melody in the given melody's register."""
    def attempt(fn):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return fn()
        except Exception as err:  # noqa: BLE001 -- a figure without one overlay, never a lost result
            logger.warning("detection failed: %s", err)
            return None

    chords = attempt(lambda: detect_chords(audio, sample_rate)) if timeline.chords is not None else None
    melody = None
    if timeline.melody is not None:
        pitches = np.asarray(timeline.melody.pitches)
        if (pitches >= 0).any():
            melody = attempt(lambda: detect_melody(audio, sample_rate, *melody_register(pitches)))
        else:   # no voiced frame: nothing to listen for
            melody = (np.zeros(0), np.zeros(0, int))
    onsets = asked = None
    if timeline.drums is not None:
        onsets = attempt(lambda: onset_times(audio, sample_rate))
        asked = attempt(lambda: onset_times(timeline.drums.samples, timeline.drums.sample_rate))
    return Detections(chords, melody, onsets, asked)


def adherence_scores(audio: tp.Any, sample_rate: int, timeline: tp.Any,
                     heard: tp.Optional["Detections"] = None) -> tp.Dict[str, tp.Optional[float]]:
    """How well `audio` follows the conditions of `timeline`, a `ConditionTimeline` (from
    `Pipeline.read_conditions`, or `GenerationResult.previews`): one score in [0, 1] per condition
    given, in `ADHERENCE_NAMES` order, each equal to its metric above.

    The scores are computed from `heard` (`detections(audio, sample_rate, timeline)`, computed here
    when not given), so a caller that also draws what was heard analyses the audio once. Chords are
    scored over `timeline.duration` in vocabulary labels, the melody at the timeline's frame rate,
    the drums against the drum clip the model was given. A score whose analysis fails is None (and
    logged), so one failing analysis never hides the others; no condition: {}.
    """
    heard = detections(audio, sample_rate, timeline) if heard is None else heard
    checks: tp.List[tp.Tuple[str, tp.Any, tp.Callable[[], float]]] = []
    if timeline.chords is not None:
        chords = [(label, start) for label, start in timeline.chords.chords]
        checks.append(("chord accuracy", heard.chords,
                       lambda: score_chords(*heard.chords, *check_chords(chords, timeline.duration))))
    if timeline.melody is not None:
        pitches = np.asarray(timeline.melody.pitches)
        checks.append(("melody agreement", heard.melody,
                       lambda: score_melody(heard.melody[1], pitches, timeline.frame_rate)))
    if timeline.drums is not None:
        checks.append(("drum onset F1", heard.onsets if heard.drum_onsets is not None else None,
                       lambda: score_onsets(heard.drum_onsets, heard.onsets)))
    scores: tp.Dict[str, tp.Optional[float]] = {}
    for name, detected, score in checks:
        try:
            if detected is None:
                raise RuntimeError("its analysis failed")
            scores[name] = float(score())
        except Exception as err:  # noqa: BLE001 -- reported as "no score", never as a lost result
            logger.warning("%s could not be computed: %s", name, err)
            scores[name] = None
    return scores
