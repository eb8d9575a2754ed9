"""`EncodecCodec`: the EnCodec 32 kHz codec of the released JASCO models, behind the `Codec` interface.

What "latents" means for JASCO: the *continuous* output of the EnCodec encoder, before residual
vector quantisation. The original training code computes `compression_model.model.encoder(audio)`
(a [B, 128, T] tensor at 50 frames/s for 32 kHz audio) and generation decodes with
`compression_model.model.decoder(latents)` directly, so the quantiser is bypassed in both
directions. The flow-matching model sees those latents normalised with two scalars of the
experiment config: `z = (latents - mean) / std` (`compression_model_latent_mean/std`), and
decoding un-normalises with `latents = z * std + mean`.

The quantiser matters for one thing only, the drums condition: a drum stem is encoded, reduced to
the codes of the coarsest RVQ codebook, and those codes are looked up in that codebook again
(`coarse_latents`). Those latents are *not* normalised.

The codec wraps `transformers.EncodecModel`. Its weights come either from tensors the caller already
has (a released JASCO `best_state` carries the whole EnCodec under the drums conditioner), with the
configuration inferred from the tensor shapes (`from_state_dict`), or from a local Hugging Face
folder / cached repository (`from_pretrained`, never downloading).
"""
from __future__ import annotations

import logging
import math
import re
import typing as tp

import numpy as np
import torch

from .base import CodecConfigError, CodecInputError

logger = logging.getLogger(__name__)

__all__ = ["EncodecCodec", "ENCODEC_32KHZ", "encodec_config_from_state", "normalise_encodec_keys"]

#: Settings of `facebook/encodec_32khz` that differ from `transformers.EncodecConfig`'s defaults
#: (the values used when Meta's 32 kHz EnCodec was converted to the transformers format).
ENCODEC_32KHZ: tp.Dict[str, tp.Any] = {
    "upsampling_ratios": [8, 5, 4, 4], "target_bandwidths": [2.2], "num_filters": 64,
    "sampling_rate": 32_000, "codebook_size": 2048, "use_causal_conv": False, "normalize": False,
    "use_conv_shortcut": False,
}

# Non-persistent buffers that some transformers versions saved with the weights; they are derived
# from the configuration, so they are dropped when present.
_DERIVED_SUFFIXES = (".stride", ".kernel_size", ".padding_total")
_WEIGHT_NAMES = ("parametrizations.weight.original1", "weight_v", "weight")


def normalise_encodec_keys(state: tp.Mapping[str, torch.Tensor],
                           expected: tp.Collection[str]) -> tp.Dict[str, torch.Tensor]:
    """Rename weight-norm tensors between the two naming schemes transformers has used.

    Older releases stored `conv.weight_g` / `conv.weight_v` (`torch.nn.utils.weight_norm`), newer ones
    `conv.parametrizations.weight.original0` / `original1`; the tensors are identical. Keys are
    mapped to whichever form `expected` (the installed model's state dict) uses.
    """
    pairs = ((".weight_g", ".parametrizations.weight.original0"), (".weight_v", ".parametrizations.weight.original1"))
    out: tp.Dict[str, torch.Tensor] = {}
    for key, value in state.items():
        if key not in expected:
            if key.endswith(_DERIVED_SUFFIXES):
                continue
            for old, new in pairs:
                for a, b in ((old, new), (new, old)):
                    if key.endswith(a) and key[: -len(a)] + b in expected:
                        key = key[: -len(a)] + b
        out[key] = value
    return out


def _conv_weight(state: tp.Mapping[str, torch.Tensor], prefix: str) -> tp.Optional[torch.Tensor]:
    for name in _WEIGHT_NAMES:
        if f"{prefix}.{name}" in state:
            return state[f"{prefix}.{name}"]
    return None


