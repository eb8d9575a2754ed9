"""Condition-adherence metrics: does generated audio follow the chords, melody and drums it was given?

Each metric compares an analysis of the output audio with the condition, returns a float in
[0, 1] (higher is better), and returns 0.0 rather than failing when the output is silent.
For 10 s of audio on two CPU cores they take about 0.2 s (chords), 0.15 s (melody) and 0.2 s
(drums); the first call in a process also pays librosa's one-off set-up (about 2 s).

Exact rules:

`chord_accuracy` -- frame-wise "majmin" accuracy in the spirit of `mir_eval.chord.majmin`.
  The output is resampled to 22050 Hz, its harmonic part is kept (median-filtering HPSS, n_fft
  2048, hop 1024, kernel 9, so drums do not smear the chroma) and a CQT chromagram is taken
  (hop 512, ~23 ms). Per frame the estimated chord is the best of the 24 major/minor triads by
  cosine similarity between the chroma vector and the triad's pitch-class template (frames
  quieter than -60 dBFS RMS are estimated as no chord, which never matches). The reference
  chord at frame time ``t`` is the last given chord with ``start <= t``; frames before the first
  chord or at ``t >= duration`` are not scored. The reference is reduced to its root and triad: major if its pitch classes contain the
  major third and the fifth, minor if the minor third and the fifth (so ``G7`` counts as G major,
  ``Am7`` as A minor); 'N' and chords with no major/minor triad (dim, aug, sus, power chords) are
  not scored. A frame is correct when root and major/minor quality agree. Score = correct frames /
  scored frames (0.0 if no frame can be scored).

`melody_agreement` -- pitch-class agreement of the output's predominant pitch on the melody's
  voiced frames. A monophonic pitch tracker (pYIN) fails on full mixes (it mostly reports
  "unvoiced", so even the reference rendering scored ~0.1), so the main voice is found the way
  melody extractors do: the harmonic part of the output (HPSS) at 22050 Hz, a semitone CQT
  (hop 256, ~12 ms), and per frame a harmonic-summation salience over candidate pitches
  (sum of the CQT magnitude at harmonics 1..5, weighted 0.8^(h-1)). Candidates span the given
  melody's register extended by an octave each way (within MIDI 43..95, the melody condition's
  range), so bass and low comping do not count as the main voice. The estimate at the frame
  nearest ``i / frame_rate`` scores when its pitch class equals the melody's (octave errors are
  forgiven). Score = correct frames / voiced melody frames. On rendered reference mixes this gives
  0.45-0.9, and a melody transposed by 2 or 5 semitones scores <= 0.12.

`drum_onset_f1` -- onset F-measure of the output's percussive part against the drum stem.
  Output and stem are analysed identically (so a stem scored against itself gives 1.0): resampled
  to 22050 Hz, magnitude STFT (n_fft 1024, hop 512, ~23 ms), median-filtering HPSS (kernel 9),
  and librosa spectral-flux onset detection on the percussive part. The score is
  `mir_eval.onset.f_measure` with the stem's onsets as reference and a +-50 ms window (an
  estimated onset matches a reference onset at most 50 ms away; one-to-one matching).
"""
from __future__ import annotations

import logging
import typing as tp

import numpy as np

from .errors import FieldError

logger = logging.getLogger(__name__)

__all__ = ["MetricInputError", "chord_accuracy", "melody_agreement", "drum_onset_f1", "onset_times",
           "detect_chords", "detect_melody", "triad_name", "triad_index",
           # the scoring half of each metric, on what was detected (`jasco_core.adherence`)
           "check_chords", "score_chords", "melody_register", "score_melody", "score_onsets"]

_CHORD_RATE = 22050
_CHORD_HOP = 512
_MELODY_RATE = 22050
_MELODY_HOP = 256
_MELODY_FMIN_MIDI = 43  # G2, lowest pitch of the melody condition
_MELODY_FMAX_MIDI = 95  # B6, its highest pitch
_CQT_LOWEST_MIDI = 24
_CQT_BINS = 96
_HARMONICS = 5
_HARMONIC_DECAY = 0.8
_ONSET_RATE = 22050
_ONSET_N_FFT = 1024
_ONSET_HOP = 512
_ONSET_WINDOW_S = 0.05
_HPSS_KERNEL = 9
_HARMONIC_N_FFT = 2048
_HARMONIC_HOP = 1024
_SILENCE_PEAK = 1e-4  # -80 dBFS: quieter audio counts as silence
_SILENT_FRAME_DB = -60.0
_MAX_CHANNELS = 8


class MetricInputError(FieldError):
    """A metric was given audio or conditions it cannot use (field `audio` unless named)."""

    default_field = "audio"


