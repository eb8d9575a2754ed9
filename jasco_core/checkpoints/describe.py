"""What a model contains, without loading its text encoder or codec (`python -m jasco_core.checkpoints inspect`)."""
from __future__ import annotations

import os
import typing as tp

from ..model import ModelConfig, build_model
from .bundle import CONDITION_NAMES
from .folder import _read_json, read_bundle_meta
from .released import CODEC_PREFIX, build_released_model, parameter_counts, pretrained_codec_name, read_released
from .resolve import resolve_model

__all__ = ["describe", "format_description"]


def describe(name_or_path: str, cache_dirs: tp.Optional[tp.Sequence[str]] = None) -> tp.Dict[str, tp.Any]:
    """What a model contains, without loading its text encoder or codec: configuration, parameter
    counts, latent format and accepted conditions. The network is rebuilt to check the weights."""
    from safetensors.torch import load_file

    source = resolve_model(name_or_path, cache_dirs)
    if source.kind == "bundle":
        meta = read_bundle_meta(source.path)
        cfg = ModelConfig.from_dict(_read_json(os.path.join(source.path, "model_config.json")))
        state = load_file(os.path.join(source.path, "model.safetensors"))
        codec = _read_json(os.path.join(source.path, "codec.json"))
        build_model(cfg, state)
        hop = codec.get("hop_length")
        sr = codec.get("sample_rate")
        out = {"name": meta.get("name", source.name), "source": source.path, "format": "bundle folder",
               "version": meta.get("format", ""),
               "text_encoder": meta.get("text_encoder", {}).get("type"), "codec": codec.get("type", "mel"),
               "sample_rate": sr, "frame_rate": (sr / hop) if sr and hop else None,
               "max_duration": meta.get("max_duration")}
    else:
        state, settings = read_released(source.path)
        cfg = settings.model_config
        build_released_model(state, settings, source.path)
        out = {"source": source.path, "format": "audiocraft JASCO checkpoint", "version": settings.version,
               "text_encoder": settings.text_encoder,
               "codec": ("EnCodec stored in the checkpoint" if any(k.startswith(CODEC_PREFIX + "model.encoder.")
                                                                   for k in state)
                         else f"pretrained {pretrained_codec_name(settings, source) or '?'}"),
               "sample_rate": settings.sample_rate, "frame_rate": settings.frame_rate,
               "max_duration": settings.segment_duration,
               "latent_mean": settings.latent_mean, "latent_std": settings.latent_std}
    out.setdefault("name", source.name)
    out.update({"latent_dim": cfg.flow_dim, "tensors": len(state),
                "parameters": parameter_counts(state),
                "accepts": ["text", *(CONDITION_NAMES[n] for n in cfg.temporal_conditions)],
                "model_config": cfg.to_dict()})
    return out


def format_description(d: tp.Dict[str, tp.Any]) -> str:
    p = d["parameters"]
    lines = [
        f"model:         {d['name']}",
        f"source:        {d['source']}",
        f"format:        {d['format']}" + (f" (version {d['version']})" if d.get("version") else ""),
        f"accepts:       {', '.join(d['accepts'])}",
        f"text encoder:  {d['text_encoder']}",
        f"codec:         {d['codec']}",
        f"latents:       {d['latent_dim']} dims at {d['frame_rate']:g} frames/s, audio {d['sample_rate']} Hz, "
        f"up to {d['max_duration']:g} s" if d.get("frame_rate") else f"latents:       {d['latent_dim']} dims",
    ]
    if "latent_std" in d:
        lines.append(f"normalisation: z = (latents - ({d['latent_mean']:g})) / {d['latent_std']:g}")
    lines += [
        f"tensors:       {d['tensors']}",
        "parameters:",
        f"  total           {p['total']:>14,}",
        f"  transformer     {p['transformer']:>14,}  (with input/output projections and time embedding)",
        f"  conditioners    {p['conditioners']:>14,}",
        f"  codec in state  {p['codec_in_state']:>14,}",
        "model configuration:",
    ]
    for key, value in d["model_config"].items():
        lines.append(f"  {key:<30} {value}")
    return "\n".join(lines)

