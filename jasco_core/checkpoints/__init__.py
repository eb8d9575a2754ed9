"""Model bundles and released JASCO checkpoints: `load_bundle(name)` is the one entry point.

- `bundle.py`: `ModelBundle`, `GenerationDefaults` (what differs between models).
- `folder.py`: bundle folders (the embedded model's format): save / load; encoders chosen from `bundle.json`.
- `released_config.py`, `released.py`: audiocraft JASCO checkpoints (`state_dict.bin` + `xp.cfg`).
- `resolve.py`: model name -> `ModelSource`; which models can be loaded here.
- `describe.py`, `__main__.py`: `python -m jasco_core.checkpoints inspect NAME | list`.

The Hugging Face cache is reached through `jasco_core.hub`; the chord vocabulary is
`assets/chords/chord_vocabulary.json` (`jasco_core.paths`).
"""
from __future__ import annotations

import typing as tp

import torch

from ..errors import CheckpointError
from ..hub import DownloadProgress, download_hint, find_cached_file, find_cached_snapshot, hub_cache_dirs
from ..paths import EMBEDDED_DIR
from .bundle import CONDITION_NAMES, GenerationDefaults, ModelBundle
from .describe import describe, format_description
from .folder import BUNDLE_FILE, load_embedded_bundle, save_embedded_bundle
from .released import (CODEC_PREFIX, build_released_model, fetch_released_parts, load_released_bundle,
                       parameter_counts, read_checkpoint, read_released)
from .released_config import RELEASED_TEXT_ENCODER, ReleasedSettings, parse_xp_config
from .resolve import (COMPRESSION_FILE, RELEASED_MODELS, STATE_FILE, ModelSource, ModelStatus, available_models,
                      model_status, resolve_model)

__all__ = [
    "load_bundle", "CheckpointError", "ModelBundle", "GenerationDefaults", "CONDITION_NAMES",
    "save_embedded_bundle", "load_embedded_bundle", "BUNDLE_FILE", "EMBEDDED_DIR",
    "read_checkpoint", "read_released", "build_released_model", "parameter_counts", "load_released_bundle",
    "CODEC_PREFIX", "ReleasedSettings", "parse_xp_config", "RELEASED_TEXT_ENCODER",
    "ModelSource", "ModelStatus", "resolve_model", "model_status", "available_models", "fetch_released_parts", "RELEASED_MODELS", "STATE_FILE", "COMPRESSION_FILE",
    "describe", "format_description",
    "hub_cache_dirs", "find_cached_file", "find_cached_snapshot", "download_hint",
]


def load_bundle(name_or_path: str = "embedded", device: tp.Union[str, torch.device] = "cpu",
                cache_dirs: tp.Optional[tp.Sequence[str]] = None, *, download: bool = True,
                progress: tp.Optional[DownloadProgress] = None) -> ModelBundle:
    """Load any model by name (see `resolve_model`): 'embedded', a bundle folder, a released
    checkpoint folder or file, or a Hugging Face repository id: from the local cache, else
    downloaded (unless `download=False` or `HF_HUB_OFFLINE=1`), with `progress(done, total, what)`
    reporting the bytes (default: tqdm bars)."""
    source = resolve_model(name_or_path, cache_dirs, download=download, progress=progress)
    if source.kind == "bundle":
        return load_embedded_bundle(source.path, device)
    return load_released_bundle(source, device, cache_dirs, download=download, progress=progress)
