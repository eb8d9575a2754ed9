"""Reading and writing model bundles.

Embedded bundle (a folder): `bundle.json` (name, limits, defaults, which text and drum encoders),
`model_config.json` (`ModelConfig`), `model.safetensors` (audiocraft parameter names),
`codec.json` (`MelCodec` config with its normalisation statistics). The chord vocabulary is
`assets/chords/chord_vocabulary.json`.
"""
from __future__ import annotations

import json
import os
import typing as tp

import torch

from .bundle import FeatureDrumEncoder, GenerationDefaults, ModelBundle
from .model import FlowMatchingModel, ModelConfig, build_model

ASSETS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "assets")
EMBEDDED_DIR = os.path.join(ASSETS, "embedded")
BUNDLE_FILE = "bundle.json"


class CheckpointError(ValueError):
    """A model name or path cannot be loaded (field `model`)."""

    field = "model"


def save_embedded_bundle(path: str, model: FlowMatchingModel, codec, *, name: str = "embedded",
                         defaults: tp.Optional[GenerationDefaults] = None, max_duration: float = 10.0,
                         info: tp.Optional[dict] = None) -> None:
    """Write a bundle folder atomically enough for a demo: each file is written then renamed."""
    from safetensors.torch import save_file

    os.makedirs(path, exist_ok=True)
    state = {k: v.detach().float().cpu().contiguous() for k, v in model.state_dict().items()}
    _atomic(os.path.join(path, "model.safetensors"), lambda p: save_file(state, p))
    _write_json(os.path.join(path, "model_config.json"), model.cfg.to_dict())
    _write_json(os.path.join(path, "codec.json"), {"type": "mel", **codec.to_dict()})
    _write_json(os.path.join(path, BUNDLE_FILE), {
        "format": "jasco-demo-bundle/1", "name": name, "text_encoder": {"type": "minilm"},
        "drum_encoder": {"type": "features"}, "max_duration": max_duration,
        "defaults": (defaults or GenerationDefaults()).to_dict(), "info": info or {}})


def load_embedded_bundle(path: str = EMBEDDED_DIR, device: tp.Union[str, torch.device] = "cpu") -> ModelBundle:
    from safetensors.torch import load_file

    from .codecs.mel import MelCodec
    from .conditions import load_vocabulary
    from .text_encoders import MiniLMTextEncoder

    meta = _read_json(os.path.join(path, BUNDLE_FILE))
    cfg = ModelConfig.from_dict(_read_json(os.path.join(path, "model_config.json")))
    state = load_file(os.path.join(path, "model.safetensors"))
    model = build_model(cfg, state, device=device)
    codec_cfg = _read_json(os.path.join(path, "codec.json"))
    codec_cfg.pop("type", None)
    codec = MelCodec.from_dict(codec_cfg)
    return ModelBundle(
        name=meta.get("name", "embedded"), model=model, codec=codec, text_encoder=MiniLMTextEncoder(),
        drum_encoder=FeatureDrumEncoder(cfg.drums_latent_dim) if cfg.drums_dim else None,
        vocabulary=load_vocabulary() if cfg.chords_dim else None,
        defaults=GenerationDefaults.from_dict(meta.get("defaults", {})),
        max_duration=float(meta.get("max_duration", 10.0)), info=meta.get("info", {}))


def load_bundle(name_or_path: str = "embedded", device: tp.Union[str, torch.device] = "cpu") -> ModelBundle:
    """'embedded', a bundle folder, or (see `load_audiocraft_bundle`) a released JASCO checkpoint."""
    if name_or_path == "embedded":
        if not os.path.exists(os.path.join(EMBEDDED_DIR, BUNDLE_FILE)):
            raise CheckpointError(f"model: the embedded bundle is missing from {EMBEDDED_DIR}")
        return load_embedded_bundle(EMBEDDED_DIR, device)
    if os.path.isdir(name_or_path) and os.path.exists(os.path.join(name_or_path, BUNDLE_FILE)):
        return load_embedded_bundle(name_or_path, device)
    loader = globals().get("load_audiocraft_bundle")
    if loader is None:
        raise CheckpointError(f"model: {name_or_path!r} is not 'embedded' or a bundle folder")
    return loader(name_or_path, device)


def _read_json(path: str) -> dict:
    try:
        with open(path) as f:
            return json.load(f)
    except FileNotFoundError:
        raise CheckpointError(f"model: missing bundle file {path}") from None


def _write_json(path: str, data: dict) -> None:
    def write(p):
        with open(p, "w") as f:
            json.dump(data, f, indent=1)
    _atomic(path, write)


def _atomic(path: str, write: tp.Callable[[str], None]) -> None:
    tmp = path + ".tmp"
    write(tmp)
    os.replace(tmp, path)
