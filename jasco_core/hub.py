"""The Hugging Face Hub side of model loading: cache look-ups and download hints.

Nothing here loads a model; `jasco_core.checkpoints` and the encoders that read model files use
these functions to find files. The caches searched are read from the environment at call time:
`AUDIOCRAFT_CACHE_DIR` (where audiocraft itself stores models, when set) and the Hugging Face hub
cache (`HF_HUB_CACHE`, else `$HF_HOME/hub`, else `~/.cache/huggingface/hub`).
"""
from __future__ import annotations

import os
import typing as tp

__all__ = ["hub_cache_dirs", "find_cached_file", "find_cached_snapshot", "download_hint"]


def hub_cache_dirs() -> tp.List[str]:
    """Caches searched for hub models, in order (see the module docstring)."""
    dirs = []
    if os.environ.get("AUDIOCRAFT_CACHE_DIR"):
        dirs.append(os.environ["AUDIOCRAFT_CACHE_DIR"])
    hub = os.environ.get("HF_HUB_CACHE") or os.environ.get("HUGGINGFACE_HUB_CACHE")
    if not hub and os.environ.get("HF_HOME"):
        hub = os.path.join(os.environ["HF_HOME"], "hub")
    if not hub:
        from huggingface_hub import constants
        hub = constants.HF_HUB_CACHE
    dirs.append(os.path.expanduser(hub))
    return dirs


def find_cached_file(repo_id: str, filename: str, cache_dirs: tp.Optional[tp.Sequence[str]] = None) -> tp.Optional[str]:
    """Path of `filename` of hub repository `repo_id` in a local cache, or None (never downloads)."""
    from huggingface_hub import hf_hub_download

    for cache in cache_dirs or hub_cache_dirs():
        try:
            return hf_hub_download(repo_id, filename, cache_dir=cache, local_files_only=True)
        except (OSError, ValueError):
            continue
    return None


def find_cached_snapshot(repo_id: str, required: tp.Sequence[str] = (),
                         cache_dirs: tp.Optional[tp.Sequence[str]] = None) -> tp.Optional[str]:
    """Folder of the cached snapshot of `repo_id` holding every file in `required`, or None."""
    from huggingface_hub import snapshot_download

    for cache in cache_dirs or hub_cache_dirs():
        try:
            folder = snapshot_download(repo_id, cache_dir=cache, local_files_only=True)
        except (OSError, ValueError):
            continue
        if all(os.path.exists(os.path.join(folder, f)) for f in required):
            return folder
    return None


def download_hint(repo_id: str, include: tp.Sequence[str] = ()) -> str:
    """The command that puts a hub repository into the cache this code reads."""
    cache = hub_cache_dirs()[-1]
    repeated = "".join(f" --include '{p}'" for p in include)                      # `hf` takes one per flag
    listed = (" --include " + " ".join(f"'{p}'" for p in include)) if include else ""  # the older CLI: one flag
    return (f"Download it with `hf download {repo_id}{repeated}` (older huggingface_hub: "
            f"`huggingface-cli download {repo_id}{listed}`); it is then stored under {cache} "
            f"(set HF_HUB_CACHE or HF_HOME to use another cache).")
