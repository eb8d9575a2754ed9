"""The one encoder of conditions: user inputs -> a validated timeline -> the model's condition tensors.

Two steps, both driven by the model bundle (its vocabulary, frame rate, sample rate, encoders):

    timeline = read_conditions(bundle, chords=..., drums=..., melody=..., duration=10)
    encoded = encode_conditions(bundle, "a prompt", timeline, num_samples=2)

`read_conditions` parses and checks every condition once and keeps what a person may want to see:
the chord segments, the melody's pitches, the drum clip, the drum latents the model receives and
the hits they show. The page's previews draw exactly this, so a preview never disagrees with what
the model is given. `encode_conditions` adds the text and stacks everything into `ConditionInputs`.
"""
from __future__ import annotations

import dataclasses
import typing as tp

import numpy as np
import torch

from ..model import ConditionInputs
from . import AudioClip, ChordSegment, ConditionError, MelodyCondition, ParsedChords, load_melody, parse_progression, \
    read_drums

__all__ = ["ConditionTimeline", "EncodedConditions", "read_conditions", "encode_conditions", "given"]


@dataclasses.dataclass
class ConditionTimeline:
    """The conditions of one request as the model will follow them (no tensors, no text)."""

    duration: float
    frames: int                                   # latent frames of the clip
    frame_rate: float
    sample_rate: int
    chords: tp.Optional[ParsedChords] = None
    melody: tp.Optional[MelodyCondition] = None
    drums: tp.Optional[AudioClip] = None          # the drum clip at the model's sample rate
    drum_latents: tp.Optional[np.ndarray] = None  # [frames, latent_dim]: what the drum conditioner receives
    drum_hits: tp.Optional[np.ndarray] = None     # seconds: the hits those latents show
    warnings: tp.List[str] = dataclasses.field(default_factory=list)

    @property
    def chord_segments(self) -> tp.List[ChordSegment]:
        return self.chords.segments(self.duration) if self.chords is not None else []

    @property
    def chord_list(self) -> tp.Optional[tp.List[list]]:
        """[[label, start seconds], ...] in vocabulary labels, or None."""
        return [list(c) for c in self.chords.chords] if self.chords is not None else None

    @property
    def melody_pitches(self) -> tp.Optional[np.ndarray]:
        return self.melody.pitches if self.melody is not None else None

    def as_dict(self) -> tp.Dict[str, tp.Any]:
        """The former `GenerationResult.conditions` dict: chord segments, chord list, melody pitches,
        drums (samples, sample rate); only the conditions that were given."""
        out = {"chords": [dataclasses.astuple(s) for s in self.chord_segments] if self.chords is not None else None,
               "chord_list": self.chord_list, "melody_pitches": self.melody_pitches,
               "drums": (self.drums.samples, self.sample_rate) if self.drums is not None else None}
        return {k: v for k, v in out.items() if v is not None}


@dataclasses.dataclass
class EncodedConditions:
    """Condition tensors of one request, batched for `num_samples`, on the model's device."""

    inputs: ConditionInputs
    frames: int
    timeline: ConditionTimeline

    @property
    def warnings(self) -> tp.List[str]:
        return self.timeline.warnings


def given(value: tp.Any) -> bool:
    """Whether a condition argument holds something (None, '' and empty lists do not)."""
    if value is None:
        return False
    if isinstance(value, str):
        return bool(value.strip())
    if isinstance(value, (list, tuple)):
        return len(value) > 0
    return True


