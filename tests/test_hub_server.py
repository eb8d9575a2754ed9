"""The fake Hub (`tests/hub_server.py`) against the real, installed `huggingface_hub` client.

Findings for huggingface_hub 2.4.0 recorded here:
* `HF_ENDPOINT` is read once, at import (`constants.ENDPOINT` / `HUGGINGFACE_CO_URL_TEMPLATE`):
  setting it in a test changes nothing, callers must pass `endpoint=`.
* A connection closed mid-body is retried *inside the same call*: `http_get` sleeps 1 s and resumes
  with `Range: bytes=<written>-` (up to 5 retries, the count reset whenever a chunk is written).
  Bytes reach the file in `DOWNLOAD_CHUNK_SIZE` (10 MiB) chunks, and a partial chunk is lost on the
  error: a cut in the first 10 MiB restarts from 0 (no Range). Only when the retries run out does the
  call raise (`httpx2.RemoteProtocolError`, the httpx error itself); the partial temp file is
  deleted and the next call downloads from byte 0 (no resume across calls).
* The content is never hashed: a body truncated consistently with the advertised size is stored
  silently under the ETag (sha256) name. Only a size mismatch with the HEAD's size raises:
  `OSError("Consistency check failed: ...")`, nothing left in the cache.
* Gated: `GatedRepoError` (a `RepositoryNotFoundError`) with `response.status_code` 401 when
  anonymous, 403 with a token lacking access.
"""

import hashlib
import os
import types

import httpx2
import pytest
from huggingface_hub import HfApi, constants, file_download, hf_hub_download, hf_hub_url, snapshot_download
from huggingface_hub.errors import (
    EntryNotFoundError,
    GatedRepoError,
    LocalEntryNotFoundError,
    RemoteEntryNotFoundError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)

from tests.hub_server import FakeHub

REPO = "org/tiny-model"
CONFIG = b'{"dim": 32}'
WEIGHTS = bytes(range(256)) * 4096          # 1 MiB
FILES = {"config.json": CONFIG, "model.safetensors": WEIGHTS, "sub/notes.txt": b"hello",
         "sub/extra.bin": b"\x00" * 1000}


@pytest.fixture
def hub(fake_hub):
    fake_hub.add_repo(REPO, FILES)
    return fake_hub


@pytest.fixture
def cache(tmp_path):
    return tmp_path / "cache"


@pytest.fixture
def no_sleep(monkeypatch):
    """`http_get` sleeps 1 s before each resume: record the sleeps instead (patched in
    `file_download` only)."""
    sleeps = []
    monkeypatch.setattr(file_download, "time", types.SimpleNamespace(sleep=sleeps.append))
    return sleeps


def gets(hub, filename):
    return [p for m, p in hub.requests if m == "GET" and p.endswith("/resolve/main/" + filename)]


def cache_files(cache):
    return sorted(os.path.relpath(os.path.join(d, f), cache) for d, _, fs in os.walk(cache) for f in fs)


def test_hf_endpoint_env_is_read_at_import_only(hub, monkeypatch):
    # huggingface_hub computes constants.ENDPOINT / HUGGINGFACE_CO_URL_TEMPLATE from HF_ENDPOINT when it
    # is imported: setting the variable afterwards is ignored, so callers must pass `endpoint=`.
    monkeypatch.setenv("HF_ENDPOINT", hub.url)
    assert not hf_hub_url(REPO, "config.json").startswith(hub.url)
    assert hf_hub_url(REPO, "config.json").startswith(constants.ENDPOINT)
    assert HfApi().endpoint == constants.ENDPOINT != hub.url
    assert hf_hub_url(REPO, "config.json", endpoint=hub.url) == f"{hub.url}/{REPO}/resolve/main/config.json"
    assert hub.requests == []


