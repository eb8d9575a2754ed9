"""The Hugging Face Hub side of model loading: cache look-ups, downloads, download hints.

Nothing here loads a model; `jasco_core.checkpoints` and the encoders that read model files use
these functions to find (`find_cached_*`) or fetch (`fetch`) files. The ecosystem's conventions are
followed, read at call time: `HF_HUB_OFFLINE=1` means the cache only; `HF_TOKEN` (or a cached
`hf auth login`) for gated repositories; `HF_ENDPOINT` for a mirror. The caches searched are read from the environment at call time:
`AUDIOCRAFT_CACHE_DIR` (where audiocraft itself stores models, when set) and the Hugging Face hub
cache (`HF_HUB_CACHE`, else `$HF_HOME/hub`, else `~/.cache/huggingface/hub`).
"""
from __future__ import annotations

import contextlib
import logging
import os
import shutil
import sys
import typing as tp

from .errors import CheckpointError

__all__ = ["hub_cache_dirs", "find_cached_file", "find_cached_snapshot", "download_hint", "fetch", "download_size",
           "is_offline", "hub_endpoint", "hub_token", "model_page", "check_free_space"]

logger = logging.getLogger(__name__)


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


# -- downloads -------------------------------------------------------------------------------------
DownloadProgress = tp.Callable[[int, int, str], None]   # (bytes done, bytes in all, description)
DISK_MARGIN_BYTES = 200 * 2**20                            # kept free beyond the download itself
_TRUE = ("1", "true", "yes", "on")


def is_offline() -> bool:
    """`HF_HUB_OFFLINE` read now, or as huggingface_hub read it at its import (it refuses every request
    then, whatever the environment says later)."""
    if os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in _TRUE:
        return True
    constants = sys.modules.get("huggingface_hub.constants")
    return bool(getattr(constants, "HF_HUB_OFFLINE", False))


def hub_endpoint() -> str:
    """`HF_ENDPOINT` at call time (a mirror, or a local test Hub), else the public Hub."""
    return (os.environ.get("HF_ENDPOINT") or "https://huggingface.co").rstrip("/")


def model_page(repo_id: str) -> str:
    """Where a person requests access to a gated model, or reads about it."""
    return f"{hub_endpoint()}/{repo_id}"


def fetch(repo_id: str, patterns: tp.Sequence[str], *, required: tp.Sequence[str] = (),
          progress: tp.Optional[DownloadProgress] = None, what: str = "model") -> str:
    """Snapshot folder of `repo_id` holding its files that match `patterns`, downloading what the
    cache lacks (unless `HF_HUB_OFFLINE=1`).

    A snapshot already holding every file of `required` is returned with no request at all. Before
    downloading, the sizes are asked for and the free disk space of the cache is checked. Downloads
    go to the cache `hub_cache_dirs()` names last (HF_HUB_CACHE / HF_HOME), authenticated with
    `HF_TOKEN` or a cached `hf auth login`, from `HF_ENDPOINT`. huggingface_hub writes each file
    under a temporary name and moves it into place when complete, so an interrupted download
    leaves nothing that a later load mistakes for a file; the next call resumes it. Every failure
    is a `CheckpointError` (field `model`) that says what to do.
    """
    cached = find_cached_snapshot(repo_id, required)
    if cached is not None:
        return cached
    if is_offline():
        raise CheckpointError("model", f"the {what} {repo_id} is not in the local Hugging Face cache and HF_HUB_OFFLINE=1 "
                              f"forbids downloading it. {download_hint(repo_id, include=patterns)}", code="offline")
    from huggingface_hub import snapshot_download

    cache = hub_cache_dirs()[-1]
    os.makedirs(cache, exist_ok=True)
    kwargs = dict(repo_id=repo_id, allow_patterns=list(patterns), cache_dir=cache, endpoint=hub_endpoint(),
                  token=hub_token())
    with _hub_errors(repo_id, what):
        plan = snapshot_download(dry_run=True, **kwargs)
        missing = [f for f in required if not any(info.filename == f for info in plan)]
        if missing:
            raise CheckpointError("model", f"the {what} {repo_id} has no {', '.join(missing)} "
                                  f"(at {model_page(repo_id)})", code="missing")
        needed = sum(int(info.file_size or 0) for info in plan if info.will_download)
        check_free_space(cache, needed, f"the {what} {repo_id}")
        logger.info("downloading %s (%.1f MB) into %s", repo_id, needed / 1e6, cache)
        folder = snapshot_download(tqdm_class=_progress_tqdm(progress, f"downloading {repo_id}"), **kwargs)
    absent = [f for f in required if not os.path.isfile(os.path.join(folder, f))]
    if absent:
        raise CheckpointError("model", f"the download of {repo_id} did not produce {', '.join(absent)}; run again")
    return folder