def read_conditions(bundle: tp.Any, chords: tp.Any = None, drums: tp.Any = None, melody: tp.Any = None, *,
                    duration: float, bpm: float = 120.0, meter: str = "4/4") -> ConditionTimeline:
    """Parse and check the temporal conditions for `bundle` (a `ModelBundle`) over `duration` seconds.

    A condition the model does not take is ignored with a warning. Errors are `ConditionError`s
    naming the input (`chords`, `drums`, `melody`, `bpm`, `meter`).
    """
    frame_rate, sample_rate = bundle.frame_rate, bundle.sample_rate
    frames = int(round(duration * frame_rate))
    timeline = ConditionTimeline(duration=float(duration), frames=frames, frame_rate=frame_rate,
                                 sample_rate=sample_rate)
    accepts = bundle.accepts
    for field, value in (("chords", chords), ("drums", drums), ("melody", melody)):
        if given(value) and field not in accepts:
            timeline.warnings.append(f"{field}: the model '{bundle.name}' does not take {field}; ignored")
    if "chords" in accepts and given(chords):
        timeline.chords = parse_progression(chords, duration=duration, bpm=bpm, meter=meter,
                                            vocabulary=bundle.vocabulary)
        timeline.warnings.extend(timeline.chords.warnings)
    if "melody" in accepts and given(melody):
        timeline.melody = load_melody(melody, frames, frame_rate)
        timeline.warnings.extend(timeline.melody.warnings)
    if "drums" in accepts and given(drums):
        clip = read_drums(drums, sample_rate=sample_rate, duration=duration)
        if duration > bundle.max_duration and clip.source_seconds < duration:
            clip = _looped(clip, duration)
        timeline.drums = clip
        timeline.warnings.extend(clip.warnings)
        encoder = bundle.drum_encoder
        latents = np.asarray(encoder.encode(clip.samples, sample_rate, frames), np.float32)
        if latents.shape != (frames, encoder.latent_dim):
            raise ConditionError("drums", f"the drum encoder returned shape {list(latents.shape)}, expected "
                                 f"[{frames}, {encoder.latent_dim}]")
        timeline.drum_latents = latents
        timeline.warnings.extend(getattr(encoder, "notes", ()))  # e.g. no stem separation available
        timeline.drum_hits = _drum_hits(encoder, latents, clip)
    return timeline


def _looped(clip: AudioClip, duration: float) -> AudioClip:
    """A drum clip shorter than a long-form `duration` repeated to fill it (a loop, as a drummer
    would play it), with a note saying so; the padding `read_drums` added is dropped first."""
    rate = clip.sample_rate
    n, loop = int(round(duration * rate)), max(1, int(round(clip.source_seconds * rate)))
    samples = np.tile(clip.samples[:loop], -(-n // loop))[:n].astype(np.float32)
    notes = [w for w in clip.warnings if "pad" not in w.lower()]
    notes.append(f"drums: the {clip.source_seconds:.2f} s drum clip is looped {n / loop:.1f} times to fill "
                 f"{duration:g} s")
    return dataclasses.replace(clip, samples=samples, warnings=tuple(notes))


def _drum_hits(encoder: tp.Any, latents: np.ndarray, clip: AudioClip) -> np.ndarray:
    """The hits the model is shown: read from the latents when the encoder can (the embedded
    model's onset features), else the onsets the drum score detects in the clip."""
    if hasattr(encoder, "hits"):
        return np.asarray(encoder.hits(latents), np.float64)
    from ..metrics import onset_times
    return onset_times(clip.samples, clip.sample_rate)


def encode_conditions(bundle: tp.Any, text: str, timeline: ConditionTimeline, num_samples: int = 1,
                      device: tp.Union[str, torch.device, None] = None) -> EncodedConditions:
    """Text states plus the timeline's chords, melody and drums as `ConditionInputs` [num_samples, ...]."""
    states, mask = bundle.text_encoder.encode([text])
    frames = timeline.frames
    inputs = ConditionInputs(text=states.expand(num_samples, -1, -1), text_mask=mask.expand(num_samples, -1))
    if timeline.chords is not None:
        ids = torch.from_numpy(timeline.chords.frames(frames, timeline.frame_rate, bundle.vocabulary,
                                                      before_first=bundle.chords_before_first))
        inputs.chords = ids.view(1, -1).expand(num_samples, -1)
    if timeline.melody is not None:
        inputs.melody = torch.from_numpy(timeline.melody.salience).float().unsqueeze(0).expand(num_samples, -1, -1)
    if timeline.drum_latents is not None:
        inputs.drums = torch.from_numpy(timeline.drum_latents).unsqueeze(0).expand(num_samples, -1, -1)
        inputs.drums_silence = torch.from_numpy(np.asarray(bundle.drum_encoder.silence(frames), np.float32))
    if device is not None:
        inputs = inputs.to(device)
    return EncodedConditions(inputs, frames, timeline)
