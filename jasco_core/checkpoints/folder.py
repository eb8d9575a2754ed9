"""Bundle folders (the embedded model's format): save and load.

A folder holds `bundle.json` (name, limits, generation defaults, which text and drum encoders),
`model_config.json` (`ModelConfig`), `model.safetensors` (audiocraft parameter names) and
`codec.json` (the `MelCodec` configuration with its normalisation statistics). Each file is
written to a temporary name and renamed, so an interrupted save never leaves a half-written file
under the real name.
"""
from __future__ import annotations

import json
import os
import typing as tp

import torch

from ..encoders import drum_encoder_from_spec, text_encoder_from_spec
from ..errors import CheckpointError
from ..model import FlowMatchingModel, ModelConfig, build_model
from ..paths import EMBEDDED_DIR
from .bundle import GenerationDefaults, ModelBundle

__all__ = ["BUNDLE_FILE", "BUNDLE_FORMAT", "save_embedded_bundle", "load_embedded_bundle", "read_bundle_meta"]

BUNDLE_FILE = "bundle.json"
BUNDLE_FORMAT = "jasco-demo-bundle/1"


def save_embedded_bundle(path: str, model: FlowMatchingModel, codec, *, name: str = "embedded",
                         defaults: tp.Optional[GenerationDefaults] = None, max_duration: float = 10.0,
                         info: tp.Optional[dict] = None, chords_before_first: str = "null") -> None:
    """Write a bundle folder atomically enough for a demo: each file is written then renamed."""
    from safetensors.torch import save_file

    os.makedirs(path, exist_ok=True)
    state = {k: v.detach().float().cpu().contiguous() for k, v in model.state_dict().items()}
    _atomic(os.path.join(path, "model.safetensors"), lambda p: save_file(state, p))
    write_json(os.path.join(path, "model_config.json"), model.cfg.to_dict())
    write_json(os.path.join(path, "codec.json"), {"type": "mel", **codec.to_dict()})
    write_json(os.path.join(path, BUNDLE_FILE), {
        "format": BUNDLE_FORMAT, "name": name, "text_encoder": {"type": "minilm"},
        "drum_encoder": {"type": "features"}, "max_duration": max_duration,
        "chords_before_first": chords_before_first,
        "defaults": (defaults or GenerationDefaults()).to_dict(), "info": info or {}})


def read_bundle_meta(path: str) -> dict:
    """`bundle.json` of a bundle folder, checked to be a JSON object."""
    meta = _read_json(os.path.join(path, BUNDLE_FILE))
    if not isinstance(meta, dict):
        raise CheckpointError("model", f"{path}/{BUNDLE_FILE}: expected a JSON object")
    return meta


def load_embedded_bundle(path: str = EMBEDDED_DIR, device: tp.Union[str, torch.device] = "cpu") -> ModelBundle:
    """Load a bundle folder; its text and drum encoders are the ones `bundle.json` names."""
    from safetensors.torch import load_file

    from ..codecs.mel import MelCodec
    from ..conditions import load_vocabulary
    from .fitted import FITTED_KEY, fitted_fields

    meta = read_bundle_meta(path)
    cfg = ModelConfig.from_dict(_read_json(os.path.join(path, "model_config.json")))
    weights = os.path.join(path, "model.safetensors")
    try:
        state = load_file(weights)
    except FileNotFoundError:
        raise CheckpointError("model", f"missing bundle file {weights}") from None
    except Exception as e:  # safetensors raises its own error type for a truncated or corrupt file
        raise CheckpointError("model", f"{weights} is not a readable safetensors file: {e}") from None
    try:
        model = build_model(cfg, state, device=device)
    except (KeyError, RuntimeError) as e:
        raise CheckpointError("model", f"{weights} does not match model_config.json: {e}") from None
    codec_cfg = _read_json(os.path.join(path, "codec.json"))
    kind = codec_cfg.pop("type", "mel")
    if kind != "mel":
        raise CheckpointError("model", f"{path}/codec.json: unknown codec type {kind!r}; expected 'mel'")
    codec = MelCodec.from_dict(codec_cfg)
    source = os.path.join(path, BUNDLE_FILE)
    text_encoder = text_encoder_from_spec(meta.get("text_encoder", {"type": "minilm"}), dim=cfg.text_dim,
                                          device=device, source=source)
    drum_encoder = drum_encoder_from_spec(meta.get("drum_encoder", {"type": "features"}),
                                          latent_dim=cfg.drums_latent_dim, frame_rate=codec.frame_rate,
                                          source=source) if cfg.drums_dim else None
    defaults = GenerationDefaults.from_dict(meta.get("defaults", {}))
    return ModelBundle(
        name=meta.get("name", "embedded"), model=model, codec=codec, text_encoder=text_encoder,
        drum_encoder=drum_encoder, vocabulary=load_vocabulary() if cfg.chords_dim else None,
        defaults=defaults, max_duration=float(meta.get("max_duration", 10.0)), info=meta.get("info", {}),
        chords_before_first=_before_first(meta, source), **fitted_fields(meta.get(FITTED_KEY), source, defaults))


def _before_first(meta: dict, source: str) -> str:
    """The bundle's rule for frames before the first chord. Bundles written before the key existed
    were all trained on `frame_chords`' null rule."""
    from ..conditions.chords import BEFORE_FIRST

    rule = meta.get("chords_before_first", "null")
    if rule not in BEFORE_FIRST:
        raise CheckpointError("model", f"{source}: chords_before_first must be one of {BEFORE_FIRST}, got {rule!r}")
    return rule


def _read_json(path: str) -> dict:
    try:
        with open(path) as f:
            return json.load(f)
    except FileNotFoundError:
        raise CheckpointError("model", f"missing bundle file {path}") from None
    except (OSError, ValueError) as e:  # unreadable, or not JSON (a truncated download)
        raise CheckpointError("model", f"{path} is not a readable JSON file: {e}") from None


def write_json(path: str, data: dict) -> None:
    def write(p):
        with open(p, "w") as f:
            json.dump(data, f, indent=1)
    _atomic(path, write)


def _atomic(path: str, write: tp.Callable[[str], None]) -> None:
    tmp = path + ".tmp"
    write(tmp)
    os.replace(tmp, path)
