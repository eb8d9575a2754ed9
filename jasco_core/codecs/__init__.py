"""Audio codecs: the `Codec` interface and the embedded model's `MelCodec`."""
from .base import Codec, CodecConfigError, CodecError, CodecInputError, CodecNotFittedError
from .mel import MelCodec, MelCodecConfig, spectral_convergence

__all__ = [
    "Codec", "CodecError", "CodecConfigError", "CodecInputError", "CodecNotFittedError",
    "MelCodec", "MelCodecConfig", "spectral_convergence",
]
