"""Audio codecs: the `Codec` interface, the embedded model's `MelCodec` and its learnt semitone stage."""
from .base import Codec, CodecConfigError, CodecError, CodecInputError, CodecNotFittedError
from .mel import MelCodec, MelCodecConfig, spectral_convergence
from .pitch_predictor import PitchPredictor, PredictedPitchCodec

__all__ = [
    "Codec", "CodecError", "CodecConfigError", "CodecInputError", "CodecNotFittedError",
    "MelCodec", "MelCodecConfig", "spectral_convergence", "PitchPredictor", "PredictedPitchCodec",
]
