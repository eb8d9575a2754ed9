"""Released audiocraft JASCO checkpoints: safe reading, building the model, loading as a bundle.

A released checkpoint is a folder holding `state_dict.bin` (and usually
`compression_state_dict.bin`), or the `state_dict.bin` file itself. `state_dict.bin` is a
`torch.save`d dict with `best_state` (the model's tensors, audiocraft names) and `xp.cfg` (the
experiment configuration as YAML text, read by `released_config`). It is read with
`weights_only=True`: a file that needs code to be unpickled is refused. The text encoder is T5
(`jasco_core.encoders.text_t5`), the codec EnCodec 32 kHz (`jasco_core.codecs.encodec`), the drum
encoder `jasco_core.encoders.drums_released`. This module loads a `ModelSource`; it never resolves names.
"""
from __future__ import annotations

import dataclasses
import json
import logging
import os
import typing as tp
import zipfile

import torch

from ..errors import CheckpointError
from ..hub import DownloadProgress, download_hint, fetch, find_cached_snapshot
from ..model import FlowMatchingModel, build_model
from .bundle import ModelBundle
from .fitted import fitted_cache_path, fitted_fields, load_user_fitted
from .released_config import ReleasedSettings, parse_xp_config
from .resolve import ModelSource

__all__ = ["read_checkpoint", "read_released", "build_released_model", "parameter_counts", "load_released_bundle",
           "fetch_released_parts", "pretrained_codec_name", "CODEC_PREFIX", "ENCODEC_FILES"]

logger = logging.getLogger(__name__)

CODEC_PREFIX = "condition_provider.conditioners.self_wav.compression_model."
#: The files of the pretrained EnCodec repository the codec needs (weights and configuration).
ENCODEC_FILES = ("config.json", "preprocessor_config.json", "model.safetensors")


def read_checkpoint(path: str) -> tp.Dict[str, tp.Any]:
    """`torch.load` restricted to tensors and plain containers (`weights_only=True`).

    A file whose unpickling would import or call code (a pickled class, function, `__reduce__`
    payload) is refused with `CheckpointError` before anything runs. Zip-format files are
    memory-mapped, so a multi-gigabyte checkpoint is not read into memory twice.
    """
    if not os.path.isfile(path):
        raise CheckpointError(f"model: no such checkpoint file: {path}")
    try:
        pkg = torch.load(path, map_location="cpu", weights_only=True, mmap=zipfile.is_zipfile(path))
    except Exception as e:  # pickle.UnpicklingError, RuntimeError, EOFError, ...
        text = str(e)
        if "weights_only" in text or "Unsupported global" in text or "Unsupported operand" in text:
            detail = [ln.strip() for ln in text.splitlines() if "nsupported" in ln] or [type(e).__name__]
            raise CheckpointError(
                f"model: {path} refused: loading it would run code stored in the file (it holds pickled "
                f"objects other than tensors and plain containers). Only checkpoints made of tensors, dicts, "
                f"lists, strings and numbers are loaded. Detail: {detail[0][:300]}") from None
        raise CheckpointError(f"model: {path} is not a readable torch checkpoint ({type(e).__name__}: {text[:300]}). "
                              "If it came from the Hub, the download is incomplete or corrupt: delete it from the cache "
                              "(`hf cache rm`, or remove the folder) and load again") from None
    if not isinstance(pkg, dict):
        raise CheckpointError(f"model: {path}: expected a dict at the top level, got {type(pkg).__name__}")
    return pkg



