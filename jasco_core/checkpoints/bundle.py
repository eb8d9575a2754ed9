"""`ModelBundle`: everything that differs between the embedded model and a released checkpoint.

The pipeline's code path is the same for every model; a bundle supplies the parts: the
flow-matching model, the codec (latents <-> audio), the text encoder, the drum encoder (waveform ->
the drum latents the model was trained on), the chord vocabulary, duration limits and the measured
generation defaults. `jasco_core.checkpoints.load_bundle` builds one from any model name.
"""
from __future__ import annotations

import dataclasses
import typing as tp

from ..encoders import DrumEncoder, TextEncoder
from ..guidance import Guidance
from ..model import FlowMatchingModel
from ..solvers import BESPOKE, SolverConfig
from .fitted import nearest_fitted, weights_of

__all__ = ["GenerationDefaults", "ModelBundle", "CONDITION_NAMES"]

#: conditioner name in the model -> the condition's name in the public API
CONDITION_NAMES = {"chords": "chords", "self_wav": "drums", "melody": "melody"}


@dataclasses.dataclass
class GenerationDefaults:
    guidance: Guidance = Guidance()
    solver: SolverConfig = SolverConfig()
    duration: float = 10.0

    def to_dict(self) -> dict:
        return {"guidance": self.guidance.to_dict(), "solver": self.solver.to_dict(), "duration": self.duration}

    @classmethod
    def from_dict(cls, d: tp.Mapping[str, tp.Any]) -> "GenerationDefaults":
        return cls(guidance=Guidance.from_dict(d.get("guidance", {})),
                   solver=SolverConfig.from_dict(d.get("solver", {})),
                   duration=float(d.get("duration", 10.0)))


@dataclasses.dataclass
class ModelBundle:
    name: str
    model: FlowMatchingModel
    codec: tp.Any                       # a `jasco_core.codecs.Codec`
    text_encoder: TextEncoder
    drum_encoder: tp.Optional[DrumEncoder]
    vocabulary: tp.Any                  # `jasco_core.conditions.ChordVocabulary` or None
    defaults: GenerationDefaults = dataclasses.field(default_factory=GenerationDefaults)
    max_duration: float = 10.0
    info: tp.Dict[str, tp.Any] = dataclasses.field(default_factory=dict)
    #: what frames before the first chord get: 'no_chord' ('N', as the original's
    #: construct_frame_chords) or 'null' (the dropped-condition row), the rule of the model's training data
    chords_before_first: str = "no_chord"
    #: the model's fitted few-step solver (`jasco_core.solver_fit`), the `"fast"` preset; None: the generic one
    fitted_solver: tp.Optional[SolverConfig] = None
    #: every fitted solver with the guidance weights (all, text, null) it was fitted at, `fitted_solver` first
    fitted_family: tp.Tuple[tp.Tuple[tp.Tuple[float, float, float], SolverConfig], ...] = ()

    def solver_for(self, solver: SolverConfig, guidance: Guidance) -> SolverConfig:
        """The solver a request runs: `solver`, or, when it is one of the model's fitted solvers, the
        one fitted at the guidance weights nearest the request's (`checkpoints.fitted.nearest_fitted`)."""
        if solver.method != BESPOKE or not self.fitted_family:
            return solver
        return nearest_fitted(self.fitted_family, solver, weights_of(guidance))

    @property
    def presets(self) -> tp.Dict[str, SolverConfig]:
        """`solvers.PRESETS` with `"fast"` this model's fitted solver when it has one."""
        from ..solvers import PRESETS

        return {**PRESETS, "fast": self.fitted_solver} if self.fitted_solver is not None else dict(PRESETS)

    @property
    def frame_rate(self) -> float:
        return float(self.codec.frame_rate)

    @property
    def sample_rate(self) -> int:
        return int(self.codec.sample_rate)

    @property
    def accepts(self) -> tp.Tuple[str, ...]:
        """Conditions this model takes: 'text' and any of 'chords', 'drums', 'melody'."""
        return ("text", *(CONDITION_NAMES[n] for n in self.model.cfg.temporal_conditions))