def encodec_config_from_state(state: tp.Mapping[str, torch.Tensor], base: tp.Optional[tp.Mapping[str, tp.Any]] = None):
    """An `EncodecConfig` whose shapes match the tensors of an EnCodec state dict.

    Sizes are read from the tensors (channels, filters, kernel sizes, stride ratios from the
    down-sampling kernels, residual layers, LSTM layers, codebooks). What shapes cannot tell
    (sample rate, padding mode, causality, dilation growth) comes from `base`, by default the
    32 kHz model's settings. A wrong guess still fails loudly: the weights are loaded strictly.
    """
    from transformers import EncodecConfig

    kw: tp.Dict[str, tp.Any] = dict(ENCODEC_32KHZ if base is None else base)
    first = _conv_weight(state, "encoder.layers.0.conv")
    embed = state.get("quantizer.layers.0.codebook.embed")
    if first is None or embed is None:
        raise CodecConfigError("EnCodec state dict: missing encoder.layers.0.conv weights or "
                               "quantizer.layers.0.codebook.embed; is this an EnCodec model?")
    kw["num_filters"], kw["audio_channels"], kw["kernel_size"] = (int(n) for n in first.shape)
    kw["codebook_size"], kw["codebook_dim"] = int(embed.shape[0]), int(embed.shape[1])
    kw["norm_type"] = "weight_norm" if any(k.endswith(("weight_g", "original0")) for k in state) else "time_group_norm"
    kw["use_conv_shortcut"] = any(k.startswith("encoder.") and ".shortcut." in k for k in state)

    # encoder: conv0, then per ratio [resblock x R, ELU, down-conv(kernel 2r, stride r)], LSTM, ELU, conv
    top = {}
    for key in state:
        m = re.match(r"encoder\.layers\.(\d+)\.conv\.", key)
        if m:
            top[int(m.group(1))] = _conv_weight(state, f"encoder.layers.{m.group(1)}.conv")
    block = re.compile(r"encoder\.layers\.(\d+)\.block\.")
    blocks = {int(m.group(1)) for m in map(block.match, state) if m}
    order = sorted(top)
    if len(order) >= 3:
        down = order[1:-1]
        kw["upsampling_ratios"] = [int(top[i].shape[2]) // 2 for i in reversed(down)]
        last = top[order[-1]]
        kw["hidden_size"], kw["last_kernel_size"] = int(last.shape[0]), int(last.shape[2])
        kw["num_residual_layers"] = len([b for b in blocks if b < down[0]])
    res = _conv_weight(state, f"encoder.layers.{min(blocks)}.block.1.conv") if blocks else None
    if res is not None:
        kw["residual_kernel_size"] = int(res.shape[2])
        kw["compress"] = max(1, int(res.shape[1]) // max(1, int(res.shape[0])))
    lstm = re.compile(r"encoder\.layers\.\d+\.lstm\.weight_ih_l(\d+)$")
    lstm_layers = {int(m.group(1)) for m in map(lstm.match, state) if m}
    if lstm_layers:
        kw["num_lstm_layers"] = max(lstm_layers) + 1
    n_q = len({k.split(".")[2] for k in state if k.startswith("quantizer.layers.") and k.endswith(".codebook.embed")})
    config = EncodecConfig(**kw)
    if config.num_quantizers != n_q:  # bandwidth giving exactly n_q codebooks (half a codebook of margin)
        kw["target_bandwidths"] = [(n_q + 0.5) * config.frame_rate * config.codebook_nbits / 1000.0]
        config = EncodecConfig(**kw)
    return config


class EncodecCodec:
    """Audio <-> normalised continuous EnCodec latents (see the module docstring).

    `encode(audio [B, n]) -> [B, T, D]`, `decode([B, T, D]) -> audio [B, T * hop]`, both on the
    codec's device internally and returning CPU float32 tensors.
    """

    def __init__(self, model, latent_mean: float = 0.0, latent_std: float = 1.0,
                 device: tp.Union[str, torch.device] = "cpu", source: str = ""):
        cfg = model.config
        if int(cfg.audio_channels) != 1:
            raise CodecConfigError(f"EnCodec: only mono models are supported, got audio_channels={cfg.audio_channels}")
        if not (math.isfinite(latent_std) and latent_std > 0 and math.isfinite(latent_mean)):
            raise CodecConfigError(f"EnCodec: latent std must be a positive number and mean finite, got "
                                   f"mean={latent_mean!r}, std={latent_std!r}")
        self.device = torch.device(device)
        self.model = model.to(self.device).eval().requires_grad_(False)
        self.sample_rate = int(cfg.sampling_rate)
        self.hop_length = int(np.prod(cfg.upsampling_ratios))
        self.frame_rate = self.sample_rate / self.hop_length
        self.dim = int(cfg.hidden_size)
        self.latent_mean = float(latent_mean)
        self.latent_std = float(latent_std)
        self.source = source

    # -- construction -------------------------------------------------------------------------
    @classmethod
    def from_state_dict(cls, state: tp.Mapping[str, torch.Tensor], config=None, share: bool = False,
                        **kwargs) -> "EncodecCodec":
        """Build from EnCodec tensors in transformers' `EncodecModel` naming (either weight-norm form).

        `config` (an `EncodecConfig` or a dict) defaults to one inferred from the tensor shapes.
        Loading is strict: a missing, unexpected or wrongly shaped tensor raises `CodecConfigError`
        listing them. With `share=True` the model uses the given tensors themselves (no copy), e.g.
        the EnCodec tensors a flow-matching model already holds.
        """
        from transformers import EncodecConfig, EncodecModel

        if config is None:
            config = encodec_config_from_state(state)
        elif isinstance(config, dict):
            config = EncodecConfig(**config)
        model = EncodecModel(config)
        expected = model.state_dict()
        state = normalise_encodec_keys(state, expected)
        missing = sorted(set(expected) - set(state))
        unexpected = sorted(set(state) - set(expected))
        wrong = sorted(k for k in set(state) & set(expected) if tuple(state[k].shape) != tuple(expected[k].shape))
        if missing or unexpected or wrong:
            raise CodecConfigError(
                "EnCodec weights do not match the configuration:"
                f"\n  missing ({len(missing)}): {missing[:10]}\n  unexpected ({len(unexpected)}): {unexpected[:10]}"
                f"\n  wrong shape ({len(wrong)}): {wrong[:10]}")
        state = {k: v.float() for k, v in state.items()}
        model.load_state_dict(state, strict=True, assign=share)
        return cls(model, **kwargs)

    @classmethod
    def from_pretrained(cls, path: str, **kwargs) -> "EncodecCodec":
        """Load from a local folder holding a transformers EnCodec (`config.json` + weights)."""
        from transformers import EncodecModel

        try:
            model = EncodecModel.from_pretrained(path, local_files_only=True).float()
        except (OSError, ValueError) as e:
            raise CodecConfigError(f"EnCodec: cannot load a transformers EncodecModel from {path}: {e}") from e
        kwargs.setdefault("source", str(path))
        return cls(model, **kwargs)

    def to_dict(self) -> dict:
        return {"type": "encodec", "sample_rate": self.sample_rate, "frame_rate": self.frame_rate, "dim": self.dim,
                "latent_mean": self.latent_mean, "latent_std": self.latent_std, "source": self.source}

    # -- Codec interface ----------------------------------------------------------------------
    def frames_for(self, seconds: float) -> int:
        return int(math.ceil(round(seconds * self.sample_rate) / self.hop_length))

    @torch.inference_mode()
    def encode_raw(self, audio: torch.Tensor) -> torch.Tensor:
        """Audio [B, n] or [n] at `sample_rate` -> un-normalised encoder output [B, T, D]."""
        x = self._audio(audio)
        return self.model.encoder(x.to(self.device)).transpose(1, 2).float().cpu()

    def encode(self, audio: torch.Tensor) -> torch.Tensor:
        return (self.encode_raw(audio) - self.latent_mean) / self.latent_std

    @torch.inference_mode()
    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        if not isinstance(latents, torch.Tensor) or latents.dim() != 3 or latents.shape[-1] != self.dim:
            shape = tuple(latents.shape) if isinstance(latents, torch.Tensor) else type(latents).__name__
            raise CodecInputError(f"latents: expected a tensor [B, T, {self.dim}], got {shape}")
        z = latents.to(self.device, torch.float32) * self.latent_std + self.latent_mean
        return self.model.decoder(z.transpose(1, 2))[:, 0].float().cpu()

    # -- drums --------------------------------------------------------------------------------
    @torch.inference_mode()
    def coarse_codes(self, audio: torch.Tensor) -> torch.Tensor:
        """Codes [B, T] (int64) of the first (coarsest) RVQ codebook for audio [B, n]."""
        x = self._audio(audio).to(self.device)
        hidden = self.model.encoder(x)                       # [B, D, T]
        return self.model.quantizer.layers[0].encode(hidden).long().cpu()

    @torch.inference_mode()
    def coarse_latents(self, audio: torch.Tensor) -> torch.Tensor:
        """The coarsest codebook's vectors for those codes: [B, T, D], not normalised."""
        codes = self.coarse_codes(audio).to(self.device)
        return self.model.quantizer.layers[0].decode(codes).transpose(1, 2).float().cpu()

    def _audio(self, audio) -> torch.Tensor:
        if isinstance(audio, np.ndarray):
            audio = torch.from_numpy(audio)
        if not isinstance(audio, torch.Tensor) or audio.dim() not in (1, 2) or audio.shape[-1] == 0:
            shape = tuple(audio.shape) if isinstance(audio, torch.Tensor) else type(audio).__name__
            raise CodecInputError(f"audio: expected a non-empty tensor [B, n] or [n], got {shape}")
        if not torch.is_floating_point(audio):
            raise CodecInputError(f"audio: expected float samples, got {audio.dtype}")
        if audio.dim() == 1:
            audio = audio.unsqueeze(0)
        return audio.float().unsqueeze(1)                   # [B, 1, n]