def _mono(audio: tp.Any, name: str) -> np.ndarray:
    """Float64 mono samples from [n], [channels, n] or [n, channels] audio (numpy or torch);
    channels are averaged."""
    if hasattr(audio, "detach"):
        audio = audio.detach().cpu().numpy()
    samples = np.asarray(audio, dtype=np.float64)
    if samples.ndim == 2 and samples.shape[0] <= _MAX_CHANNELS:
        samples = samples.mean(axis=0)
    elif samples.ndim == 2 and samples.shape[1] <= _MAX_CHANNELS:
        samples = samples.mean(axis=1)
    if samples.ndim != 1:
        raise MetricInputError(
            f"{name} must be mono [n] or multichannel [channels, n] / [n, channels] audio "
            f"(at most {_MAX_CHANNELS} channels), got shape {samples.shape}")
    if not np.all(np.isfinite(samples)):
        raise MetricInputError(f"{name} contains NaN or infinite samples")
    return samples


def _check_rate(sample_rate: tp.Any, name: str) -> int:
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, (int, np.integer)) or sample_rate <= 0:
        raise MetricInputError(f"{name} must be a positive integer sample rate, got {sample_rate!r}")
    return int(sample_rate)


def _resample(samples: np.ndarray, rate: int, target: int) -> np.ndarray:
    if rate == target:
        return samples
    import soxr

    return soxr.resample(samples, rate, target, quality="HQ")


def _is_silent(samples: np.ndarray) -> bool:
    return samples.size == 0 or float(np.max(np.abs(samples))) < _SILENCE_PEAK


# --------------------------------------------------------------------------- chords
def _triad_templates() -> np.ndarray:
    """Unit-norm pitch-class templates [24, 12]: rows 0-11 major on C..B, 12-23 minor on C..B."""
    templates = np.zeros((24, 12))
    for root in range(12):
        templates[root, [root, (root + 4) % 12, (root + 7) % 12]] = 1.0
        templates[12 + root, [root, (root + 3) % 12, (root + 7) % 12]] = 1.0
    return templates / np.sqrt(3.0)


def triad_index(label: str) -> int:
    """Index of a chord label among the 24 major/minor triads (as `detect_chords` reports them), or
    -1 when it has no major or minor triad ('N', dim, aug, sus: not scored)."""
    from jasco_core.conditions import parse_chord_label

    chord = parse_chord_label(label)
    if chord.root < 0:
        return -1
    intervals = {(pc - chord.root) % 12 for pc in chord.pitch_classes}
    if 7 in intervals and 4 in intervals:
        return chord.root
    if 7 in intervals and 3 in intervals:
        return 12 + chord.root
    return -1


def triad_name(index: int) -> str:
    """'C', 'F#m', ... for a triad index of `detect_chords` (0-11 major, 12-23 minor), 'N' for -1."""
    names = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
    return "N" if index < 0 else names[index % 12] + ("m" if index >= 12 else "")


def _chord_frames(samples: np.ndarray) -> tp.Tuple[np.ndarray, np.ndarray]:
    """Frame times and the estimated triad per frame (-1: silent) of mono audio at `_CHORD_RATE`."""
    import librosa

    harmonic = librosa.effects.harmonic(samples, kernel_size=_HPSS_KERNEL, n_fft=_HARMONIC_N_FFT,
                                        hop_length=_HARMONIC_HOP)
    chroma = librosa.feature.chroma_cqt(y=harmonic, sr=_CHORD_RATE, hop_length=_CHORD_HOP)
    n_frames = chroma.shape[1]
    times = librosa.frames_to_time(np.arange(n_frames), sr=_CHORD_RATE, hop_length=_CHORD_HOP)
    rms = librosa.feature.rms(y=samples, frame_length=2048, hop_length=_CHORD_HOP)[0]
    rms = np.pad(rms, (0, max(0, n_frames - rms.size)))[:n_frames]
    audible = 20.0 * np.log10(np.maximum(rms, 1e-12)) > _SILENT_FRAME_DB
    norms = np.linalg.norm(chroma, axis=0)
    similarity = _triad_templates() @ (chroma / np.maximum(norms, 1e-12))
    return times, np.where(audible & (norms > 0), np.argmax(similarity, axis=0), -1)


def detect_chords(audio: tp.Any, sr: int) -> tp.Tuple[np.ndarray, np.ndarray]:
    """The chords `chord_accuracy` hears: frame times (s, ~23 ms apart) and a triad index per frame
    (0-11 major on C..B, 12-23 minor, -1 silent; `triad_name` names them)."""
    samples = _resample(_mono(audio, "audio"), _check_rate(sr, "sr"), _CHORD_RATE)
    if _is_silent(samples):
        return np.zeros(0), np.zeros(0, int)
    return _chord_frames(samples)