def read_released(path: str) -> tp.Tuple[tp.Dict[str, torch.Tensor], ReleasedSettings]:
    """(`best_state`, settings) of a released `state_dict.bin`; the format is checked."""
    pkg = read_checkpoint(path)
    missing = [k for k in ("best_state", "xp.cfg") if k not in pkg]
    if missing:
        raise CheckpointError(f"model: {path}: not an exported JASCO checkpoint (missing {missing}; found "
                              f"{sorted(map(str, pkg))[:10]})")
    state = pkg["best_state"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(f"model: {path}: best_state must map names to tensors")
    settings = parse_xp_config(pkg["xp.cfg"], state, source=f"{path} (xp.cfg)")
    return state, dataclasses.replace(settings, version=str(pkg.get("version", "")))


def build_released_model(state: tp.Mapping[str, torch.Tensor], settings: ReleasedSettings, source: str = "",
                         device: tp.Union[str, torch.device, None] = None) -> FlowMatchingModel:
    """`build_model` with the checkpoint's configuration; a key or shape mismatch is a `CheckpointError`."""
    try:
        return build_model(settings.model_config, state, device=device)
    except KeyError as e:
        raise CheckpointError(f"model: {source}: best_state does not match its xp.cfg: {e.args[0]}") from None
    except RuntimeError as e:  # shape mismatch from load_state_dict
        raise CheckpointError(f"model: {source}: best_state does not match its xp.cfg: {e}") from None


def parameter_counts(state: tp.Mapping[str, torch.Tensor]) -> tp.Dict[str, int]:
    """Numbers of values in a state dict by part: transformer (with its input/output projections and
    time embedding), conditioners (their learnt projections), the codec copy kept in the drums
    conditioner, and the total."""
    counts = {"total": 0, "transformer": 0, "conditioners": 0, "codec_in_state": 0}
    for key, value in state.items():
        n = int(value.numel())
        counts["total"] += n
        if key.startswith(CODEC_PREFIX):
            counts["codec_in_state"] += n
        elif key.startswith("condition_provider."):
            counts["conditioners"] += n
        else:
            counts["transformer"] += n
    return counts



def load_released_bundle(source: ModelSource, device: tp.Union[str, torch.device] = "cpu",
                         cache_dirs: tp.Optional[tp.Sequence[str]] = None, *, download: bool = False,
                         progress: tp.Optional[DownloadProgress] = None) -> ModelBundle:
    """A `ModelBundle` for an audiocraft JASCO checkpoint (a `ModelSource` of kind 'released').

    Text encoder: T5 named in `xp.cfg`. Codec: EnCodec built from the tensors stored in the drums
    conditioner when present, else the pretrained EnCodec named by `compression_state_dict.bin` (or
    `xp.cfg`). Both come from the local cache, or with `download=True` from the Hub (only the files
    needed; EnCodec only when the checkpoint lacks it).
    """
    from ..conditions import MELODY_BINS, load_vocabulary
    from ..encoders.drums_released import ReleasedDrumEncoder
    from ..encoders.text_t5 import T5TextEncoder

    if source.kind != "released":
        raise CheckpointError(f"model: {source.path} is a bundle folder, not a released checkpoint")
    state, settings = read_released(source.path)
    cfg = settings.model_config
    if "melody" in cfg.temporal_conditions and cfg.melody_bins != MELODY_BINS:
        raise CheckpointError(f"model: {source.path}: the melody conditioner takes {cfg.melody_bins} bins; the "
                              f"melody input produces {MELODY_BINS} (MIDI 43..95)")
    vocabulary = None
    if "chords" in cfg.temporal_conditions:
        vocabulary = load_vocabulary()
        if len(vocabulary) != cfg.chords_card or vocabulary.null_index != cfg.null_chord_index:
            raise CheckpointError(f"model: {source.path}: the chord embedding has {cfg.chords_card} chords + null row "
                                  f"{cfg.null_chord_index}, the chord vocabulary {len(vocabulary)} + "
                                  f"{vocabulary.null_index}")
    text_encoder = T5TextEncoder(settings.text_encoder, device=device, cache_dirs=cache_dirs, download=download,
                                 progress=progress)  # fails fast if absent
    if text_encoder.dim != cfg.text_dim:
        raise CheckpointError(f"model: {source.path}: the text projection takes {cfg.text_dim} features but "
                              f"{settings.text_encoder} produces {text_encoder.dim}")
    counts = parameter_counts(state)
    model = build_released_model(state, settings, source.path)
    del state
    codec = _released_codec(model, settings, source, device, cache_dirs, download, progress)
    text_encoder.load()
    drum_encoder = None
    if "self_wav" in cfg.temporal_conditions:
        if cfg.drums_latent_dim != codec.dim:
            raise CheckpointError(f"model: {source.path}: the drums conditioner takes {cfg.drums_latent_dim}-dim "
                                  f"latents, the codec produces {codec.dim}")
        drum_encoder = ReleasedDrumEncoder(codec, settings.segment_duration, device=device)
    notes = list(getattr(drum_encoder, "notes", []))
    info = {"format": "audiocraft JASCO checkpoint", "source": source.path, "version": settings.version,
            "text_encoder": f"{settings.text_encoder} ({text_encoder.folder})", "codec": codec.source,
            "latent_mean": settings.latent_mean, "latent_std": settings.latent_std,
            "drum_stem": drum_encoder.stem_source if drum_encoder else None,
            "parameters": counts, "warnings": notes}
    defaults = settings.defaults()
    _, entry = load_user_fitted(source.name)
    if entry is not None:
        info["fitted_solver"] = entry
    logger.info("loaded released JASCO model %s (%d parameters)", source.name, counts["total"])
    return ModelBundle(name=source.name, model=model, codec=codec, text_encoder=text_encoder,
                       drum_encoder=drum_encoder, vocabulary=vocabulary, defaults=defaults,
                       max_duration=settings.segment_duration, info=info,
                       chords_before_first="no_chord",   # audiocraft's construct_frame_chords
                       **fitted_fields(entry, fitted_cache_path(source.name), defaults))


def _released_codec(model: FlowMatchingModel, settings: ReleasedSettings, source: ModelSource,
                    device: tp.Union[str, torch.device], cache_dirs: tp.Optional[tp.Sequence[str]],
                    download: bool = False, progress: tp.Optional[DownloadProgress] = None):
    from ..codecs.base import CodecError
    from ..codecs.encodec import ENCODEC_32KHZ, EncodecCodec, encodec_config_from_state

    kwargs = dict(latent_mean=settings.latent_mean, latent_std=settings.latent_std, device=device)
    pretrained = pretrained_codec_name(settings, source)
    conditioners = model.condition_provider.conditioners
    tensors: tp.Dict[str, torch.Tensor] = {}
    if "self_wav" in conditioners:
        tensors = {k[len("model."):]: v for k, v in conditioners["self_wav"].compression_model.named_buffers()
                   if k.startswith("model.")}
    try:
        if any(k.startswith("encoder.") for k in tensors) and any(k.startswith("decoder.") for k in tensors):
            base = dict(ENCODEC_32KHZ)
            folder = find_cached_snapshot(pretrained, ("config.json",), cache_dirs) if pretrained else None
            if folder:  # the pretrained codec's settings, when its config happens to be cached
                with open(os.path.join(folder, "config.json")) as f:
                    cached = json.load(f)
                keys = ("sampling_rate", "pad_mode", "use_causal_conv", "dilation_growth_rate", "trim_right_ratio",
                        "normalize", "target_bandwidths")
                base.update({k: cached[k] for k in keys if k in cached})
            codec = EncodecCodec.from_state_dict(tensors, encodec_config_from_state(tensors, base), share=True,
                                                 source=f"EnCodec weights stored in the checkpoint ({source.path})",
                                                 **kwargs)
        else:
            if not pretrained:
                raise CheckpointError(f"model: {source.path}: no codec weights in the checkpoint and no pretrained "
                                      "codec named by compression_state_dict.bin or xp.cfg")
            folder = find_cached_snapshot(pretrained, ("config.json",), cache_dirs)
            if folder is None and download:
                folder = fetch(pretrained, ENCODEC_FILES, required=("config.json",), progress=progress, what="codec")
            if folder is None:
                raise CheckpointError(f"model: the codec {pretrained} is not in the local Hugging Face cache. "
                                      + download_hint(pretrained, include=ENCODEC_FILES))
            codec = EncodecCodec.from_pretrained(folder, source=f"{pretrained} ({folder})", **kwargs)
    except CodecError as e:
        raise CheckpointError(f"model: {source.path}: {e}") from None
    if codec.sample_rate != settings.sample_rate or abs(codec.frame_rate - settings.frame_rate) > 1e-6 \
            or codec.dim != settings.latent_dim:
        raise CheckpointError(f"model: {source.path}: the codec ({codec.sample_rate} Hz, "
                              f"{codec.frame_rate:g} frames/s, {codec.dim} dims) does not match xp.cfg ({settings.sample_rate} Hz, "
                              f"{settings.frame_rate:g} frames/s, {settings.latent_dim} dims)")
    return codec


def pretrained_codec_name(settings: ReleasedSettings, source: ModelSource) -> tp.Optional[str]:
    """Hub name of the pretrained codec: `compression_state_dict.bin` -> {'pretrained': name}, else
    xp.cfg's `compression_model_checkpoint: //pretrained/<name>`."""
    if source.compression_path:
        pkg = read_checkpoint(source.compression_path)
        if isinstance(pkg.get("pretrained"), str):
            return pkg["pretrained"]
        if "best_state" in pkg:
            raise CheckpointError(f"model: {source.compression_path}: a trained audiocraft compression model is not "
                                  "supported; only the pretrained transformers EnCodec ({'pretrained': name})")
    prefix = "//pretrained/"
    if settings.compression_checkpoint.startswith(prefix):
        return settings.compression_checkpoint[len(prefix):]
    return None



def fetch_released_parts(source: ModelSource, progress: tp.Optional[DownloadProgress] = None) -> tp.List[str]:
    """Download ahead of time what loading `source` will need beyond its checkpoint: the T5 text
    encoder and, when the checkpoint does not store it, the pretrained EnCodec. Returns the folders."""
    from ..encoders.text_t5 import T5_FILES, t5_repo_candidates

    state, settings = read_released(source.path)
    folders = []
    t5 = next((f for f in (find_cached_snapshot(r, ("config.json",)) for r in t5_repo_candidates(settings.text_encoder))
               if f), None)
    folders.append(t5 or fetch(t5_repo_candidates(settings.text_encoder)[-1], T5_FILES, required=("config.json",),
                               progress=progress, what="text encoder"))
    stored = any(k.startswith(CODEC_PREFIX + "model.decoder.") for k in state)
    pretrained = pretrained_codec_name(settings, source)
    if not stored and pretrained:
        folders.append(fetch(pretrained, ENCODEC_FILES, required=("config.json",), progress=progress, what="codec"))
    return folders