def test_download_then_cache_hits(hub, cache):
    path = hf_hub_download(REPO, "model.safetensors", cache_dir=cache, endpoint=hub.url)
    with open(path, "rb") as f:
        assert f.read() == WEIGHTS
    sha = hub.commit_sha(REPO)
    assert path == str(cache.resolve() / "models--org--tiny-model" / "snapshots" / sha / "model.safetensors")
    # the blob is named by the ETag = sha256 of the content
    assert os.path.basename(os.path.realpath(path)) == hashlib.sha256(WEIGHTS).hexdigest()
    assert hub.requests == [("HEAD", f"/{REPO}/resolve/main/model.safetensors"),
                            ("GET", f"/{REPO}/resolve/main/model.safetensors")]

    hub.clear_requests()
    assert hf_hub_download(REPO, "model.safetensors", cache_dir=cache, endpoint=hub.url) == path
    assert hub.requests == [("HEAD", f"/{REPO}/resolve/main/model.safetensors")]   # no GET of the content

    hub.clear_requests()
    assert hf_hub_download(REPO, "model.safetensors", cache_dir=cache, endpoint=hub.url,
                           local_files_only=True) == path
    assert hf_hub_download(REPO, "model.safetensors", cache_dir=cache, revision=sha, endpoint=hub.url) == path
    assert hub.requests == []
    with pytest.raises(LocalEntryNotFoundError):
        hf_hub_download(REPO, "config.json", cache_dir=cache, endpoint=hub.url, local_files_only=True)
    assert hub.requests == []


def test_files_from_disk_and_subfolders(fake_hub, cache, tmp_path):
    on_disk = tmp_path / "weights.bin"
    on_disk.write_bytes(WEIGHTS[:5000])
    fake_hub.add_repo("solo", {"a/b/weights.bin": str(on_disk)})       # a namespace-less repo id
    path = hf_hub_download("solo", "weights.bin", subfolder="a/b", cache_dir=cache, endpoint=fake_hub.url)
    assert open(path, "rb").read() == WEIGHTS[:5000]


def test_snapshot_download_allow_patterns(hub, cache):
    folder = snapshot_download(REPO, allow_patterns=["*.json", "sub/*.txt"], cache_dir=cache, endpoint=hub.url)
    sha = hub.commit_sha(REPO)
    assert folder == str(cache.resolve() / "models--org--tiny-model" / "snapshots" / sha)
    got = sorted(os.path.relpath(os.path.join(d, f), folder) for d, _, fs in os.walk(folder) for f in fs)
    assert got == ["config.json", os.path.join("sub", "notes.txt")]
    assert open(os.path.join(folder, "sub", "notes.txt"), "rb").read() == b"hello"
    fetched = sorted(p for m, p in hub.requests if m == "GET" and "/resolve/" in p)
    assert fetched == [f"/{REPO}/resolve/{sha}/config.json", f"/{REPO}/resolve/{sha}/sub/notes.txt"]
    assert ("GET", f"/api/models/{REPO}/revision/main") in hub.requests
    assert ("GET", f"/api/models/{REPO}/tree/{sha}") in hub.requests


def test_api_model_info_tree_and_paths_info(hub):
    api = HfApi(endpoint=hub.url)
    info = api.model_info(REPO)
    assert info.sha == hub.commit_sha(REPO)
    assert sorted(s.rfilename for s in info.siblings) == sorted(FILES)
    info = api.model_info(REPO, files_metadata=True)
    sizes = {s.rfilename: s.size for s in info.siblings}
    assert sizes["model.safetensors"] == len(WEIGHTS)
    assert {s.rfilename: s.lfs.sha256 for s in info.siblings}["config.json"] == hashlib.sha256(CONFIG).hexdigest()

    tree = {e.path: e for e in api.list_repo_tree(REPO, recursive=True)}
    assert set(tree) == set(FILES) | {"sub"}
    assert tree["model.safetensors"].size == len(WEIGHTS)
    assert sorted(e.path for e in api.list_repo_tree(REPO, "sub")) == ["sub/extra.bin", "sub/notes.txt"]

    infos = api.get_paths_info(REPO, ["config.json", "sub", "missing.txt"])
    assert [(type(i).__name__, i.path) for i in infos] == [("RepoFile", "config.json"), ("RepoFolder", "sub")]
    assert api.file_exists(REPO, "config.json") and not api.file_exists(REPO, "missing.txt")
    assert api.repo_exists(REPO) and not api.repo_exists("org/missing")