def check_chords(chords: tp.Any, duration: tp.Any) -> tp.Tuple[tp.List[tp.Tuple[str, float]], float]:
    try:
        duration = float(duration)
    except (TypeError, ValueError) as exc:
        raise MetricInputError(f"duration must be a number of seconds, got {duration!r}") from exc
    if not np.isfinite(duration) or duration <= 0:
        raise MetricInputError(f"duration must be > 0 seconds, got {duration}")
    checked = []
    for item in chords:
        try:
            label, start = item
            start = float(start)
        except (TypeError, ValueError) as exc:
            raise MetricInputError(f"each chord must be a (label, start_seconds) pair, got {item!r}") from exc
        if not isinstance(label, str) or not np.isfinite(start):
            raise MetricInputError(f"each chord must be a (label, start_seconds) pair, got {item!r}")
        checked.append((label, start))
    return sorted(checked, key=lambda pair: pair[1]), duration


def chord_accuracy(audio: tp.Any, sr: int, chords: tp.Sequence[tp.Tuple[str, float]],
                   duration: float) -> float:
    """Fraction of scored frames whose estimated major/minor triad matches the given chord.

    Args:
        audio: output audio, mono [n] or [channels, n].
        sr: its sample rate.
        chords: ``(label, start_seconds)`` changes; each lasts until the next one or `duration`.
        duration: seconds of audio the progression covers.

    See the module docstring for the exact frame rule.
    """
    samples = _resample(_mono(audio, "audio"), _check_rate(sr, "sr"), _CHORD_RATE)
    changes, duration = check_chords(chords, duration)
    if not changes or _is_silent(samples):
        return 0.0
    return score_chords(*_chord_frames(samples), changes, duration)


def score_chords(times: np.ndarray, estimate: np.ndarray, changes: tp.Sequence[tp.Tuple[str, float]],
                 duration: float) -> float:
    """`chord_accuracy` of estimated triads per frame (`_chord_frames`) against checked chord changes."""
    if not changes or len(times) == 0:
        return 0.0
    starts = np.array([start for _, start in changes])
    reference_by_change = np.array([triad_index(label) for label, _ in changes])
    change_index = np.searchsorted(starts, times + 1e-9, side="right") - 1
    reference = np.where(change_index >= 0, reference_by_change[np.maximum(change_index, 0)], -1)
    scored = (reference >= 0) & (times < duration)
    if not scored.any():
        logger.info("chord_accuracy: no frame has a major/minor reference chord; returning 0.0")
        return 0.0
    return float(np.mean(estimate[scored] == reference[scored]))


# --------------------------------------------------------------------------- melody
def melody_agreement(audio: tp.Any, sr: int, pitch_per_frame: tp.Any, frame_rate: float = 50.0) -> float:
    """Fraction of the melody's voiced frames where the output's main pitch has the same pitch class.

    Args:
        audio: output audio, mono [n] or [channels, n].
        sr: its sample rate.
        pitch_per_frame: integer MIDI pitch per frame, -1 where the melody is silent.
        frame_rate: frames per second of `pitch_per_frame`; frame ``i`` is at ``i / frame_rate``.
    """
    samples = _resample(_mono(audio, "audio"), _check_rate(sr, "sr"), _MELODY_RATE)
    pitches = np.asarray(pitch_per_frame)
    if pitches.ndim != 1 or not (np.issubdtype(pitches.dtype, np.integer) or pitches.size == 0):
        raise MetricInputError(
            f"pitch_per_frame must be a 1-D integer array (MIDI pitch, -1 unvoiced), got "
            f"{pitches.dtype} array of shape {pitches.shape}")
    if not frame_rate > 0:
        raise MetricInputError(f"frame_rate must be > 0, got {frame_rate}")
    voiced = pitches >= 0
    if not voiced.any() or _is_silent(samples):
        return 0.0
    return score_melody(_melody_frames(samples, *melody_register(pitches))[1], pitches, frame_rate)


def score_melody(estimate: np.ndarray, pitches: np.ndarray, frame_rate: float) -> float:
    """`melody_agreement` of the main pitch per analysis frame (`_melody_frames`) against the melody."""
    voiced = pitches >= 0
    if not voiced.any() or estimate.size == 0:
        return 0.0
    frame_of = np.round(np.arange(pitches.size) / frame_rate * _MELODY_RATE / _MELODY_HOP).astype(int)
    estimate = estimate[frame_of.clip(0, estimate.size - 1)]
    correct = voiced & (estimate % 12 == pitches % 12)
    return float(correct.sum() / voiced.sum())


def melody_register(pitches: np.ndarray) -> tp.Tuple[int, int]:
    """The candidate pitches for a melody: its voiced range and an octave each way, within 43..95."""
    voiced = pitches[pitches >= 0]
    return max(_MELODY_FMIN_MIDI, int(voiced.min()) - 12), min(_MELODY_FMAX_MIDI, int(voiced.max()) + 12)


