"""Model names -> `ModelSource` (a bundle folder or a released checkpoint), and availability.

`resolve_model` understands 'embedded', a bundle folder, a folder with `state_dict.bin` or that
file, and a Hugging Face repository id found in the local cache. It imports no loader, so it is
cheap; `jasco_core.checkpoints.load_bundle` dispatches on the source's `kind`.
"""
from __future__ import annotations

import dataclasses
import importlib.util
import os
import re
import typing as tp

from ..errors import CheckpointError
from ..hub import DownloadProgress, download_hint, fetch, find_cached_file, find_cached_snapshot, is_offline
from ..paths import EMBEDDED_DIR
from .folder import BUNDLE_FILE
from .released_config import RELEASED_TEXT_ENCODER

__all__ = ["ModelSource", "resolve_model", "available_models", "RELEASED_MODELS", "STATE_FILE", "COMPRESSION_FILE"]

STATE_FILE = "state_dict.bin"
COMPRESSION_FILE = "compression_state_dict.bin"
RELEASED_FILES = (STATE_FILE, COMPRESSION_FILE)   # what a released model repository holds that is needed

#: The JASCO checkpoints Meta released on the Hugging Face hub.
RELEASED_MODELS = (
    "facebook/jasco-chords-drums-400M",
    "facebook/jasco-chords-drums-1B",
    "facebook/jasco-chords-drums-melody-400M",
    "facebook/jasco-chords-drums-melody-1B",
)
_REPO_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9_.-]+$")


@dataclasses.dataclass(frozen=True)
class ModelSource:
    """Where a model name points: `kind` is 'bundle' (a bundle folder) or 'released'."""

    kind: str                                   # 'bundle' (a bundle folder) or 'released'
    name: str
    path: str                                   # bundle folder, or the state_dict.bin file
    compression_path: tp.Optional[str] = None   # compression_state_dict.bin next to it, when present


def resolve_model(name_or_path: str, cache_dirs: tp.Optional[tp.Sequence[str]] = None, *, download: bool = False,
                  progress: tp.Optional[DownloadProgress] = None) -> ModelSource:
    """'embedded'; a bundle folder; a folder with `state_dict.bin` or that file; or a hub repository
    id: from the local cache, or (with `download=True`, unless `HF_HUB_OFFLINE=1`) downloaded into it
    (`state_dict.bin` and `compression_state_dict.bin` only). Anything else raises `CheckpointError`
    saying what was expected."""
    if not isinstance(name_or_path, str) or not name_or_path.strip():
        raise CheckpointError(f"model: expected 'embedded', a checkpoint path or a Hugging Face repo id, "
                              f"got {name_or_path!r}")
    name = name_or_path.strip()
    if name == "embedded":
        if not os.path.exists(os.path.join(EMBEDDED_DIR, BUNDLE_FILE)):
            raise CheckpointError(f"model: the embedded bundle is missing from {EMBEDDED_DIR}")
        return ModelSource("bundle", "embedded", EMBEDDED_DIR)
    path = os.path.expanduser(name)
    if os.path.isdir(path):
        if os.path.exists(os.path.join(path, BUNDLE_FILE)):
            return ModelSource("bundle", os.path.basename(os.path.normpath(path)), path)
        state = os.path.join(path, STATE_FILE)
        if not os.path.isfile(state):
            raise CheckpointError(f"model: the folder {path} holds neither {BUNDLE_FILE} (a bundle) nor "
                                  f"{STATE_FILE} (a released JASCO checkpoint)")
        return ModelSource("released", os.path.basename(os.path.normpath(path)), state, _sibling(state))
    if os.path.isfile(path):
        folder = os.path.basename(os.path.dirname(os.path.abspath(path)))
        label = folder if os.path.basename(path) == STATE_FILE and folder else os.path.basename(path)
        return ModelSource("released", label, path, _sibling(path))
    if _REPO_ID.match(name) and not name.startswith((".", "~")):
        state = find_cached_file(name, STATE_FILE, cache_dirs)
        if state is None and download:
            folder = fetch(name, RELEASED_FILES, required=(STATE_FILE,), progress=progress, what="model")
            return ModelSource("released", name, os.path.join(folder, STATE_FILE), _sibling(os.path.join(folder, STATE_FILE)))
        if state is None:
            why = ("HF_HUB_OFFLINE=1 forbids downloading it" if is_offline() else "no downloads are made here")
            raise CheckpointError(
                f"model: {name!r} is not a local file or folder, and the Hugging Face repository {name} is not in "
                f"the local cache ({why}). " + download_hint(name, include=RELEASED_FILES))
        return ModelSource("released", name, state, find_cached_file(name, COMPRESSION_FILE, cache_dirs))
    raise CheckpointError(f"model: no such file or folder: {name!r} (expected 'embedded', a bundle folder, a folder "
                          f"with {STATE_FILE}, that file, or a Hugging Face repo id such as {RELEASED_MODELS[0]})")


def _sibling(state_path: str) -> tp.Optional[str]:
    p = os.path.join(os.path.dirname(os.path.abspath(state_path)), COMPRESSION_FILE)
    return p if os.path.isfile(p) else None


def available_models(cache_dirs: tp.Optional[tp.Sequence[str]] = None) -> tp.List[tp.Tuple[str, bool, str]]:
    """(name, loadable here, reason) for 'embedded' and each released model, without loading any.

    A released model needs its `state_dict.bin` and the T5 text encoder in the local cache.
    """
    from ..encoders.text_t5 import t5_repo_candidates

    out = []
    if os.path.exists(os.path.join(EMBEDDED_DIR, BUNDLE_FILE)):
        out.append(("embedded", True, "bundled with the application"))
    else:
        out.append(("embedded", False, f"the embedded bundle is missing from {EMBEDDED_DIR}"))
    t5 = None
    for repo in t5_repo_candidates(RELEASED_TEXT_ENCODER):
        t5 = find_cached_snapshot(repo, ("config.json",), cache_dirs)
        if t5 and any(os.path.exists(os.path.join(t5, w)) for w in ("model.safetensors", "pytorch_model.bin")):
            break
        t5 = None
    drums_note = "" if importlib.util.find_spec("demucs") else (
        "; drums: demucs is not installed, so the uploaded audio is used as the drum stem")
    for repo in RELEASED_MODELS:
        if find_cached_file(repo, STATE_FILE, cache_dirs) is None:
            out.append((repo, False, "not downloaded. " + download_hint(repo)))
        elif t5 is None:
            out.append((repo, False, f"its text encoder {RELEASED_TEXT_ENCODER} is not downloaded. " + download_hint(
                t5_repo_candidates(RELEASED_TEXT_ENCODER)[-1], include=("*.json", "*.model", "model.safetensors"))))
        else:
            out.append((repo, True, "in the local Hugging Face cache" + drums_note))
    return out