def download_size(repo_id: str, patterns: tp.Sequence[str], what: str = "model") -> int:
    """Bytes a `fetch` of these files would download now (0 when all are cached). Asks the Hub (one
    metadata request per file, no download); raises `CheckpointError` when offline or refused
    (e.g. a gated repository without HF_TOKEN)."""
    if is_offline():
        raise CheckpointError("model", f"the size of {repo_id} is unknown: HF_HUB_OFFLINE=1", code="offline")
    from huggingface_hub import snapshot_download

    with _hub_errors(repo_id, what):
        plan = snapshot_download(repo_id=repo_id, allow_patterns=list(patterns), cache_dir=hub_cache_dirs()[-1],
                                 endpoint=hub_endpoint(), token=hub_token(), dry_run=True)
    return sum(int(info.file_size or 0) for info in plan if info.will_download)


def hub_token() -> tp.Optional[str]:
    """`HF_TOKEN` at call time, else the token of a cached `hf auth login`, else None."""
    token = os.environ.get("HF_TOKEN") or os.environ.get("HUGGING_FACE_HUB_TOKEN")
    if token:
        return token.strip()
    try:
        from huggingface_hub import get_token
        return get_token()
    except Exception:  # no login
        return None


def check_free_space(folder: str, needed: int, what: str) -> None:
    """Refuse a download that would not fit (with `DISK_MARGIN_BYTES` to spare) before it starts."""
    free = shutil.disk_usage(folder).free
    if needed + DISK_MARGIN_BYTES > free:
        raise CheckpointError("model", f"{what} needs {needed / 1e9:.2f} GB but only {free / 1e9:.2f} GB are free in "
                              f"{folder}; free some space or set HF_HUB_CACHE (or HF_HOME) to a larger disk", code="disk")


@contextlib.contextmanager
def _hub_errors(repo_id: str, what: str):
    """The Hub's and the network's exceptions as `CheckpointError`s that say what to do (with a `code`)."""
    from huggingface_hub import errors as hub_errors

    def fail(code: str, message: str) -> CheckpointError:
        return CheckpointError("model", message, code=code)

    retry = "Run again to resume; set HF_HUB_OFFLINE=1 to use only the local cache"
    try:
        yield
    except CheckpointError:
        raise
    except hub_errors.DryRunError as e:   # a dry run hides why the repository could not be read
        cause = e.__cause__
        if isinstance(cause, Exception) and not isinstance(cause, hub_errors.DryRunError):
            with _hub_errors(repo_id, what):
                raise cause from None
        raise fail("network", f"the Hub at {hub_endpoint()} did not answer for {repo_id} ({e})") from None
    except hub_errors.GatedRepoError as e:
        status = getattr(getattr(e, "response", None), "status_code", None)
        if status == 403 or hub_token():
            raise fail("no_access", f"the {what} {repo_id} is gated and the token in HF_TOKEN (or your cached login) "
                       f"has no access to it: request access at {model_page(repo_id)}, then try again with a token "
                       "of the account that was granted access") from None
        raise fail("gated", f"the {what} {repo_id} is gated: request access at {model_page(repo_id)}, then set "
                   "HF_TOKEN to a token of that account (or run `hf auth login`)") from None
    except hub_errors.RepositoryNotFoundError:
        raise fail("missing", f"no {what} {repo_id} at {hub_endpoint()} (or it is private: set HF_TOKEN to a token "
                   "that can read it)") from None
    except hub_errors.RevisionNotFoundError as e:
        raise fail("missing", f"the {what} {repo_id}: {e}") from None
    except hub_errors.EntryNotFoundError as e:
        raise fail("missing", f"the {what} {repo_id} lacks a file it needs: {e}") from None
    except hub_errors.HfHubHTTPError as e:
        status = getattr(getattr(e, "response", None), "status_code", None)
        if status in (401, 403):
            raise fail("no_access", f"the Hub refused access to {repo_id} ({status}): set HF_TOKEN to a token with "
                       f"access (request it at {model_page(repo_id)})") from None
        raise fail("network", f"downloading {repo_id} failed: {e}. {retry}") from None
    except OSError as e:   # connection refused, timeouts, an interrupted transfer, a full disk
        raise fail("network", f"downloading {repo_id} from {hub_endpoint()} failed ({type(e).__name__}: {e}). "
                   f"{retry}") from None
    except Exception as e:  # httpx transport errors are not OSErrors
        if type(e).__module__.split(".")[0] in ("httpx", "httpx2", "httpcore", "requests", "urllib3", "h11"):
            raise fail("network", f"downloading {repo_id} from {hub_endpoint()} failed ({type(e).__name__}: {e}). "
                       f"{retry}") from None
        raise


def _progress_tqdm(progress: tp.Optional[DownloadProgress], description: str):
    """A tqdm class for huggingface_hub's byte bars that also reports to `progress(done, total, description)`.
    Without a callback: the plain tqdm bar (the CLI's progress)."""
    from tqdm.auto import tqdm

    if progress is None:
        return None

    class ReportingTqdm(tqdm):
        def update(self, n=1):
            out = super().update(n)
            if self.unit == "B" and self.total:
                try:
                    progress(int(self.n), int(self.total), description)
                except Exception as e:  # a failing progress display must not break the download
                    logger.debug("download progress callback failed: %s", e)
            return out

    return ReportingTqdm