def _melody_frames(samples: np.ndarray, low: int, high: int) -> tp.Tuple[np.ndarray, np.ndarray]:
    """Frame times and the most salient MIDI pitch in [low, high] per frame, mono audio at `_MELODY_RATE`."""
    import librosa

    harmonic = librosa.effects.harmonic(samples, margin=1.0)
    cqt = np.abs(librosa.cqt(harmonic, sr=_MELODY_RATE, hop_length=_MELODY_HOP,
                             fmin=float(librosa.midi_to_hz(_CQT_LOWEST_MIDI)), n_bins=_CQT_BINS, bins_per_octave=12))
    candidates = np.arange(low, high + 1)
    salience = np.zeros((candidates.size, cqt.shape[1]))
    for h in range(1, _HARMONICS + 1):
        rows = candidates - _CQT_LOWEST_MIDI + int(round(12 * np.log2(h)))
        ok = rows < cqt.shape[0]
        salience[ok] += _HARMONIC_DECAY ** (h - 1) * cqt[rows[ok]]
    times = librosa.frames_to_time(np.arange(cqt.shape[1]), sr=_MELODY_RATE, hop_length=_MELODY_HOP)
    return times, candidates[salience.argmax(axis=0)]


def detect_melody(audio: tp.Any, sr: int, low: int = _MELODY_FMIN_MIDI,
                  high: int = _MELODY_FMAX_MIDI) -> tp.Tuple[np.ndarray, np.ndarray]:
    """The main voice `melody_agreement` hears: frame times (s, ~12 ms apart) and the most salient
    MIDI pitch in [low, high] per frame (silent audio: empty arrays)."""
    samples = _resample(_mono(audio, "audio"), _check_rate(sr, "sr"), _MELODY_RATE)
    if _is_silent(samples):
        return np.zeros(0), np.zeros(0, int)
    return _melody_frames(samples, int(low), int(high))


# --------------------------------------------------------------------------- drums
def _onsets(magnitude: np.ndarray) -> np.ndarray:
    """Onset times (s) detected on a magnitude spectrogram at the onset analysis rate."""
    import librosa

    mel = librosa.feature.melspectrogram(S=magnitude ** 2, sr=_ONSET_RATE, n_fft=_ONSET_N_FFT)
    envelope = librosa.onset.onset_strength(S=librosa.power_to_db(mel, ref=np.max), sr=_ONSET_RATE,
                                            n_fft=_ONSET_N_FFT, hop_length=_ONSET_HOP)
    return librosa.onset.onset_detect(onset_envelope=envelope, sr=_ONSET_RATE, hop_length=_ONSET_HOP,
                                      units="time", backtrack=False)


def _percussive(samples: np.ndarray) -> np.ndarray:
    """Magnitude STFT of the percussive part (median-filtering HPSS)."""
    import librosa

    magnitude = np.abs(librosa.stft(samples, n_fft=_ONSET_N_FFT, hop_length=_ONSET_HOP, center=True))
    return librosa.decompose.hpss(magnitude, kernel_size=_HPSS_KERNEL)[1]


def onset_times(audio: tp.Any, sr: int) -> np.ndarray:
    """Times (s) of the hits in `audio` as the drum score detects them (onsets of the percussive part)."""
    samples = _resample(_mono(audio, "audio"), _check_rate(sr, "sr"), _ONSET_RATE)
    if _is_silent(samples):
        return np.zeros(0)
    return np.asarray(_onsets(_percussive(samples)), np.float64)


def drum_onset_f1(audio: tp.Any, sr: int, drum_stem: tp.Any, drum_sr: int) -> float:
    """F-measure (+-50 ms) of onsets in the output's percussive part vs. onsets of the drum stem.

    Args:
        audio: output audio, mono [n] or [channels, n].
        sr: its sample rate.
        drum_stem: the drum condition audio, mono [n] or [channels, n].
        drum_sr: its sample rate.
    """
    output = _resample(_mono(audio, "audio"), _check_rate(sr, "sr"), _ONSET_RATE)
    stem = _resample(_mono(drum_stem, "drum_stem"), _check_rate(drum_sr, "drum_sr"), _ONSET_RATE)
    if _is_silent(output) or _is_silent(stem):
        return 0.0
    return score_onsets(_onsets(_percussive(stem)), _onsets(_percussive(output)))


def score_onsets(reference: np.ndarray, estimated: np.ndarray) -> float:
    """`drum_onset_f1` of onset times: the stem's (reference) against the output's."""
    if estimated.size == 0 or reference.size == 0:
        return 0.0
    import mir_eval

    f_measure, _, _ = mir_eval.onset.f_measure(reference, estimated, window=_ONSET_WINDOW_S)
    return float(f_measure)