def test_gated_repo(fake_hub, cache):
    fake_hub.add_repo("org/gated", {"config.json": CONFIG}, gated=True, token="hf_good")
    with pytest.raises(GatedRepoError) as anonymous:
        hf_hub_download("org/gated", "config.json", cache_dir=cache, endpoint=fake_hub.url)
    assert anonymous.value.response.status_code == 401
    assert isinstance(anonymous.value, RepositoryNotFoundError)

    with pytest.raises(GatedRepoError) as wrong:
        hf_hub_download("org/gated", "config.json", cache_dir=cache, endpoint=fake_hub.url, token="hf_bad")
    assert wrong.value.response.status_code == 403
    assert "not in the authorized list" in str(wrong.value)
    assert not any("blobs" in f or "snapshots" in f for f in cache_files(cache))

    path = hf_hub_download("org/gated", "config.json", cache_dir=cache, endpoint=fake_hub.url, token="hf_good")
    assert open(path, "rb").read() == CONFIG
    assert fake_hub.request_log[-1].headers["authorization"] == "Bearer hf_good"

    # metadata is public (as on the Hub), the files are not: snapshot_download fails on the first file
    with pytest.raises(GatedRepoError) as snap:
        snapshot_download("org/gated", cache_dir=cache / "other", endpoint=fake_hub.url)
    assert snap.value.response.status_code == 401


def test_interrupted_download_is_retried_within_the_call(hub, cache, no_sleep):
    # bytes are written in DOWNLOAD_CHUNK_SIZE (10 MiB) pieces: a cut before the first full piece loses
    # what was received, so the retry asks for the whole file again (no Range header)
    hub.interrupt_next("model.safetensors", after_bytes=300_000)
    path = hf_hub_download(REPO, "model.safetensors", cache_dir=cache, endpoint=hub.url)
    assert open(path, "rb").read() == WEIGHTS
    assert len(gets(hub, "model.safetensors")) == 2
    assert [r.headers.get("range") for r in hub.request_log if r.method == "GET"] == [None, None]
    assert no_sleep == [1]


def test_interrupted_download_resumes_with_range(hub, cache, no_sleep, monkeypatch):
    monkeypatch.setattr(constants, "DOWNLOAD_CHUNK_SIZE", 64 * 1024)
    hub.interrupt_next("model.safetensors", after_bytes=300_000)
    hub.interrupt_next("model.safetensors", after_bytes=300_000)      # the resumed (206) response too
    path = hf_hub_download(REPO, "model.safetensors", cache_dir=cache, endpoint=hub.url)
    assert open(path, "rb").read() == WEIGHTS
    # whole 64 KiB chunks reached the file before each cut: 4 of them, then 4 more
    ranges = [r.headers.get("range") for r in hub.request_log if r.method == "GET"]
    assert ranges == [None, "bytes=262144-", "bytes=524288-"]
    assert no_sleep == [1, 1]


def test_interrupted_download_that_keeps_failing(hub, cache, no_sleep):
    # first GET: 300 kB then EOF; the 5 resumes get nothing => the call gives up and raises
    hub.interrupt_next("model.safetensors", after_bytes=300_000)
    hub.interrupt_next("model.safetensors", after_bytes=0, times=5)
    with pytest.raises(httpx2.RemoteProtocolError):
        hf_hub_download(REPO, "model.safetensors", cache_dir=cache, endpoint=hub.url)
    assert len(gets(hub, "model.safetensors")) == 6
    sha = hub.commit_sha(REPO)
    snapshot_file = cache / "models--org--tiny-model" / "snapshots" / sha / "model.safetensors"
    assert not snapshot_file.exists()
    blobs = cache / "models--org--tiny-model" / "blobs"
    assert not blobs.exists() or os.listdir(blobs) == []        # no blob, no *.incomplete left

    hub.clear_requests()
    path = hf_hub_download(REPO, "model.safetensors", cache_dir=cache, endpoint=hub.url)
    assert os.path.samefile(path, snapshot_file)
    assert open(path, "rb").read() == WEIGHTS
    # no resume across calls: the whole file again
    assert [r.headers.get("range") for r in hub.request_log if r.method == "GET"] == [None]


