"""Drum latents for the released JASCO models (a `DrumEncoder`, see `jasco_core.bundle`).

The original drums condition:

    upload -> drum stem (demucs `htdemucs`) -> EnCodec encoder -> codes of the coarsest RVQ codebook
           -> those codes looked up in the same codebook -> continuous latents [T, 128]

The model's drums conditioner then blurs those latents over blocks of frames and projects them
(`jasco_core.model.conditioners.DrumsConditioner`), so `encode` returns them un-blurred.

Stem separation uses demucs when the `demucs` package is installed *and* the htdemucs weights are
already on disk (torch hub cache); nothing is downloaded. Otherwise the upload itself is used as
the drum stem and `notes` says so (pass a drums-only recording for the closest match).

A row of a batch without drums, when other rows have drums, receives what a silent stem encodes to
(`silence`), as in the original, which zero-pads the missing waveform and runs the codec on it.
"""
from __future__ import annotations

import glob
import logging
import os
import threading
import typing as tp

import numpy as np
import torch

from ..errors import FieldError

logger = logging.getLogger(__name__)

__all__ = ["ReleasedDrumEncoder", "DemucsStemSeparator", "find_demucs"]

NO_DEMUCS_NOTE = ("drums: demucs (htdemucs) is not available here, so the uploaded audio is used as the drum "
                  "stem as it is; upload a drums-only recording for the closest match to the original")


class DemucsStemSeparator:
    """The drums stem of htdemucs, resampled to `sample_rate` mono (float32 [n])."""

    def __init__(self, model, sample_rate: int, device: tp.Union[str, torch.device] = "cpu"):
        self.model = model.to(device).eval()
        self.device = torch.device(device)
        self.sample_rate = sample_rate
        self.stem_index = list(model.sources).index("drums")

    @torch.inference_mode()
    def __call__(self, wav: np.ndarray) -> np.ndarray:
        from demucs.apply import apply_model
        from demucs.audio import convert_audio

        x = torch.from_numpy(np.asarray(wav, np.float32)).view(1, 1, -1).to(self.device)
        x = convert_audio(x, self.sample_rate, self.model.samplerate, self.model.audio_channels)
        stems = apply_model(self.model, x, device=self.device)
        drums = convert_audio(stems[:, self.stem_index], self.model.samplerate, self.sample_rate, 1)
        return drums[0, 0].float().cpu().numpy()


def find_demucs(sample_rate: int, device: tp.Union[str, torch.device] = "cpu",
                name: str = "htdemucs") -> tp.Tuple[tp.Optional[DemucsStemSeparator], str]:
    """(separator, "") when demucs and its cached weights are usable, else (None, reason)."""
    try:
        import demucs
        from demucs import pretrained
    except ImportError:
        return None, "the 'demucs' package is not installed"
    try:
        missing = _missing_demucs_files(os.path.dirname(demucs.__file__), name)
        if missing:
            return None, (f"the {name} weights are not in the torch hub cache "
                          f"({os.path.join(torch.hub.get_dir(), 'checkpoints')}): missing {', '.join(missing)}")
        model = pretrained.get_model(name)
    except Exception as e:  # a broken optional dependency must not break the model
        logger.warning("demucs is installed but %s could not be loaded: %s", name, e)
        return None, f"demucs could not load {name}: {e}"
    return DemucsStemSeparator(model, sample_rate, device), ""


def _missing_demucs_files(package_dir: str, name: str) -> tp.List[str]:
    """Weight files of a demucs bag of models that are not cached yet (torch hub `checkpoints`)."""
    import yaml

    remote = os.path.join(package_dir, "remote")
    with open(os.path.join(remote, f"{name}.yaml")) as f:
        signatures = list(yaml.safe_load(f)["models"])
    with open(os.path.join(remote, "files.txt")) as f:
        files = {line.strip().split("-")[0]: line.strip() for line in f if line.strip()}
    cache = os.path.join(torch.hub.get_dir(), "checkpoints")
    missing = []
    for sig in signatures:
        file = files.get(sig, f"{sig}-*.th")
        if not glob.glob(os.path.join(cache, file)):
            missing.append(file)
    return missing


class ReleasedDrumEncoder:
    """`DrumEncoder` of the released models: coarsest-codebook EnCodec latents of the drum stem.

    `codec` is the bundle's `EncodecCodec`. `segment_duration`: the original always pads or trims
    the drum waveform to the training segment length before encoding; the same is done here (then
    the first `n_frames` frames are kept), so the encoder sees the same context.
    `separator`: a callable stem separator; by default `find_demucs` decides, and without demucs
    the upload is used as the stem (see `notes`).
    """

    def __init__(self, codec, segment_duration: float = 10.0, separator: tp.Any = "auto",
                 device: tp.Union[str, torch.device] = "cpu"):
        self.codec = codec
        self.latent_dim = int(codec.dim)
        self.segment_duration = float(segment_duration)
        self.notes: tp.List[str] = []
        if separator == "auto":
            separator, reason = find_demucs(codec.sample_rate, device)
            if separator is None:
                logger.warning("%s (%s)", NO_DEMUCS_NOTE, reason)
                self.notes.append(NO_DEMUCS_NOTE)
        self.separator = separator
        self._silence: tp.Dict[int, np.ndarray] = {}
        self._lock = threading.Lock()

    @property
    def stem_source(self) -> str:
        return "demucs htdemucs drums stem" if self.separator is not None else "the upload itself (no demucs)"

    def encode(self, wav: np.ndarray, sample_rate: int, n_frames: int) -> np.ndarray:
        """Drum recording (mono float samples at `sample_rate`) -> latents [n_frames, latent_dim]."""
        wav = np.asarray(wav, dtype=np.float32)
        if wav.ndim != 1 or wav.size == 0:
            raise FieldError("drums", f"expected mono samples [n], got shape {wav.shape}")
        if not np.isfinite(wav).all():
            raise FieldError("drums", "the waveform contains NaN or infinite samples")
        if int(sample_rate) != self.codec.sample_rate:
            import soxr
            wav = soxr.resample(wav, int(sample_rate), self.codec.sample_rate).astype(np.float32)
        wav = self._conform(wav, n_frames)
        if self.separator is not None:
            wav = np.asarray(self.separator(wav), np.float32)[: wav.size]
        return self._latents(wav, n_frames)

    def silence(self, n_frames: int) -> np.ndarray:
        """What an all-zero stem encodes to: [n_frames, latent_dim] (cached per length)."""
        with self._lock:
            if n_frames not in self._silence:
                zeros = self._conform(np.zeros(0, np.float32), n_frames)
                self._silence[n_frames] = self._latents(zeros, n_frames)
            return self._silence[n_frames]

    def _conform(self, wav: np.ndarray, n_frames: int) -> np.ndarray:
        hop = self.codec.hop_length
        length = max(n_frames * hop, int(round(self.segment_duration * self.codec.sample_rate)))
        out = np.zeros(length, np.float32)
        out[: min(length, wav.size)] = wav[:length]
        return out

    def _latents(self, wav: np.ndarray, n_frames: int) -> np.ndarray:
        latents = self.codec.coarse_latents(torch.from_numpy(wav))[0]   # [T, D]
        if latents.shape[0] < n_frames:
            raise FieldError("drums", f"the codec produced {latents.shape[0]} frames, fewer than the {n_frames} needed")
        return latents[:n_frames].numpy().astype(np.float32)
