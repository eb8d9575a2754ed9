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

__all__ = ["ModelSource", "ModelStatus", "resolve_model", "model_status", "available_models", "RELEASED_MODELS", "STATE_FILE", "COMPRESSION_FILE"]

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


@dataclasses.dataclass(frozen=True)
class ModelStatus:
    """Whether a model can be used here, without loading it.

    `state`: 'ready' (loads from disk), 'download' (loads after downloading `download_bytes`, when
    known), or 'unavailable' (`reason` says why: offline, no access, missing files).
    """

    name: str
    state: str
    reason: str
    download_bytes: tp.Optional[int] = None
    code: str = ""      # why not, in a word: 'offline', 'gated', 'no_access', 'missing', 'network' (CheckpointError.code)

    @property
    def usable(self) -> bool:
        return self.state != "unavailable"

    @property
    def summary(self) -> str:
        """One line for a menu: 'ready', 'downloads 1.4 GB on first use', or why not."""
        if self.state == "ready":
            return "ready"
        if self.state == "download":
            return f"downloads {format_size(self.download_bytes) if self.download_bytes else 'its files'} on first use"
        return f"unavailable: {self.reason}"


def format_size(n: int) -> str:
    """'2.6 MB', '1.4 GB'."""
    return f"{n / 1e9:.1f} GB" if n >= 1e8 else f"{n / 1e6:.1f} MB"


def model_status(cache_dirs: tp.Optional[tp.Sequence[str]] = None, *, ask_hub: bool = True) -> tp.List[ModelStatus]:
    """The state of 'embedded' and of each released model. A released model is ready when its
    `state_dict.bin` and the T5 text encoder are cached; otherwise, unless offline, the Hub is asked
    (`ask_hub`: one metadata request per file, no download) how much it would download and whether
    this machine may (a gated repository needs HF_TOKEN)."""
    from ..encoders.text_t5 import T5_FILES, t5_repo_candidates
    from ..hub import download_size

    out = []
    if os.path.exists(os.path.join(EMBEDDED_DIR, BUNDLE_FILE)):
        out.append(ModelStatus("embedded", "ready", "bundled with the application"))
    else:
        out.append(ModelStatus("embedded", "unavailable", f"the embedded bundle is missing from {EMBEDDED_DIR}",
                               code="missing"))
    t5_repo = t5_repo_candidates(RELEASED_TEXT_ENCODER)[-1]
    t5 = None
    for repo in t5_repo_candidates(RELEASED_TEXT_ENCODER):
        t5 = find_cached_snapshot(repo, ("config.json",), cache_dirs)
        if t5 and any(os.path.exists(os.path.join(t5, w)) for w in ("model.safetensors", "pytorch_model.bin")):
            break
        t5 = None
    drums_note = "" if importlib.util.find_spec("demucs") else (
        "; drums: demucs is not installed, so the uploaded audio is used as the drum stem")
    t5_bytes: tp.Optional[int] = 0 if t5 else None
    for repo in RELEASED_MODELS:
        cached = find_cached_file(repo, STATE_FILE, cache_dirs) is not None
        if cached and t5:
            out.append(ModelStatus(repo, "ready", "in the local Hugging Face cache" + drums_note))
            continue
        missing = "its text encoder " + RELEASED_TEXT_ENCODER if cached else "it"
        if is_offline():
            hint = download_hint(t5_repo, include=T5_FILES) if cached else download_hint(repo, include=RELEASED_FILES)
            out.append(ModelStatus(repo, "unavailable", f"{missing} is not downloaded and HF_HUB_OFFLINE=1. {hint}",
                                   code="offline"))
            continue
        if not ask_hub:
            out.append(ModelStatus(repo, "download", f"{missing} is downloaded on first use"))
            continue
        try:
            size = 0 if cached else download_size(repo, RELEASED_FILES)
            if t5_bytes is None:
                t5_bytes = download_size(t5_repo, T5_FILES, "text encoder")
        except CheckpointError as e:
            out.append(ModelStatus(repo, "unavailable", e.message, code=getattr(e, "code", "")))
            continue
        out.append(ModelStatus(repo, "download", f"{missing} is downloaded on first use" + drums_note,
                               size + t5_bytes))
    return out


def available_models(cache_dirs: tp.Optional[tp.Sequence[str]] = None) -> tp.List[tp.Tuple[str, bool, str]]:
    """(name, usable here, reason) for 'embedded' and each released model (see `model_status`,
    here without asking the Hub)."""
    return [(m.name, m.usable, m.reason if m.state != "download" else m.summary)
            for m in model_status(cache_dirs, ask_hub=False)]