def test_truncated_file_is_stored_silently(hub, cache):
    hub.truncate(REPO, "model.safetensors", 1000)
    info = hf_hub_download(REPO, "model.safetensors", cache_dir=cache, endpoint=hub.url, dry_run=True)
    assert info.file_size == 1000
    path = hf_hub_download(REPO, "model.safetensors", cache_dir=cache, endpoint=hub.url)
    assert open(path, "rb").read() == WEIGHTS[:1000]          # no checksum verification by the client
    assert os.path.basename(os.path.realpath(path)) == hashlib.sha256(WEIGHTS).hexdigest()


def test_size_mismatch_raises(hub, cache):
    hub.truncate(REPO, "model.safetensors", 1000, keep_advertised_size=True)
    with pytest.raises(OSError, match="Consistency check failed") as err:
        hf_hub_download(REPO, "model.safetensors", cache_dir=cache, endpoint=hub.url)
    assert type(err.value) is OSError
    sha = hub.commit_sha(REPO)
    assert not (cache / "models--org--tiny-model" / "snapshots" / sha / "model.safetensors").exists()
    assert os.listdir(cache / "models--org--tiny-model" / "blobs") == []


def test_unknown_repo_file_and_revision(hub, cache):
    with pytest.raises(RepositoryNotFoundError) as anonymous:
        hf_hub_download("org/missing", "config.json", cache_dir=cache, endpoint=hub.url)
    assert not isinstance(anonymous.value, GatedRepoError)
    assert anonymous.value.response.status_code == 401
    with pytest.raises(RepositoryNotFoundError) as with_token:
        hf_hub_download("org/missing", "config.json", cache_dir=cache, endpoint=hub.url, token="hf_x")
    assert with_token.value.response.status_code == 404
    with pytest.raises(RepositoryNotFoundError):
        snapshot_download("org/missing", cache_dir=cache, endpoint=hub.url)

    with pytest.raises(EntryNotFoundError) as entry:
        hf_hub_download(REPO, "missing.bin", cache_dir=cache, endpoint=hub.url)
    assert isinstance(entry.value, RemoteEntryNotFoundError) and entry.value.response.status_code == 404

    with pytest.raises(RevisionNotFoundError):
        hf_hub_download(REPO, "config.json", revision="v9", cache_dir=cache, endpoint=hub.url)


def test_dry_run_reports_size_without_downloading(hub, cache):
    info = hf_hub_download(REPO, "model.safetensors", cache_dir=cache, endpoint=hub.url, dry_run=True)
    assert info.file_size == len(WEIGHTS)
    assert info.commit_hash == hub.commit_sha(REPO)
    assert info.will_download and not info.is_cached
    assert hub.requests == [("HEAD", f"/{REPO}/resolve/main/model.safetensors")]
    infos = snapshot_download(REPO, allow_patterns=["*.json", "*.safetensors"], cache_dir=cache,
                              endpoint=hub.url, dry_run=True)
    assert sum(i.file_size for i in infos) == len(WEIGHTS) + len(CONFIG)
    assert not any(m == "GET" and "/resolve/" in p for m, p in hub.requests)


def test_start_stop_and_context_manager():
    hub = FakeHub()
    url = hub.start()
    assert url.startswith("http://127.0.0.1:") and hub.url == url
    hub.stop()
    hub.stop()                                   # idempotent
    with FakeHub() as other:
        assert other.url.startswith("http://127.0.0.1:")
    assert other.url and other._server is None
