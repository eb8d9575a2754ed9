"""A small fake Hugging Face Hub served over real HTTP on 127.0.0.1, for tests without internet.

It implements what the real `huggingface_hub` client (2.4.x) requests, so tests can exercise
`hf_hub_download`, `snapshot_download`, `HfApi().model_info` / `list_repo_tree` / `get_paths_info`
against it. Standard library only (plus pytest for the optional fixture).

Usage::

    def test_something(fake_hub, tmp_path):          # fixture in conftest.py: online client, anonymous, fresh hub
        fake_hub.add_repo("org/model", {"config.json": b"{}", "model.bin": "/path/on/disk"})
        path = hf_hub_download("org/model", "config.json", cache_dir=tmp_path / "cache",
                               endpoint=fake_hub.url)

    with FakeHub() as hub:                            # or by hand (start() / stop())
        ...

Callers MUST pass `endpoint=hub.url` (or `HfApi(endpoint=hub.url)`): `huggingface_hub` reads
`HF_ENDPOINT` once, at import time (`constants.ENDPOINT`, `HUGGINGFACE_CO_URL_TEMPLATE`), so setting
the environment variable in a test has no effect.

What the client needs (huggingface_hub 2.4.0, read from its source):

* `HEAD /{repo_id}/resolve/{revision}/{filename}` (`datasets/` prefix for datasets) with
  `X-Repo-Commit` (required, else `FileMetadataError` -> `LocalEntryNotFoundError`), `ETag` or
  `X-Linked-Etag` (required; quotes and `W/` are stripped; it names the blob in the cache),
  `X-Linked-Size` or `Content-Length` (the expected size). Redirects are not needed: a 200 with the
  headers is served directly, and the GET goes to the same URL.
* `GET` of the same URL, with `Range: bytes=N-` when the client resumes after a broken connection
  (answered with 206 + `Content-Range`).
* `snapshot_download`: `GET /api/models/{repo_id}/revision/{revision}` (only `sha` is used), then
  `GET /api/models/{repo_id}/tree/{sha}?recursive=True&expand=False` (list of
  `{"type": "file", "path", "size", "oid", "lfs": {"oid", "size", "pointerSize"}}`), then one
  `hf_hub_download(revision=sha)` per matching file.
* errors: status + `X-Error-Code` (`RepoNotFound`, `GatedRepo`, `EntryNotFound`, `RevisionNotFound`)
  + `X-Error-Message`; `hf_raise_for_status` maps the code to the exception class.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.server
import json
import os
import socket
import threading
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

_CHUNK = 1 << 20
_LFS_POINTER_SIZE = 134
_REPO_TYPE_PREFIXES = {"datasets": "dataset", "spaces": "space"}     # URL prefix of /resolve/ -> repo type
_API_REPO_TYPES = {"models": "model", "datasets": "dataset", "spaces": "space"}


def _git_blob_oid(size: int, chunks: Iterator[bytes]) -> str:
    h = hashlib.sha1(b"blob %d\0" % size)
    for c in chunks:
        h.update(c)
    return h.hexdigest()


@dataclass
class _File:
    path: str
    data: bytes | None           # content in memory, or ...
    disk_path: str | None        # ... a file on disk, read when served
    size: int                    # real size of the content
    sha256: str
    git_oid: str
    served_size: int             # bytes actually served (< size once truncated)
    advertised_size: int         # size announced by HEAD / the API

    def read(self, start: int, end: int) -> Iterator[bytes]:
        """Bytes [start, end) of the content, in chunks."""
        if self.data is not None:
            for i in range(start, end, _CHUNK):
                yield self.data[i:min(i + _CHUNK, end)]
            return
        with open(self.disk_path, "rb") as f:
            f.seek(start)
            left = end - start
            while left > 0:
                chunk = f.read(min(_CHUNK, left))
                if not chunk:
                    break
                left -= len(chunk)
                yield chunk


@dataclass
class _Repo:
    repo_id: str
    repo_type: str
    sha: str
    files: dict[str, _File]
    gated: bool = False
    token: str | None = None


@dataclass
class RequestRecord:
    method: str
    path: str                    # decoded path, no query string
    query: str
    headers: dict[str, str] = field(default_factory=dict)   # lower-cased names


class FakeHub:
    """A fake Hub: add repos, `start()` it, point the client at `url` with `endpoint=`."""

    def __init__(self) -> None:
        self._repos: dict[tuple[str, str], _Repo] = {}
        self._lock = threading.Lock()
        self._log: list[RequestRecord] = []
        self._interrupts: dict[tuple[str | None, str], list[int]] = {}
        self._server: http.server.ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._connections: set[socket.socket] = set()
        self.url: str | None = None

    # ------------------------------------------------------------------ content
    def add_repo(self, repo_id: str, files: dict[str, bytes | str | os.PathLike], *, gated: bool = False,
                 token: str | None = None, repo_type: str = "model", commit_sha: str | None = None) -> None:
        """Add (or replace) a repo. `files` maps a path in the repo to its content: `bytes`, or a
        `str` / `PathLike` naming a file on disk (hashed now, read when served).

        gated: requests to `/resolve/` without `Authorization: Bearer <token>` get what a gated repo
        gives on the real Hub: 401 + `X-Error-Code: GatedRepo` when anonymous, 403 + `GatedRepo`
        for another token. Metadata (`/api/.../revision`, `/tree`, `/paths-info`) stays public, as
        on the Hub. `commit_sha` defaults to a fixed sha derived from the repo id."""
        if gated and token is None:
            raise ValueError("a gated repo needs the token that grants access")
        entries = {}
        for name, content in files.items():
            name = name.strip("/")
            if isinstance(content, (bytes, bytearray, memoryview)):
                data, disk_path = bytes(content), None
                size = len(data)
                sha256 = hashlib.sha256(data).hexdigest()
                oid = _git_blob_oid(size, iter([data]))
            else:
                data, disk_path = None, os.fspath(content)
                size = os.path.getsize(disk_path)
                h = hashlib.sha256()
                with open(disk_path, "rb") as f:
                    for chunk in iter(lambda: f.read(_CHUNK), b""):
                        h.update(chunk)
                sha256 = h.hexdigest()
                entry = _File(name, None, disk_path, size, sha256, "", size, size)
                oid = _git_blob_oid(size, entry.read(0, size))
            entries[name] = _File(name, data, disk_path, size, sha256, oid, size, size)
        sha = commit_sha or hashlib.sha1(f"fakehub:{repo_type}:{repo_id}".encode()).hexdigest()
        if len(sha) != 40 or any(c not in "0123456789abcdef" for c in sha):
            raise ValueError("commit_sha must be 40 lower-case hex characters")
        with self._lock:
            self._repos[(repo_type, repo_id)] = _Repo(repo_id, repo_type, sha, entries, gated, token)

    def commit_sha(self, repo_id: str, repo_type: str = "model") -> str:
        return self._repos[(repo_type, repo_id)].sha

    def sha256(self, repo_id: str, filename: str, repo_type: str = "model") -> str:
        """The ETag (sha256 of the original content) = the blob name in the client's cache."""
        return self._repos[(repo_type, repo_id)].files[filename].sha256

    # ------------------------------------------------------------------ faults
    def interrupt_next(self, filename: str, after_bytes: int, *, times: int = 1,
                       repo_id: str | None = None) -> None:
        """The next `times` GETs of `filename` (in any repo, or only `repo_id`) announce the full
        `Content-Length`, send `after_bytes` bytes of the body, then close the connection."""
        with self._lock:
            self._interrupts.setdefault((repo_id, filename), []).extend([after_bytes] * times)

    def clear_interrupts(self) -> None:
        """Forget the interruptions still pending (the connection is back)."""
        with self._lock:
            self._interrupts.clear()

    def truncate(self, repo_id: str, filename: str, n_bytes: int, *, keep_advertised_size: bool = False,
                 repo_type: str = "model") -> None:
        """Serve only the first `n_bytes` of the file (a corrupt file on the Hub). The ETag stays the
        sha256 of the full content. By default every size header (HEAD `X-Linked-Size` /
        `Content-Length`, GET `Content-Length`, API sizes) consistently says `n_bytes`; with
        `keep_advertised_size=True`, HEAD and the API keep announcing the original size while the
        GET response is a complete `n_bytes` body."""
        with self._lock:
            f = self._repos[(repo_type, repo_id)].files[filename]
            f.served_size = min(n_bytes, f.size)
            f.advertised_size = f.size if keep_advertised_size else f.served_size

    def _take_interrupt(self, repo_id: str, filename: str) -> int | None:
        with self._lock:
            for key in ((repo_id, filename), (None, filename)):
                pending = self._interrupts.get(key)
                if pending:
                    return pending.pop(0)
        return None

    # ------------------------------------------------------------------ requests log
    @property
    def requests(self) -> list[tuple[str, str]]:
        """(method, decoded path without query) of every request received so far (a copy)."""
        with self._lock:
            return [(r.method, r.path) for r in self._log]

    @property
    def request_log(self) -> list[RequestRecord]:
        """Every request with its query string and (lower-cased) headers (a copy)."""
        with self._lock:
            return list(self._log)

    def clear_requests(self) -> None:
        with self._lock:
            self._log.clear()

    def _record(self, record: RequestRecord) -> None:
        with self._lock:
            self._log.append(record)

    # ------------------------------------------------------------------ server
    def start(self) -> str:
        if self._server is not None:
            return self.url
        hub = self

        class Handler(_HubHandler):
            pass

        Handler.hub = hub
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="fake-hub", daemon=True)
        self._thread.start()
        self.url = f"http://127.0.0.1:{server.server_address[1]}"
        return self.url

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        with self._lock:
            connections = list(self._connections)
        for conn in connections:          # the client keeps connections alive: end them
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> "FakeHub":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


class _HubHandler(http.server.BaseHTTPRequestHandler):
    hub: FakeHub
    protocol_version = "HTTP/1.1"
    timeout = 30                         # idle keep-alive connections end eventually
    server_version = "FakeHub/1.0"

    def setup(self) -> None:
        super().setup()
        with self.hub._lock:
            self.hub._connections.add(self.connection)

    def finish(self) -> None:
        with self.hub._lock:
            self.hub._connections.discard(self.connection)
        with contextlib.suppress(OSError):
            super().finish()

    def log_message(self, format, *args) -> None:    # keep test output clean
        pass

    def do_HEAD(self) -> None:
        self._dispatch("HEAD")

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    # ------------------------------------------------------------------ helpers
    def _dispatch(self, method: str) -> None:
        raw_path, _, query = self.path.partition("?")
        segments = [urllib.parse.unquote(s) for s in raw_path.split("/")[1:]]
        self.hub._record(RequestRecord(method, "/" + "/".join(segments), query,
                                       {k.lower(): v for k, v in self.headers.items()}))
        body = b""
        if "content-length" in self.headers:
            body = self.rfile.read(int(self.headers["content-length"]))
        try:
            if segments and segments[0] == "api":
                self._api(method, segments[1:], query, body)
            else:
                self._resolve(method, segments)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _token(self) -> str | None:
        auth = self.headers.get("authorization", "")
        return auth[len("bearer "):].strip() if auth.lower().startswith("bearer ") else None

    def _send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None,
              method: str = "GET") -> None:
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if method != "HEAD" and body:
            self.wfile.write(body)

    def _json(self, status: int, data, method: str, headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(data).encode(), {"Content-Type": "application/json", **(headers or {})},
                   method)

    def _error(self, method: str, status: int, code: str | None, message: str,
               headers: dict[str, str] | None = None) -> None:
        h = {"X-Error-Message": message, **(headers or {})}
        if code is not None:
            h["X-Error-Code"] = code
        self._json(status, {"error": message}, method, h)

    def _find_repo(self, repo_type: str, segments: list[str], keyword_positions: tuple[int, ...]
                   ) -> tuple[_Repo | None, str, int]:
        """Split `namespace/name/<keyword>/...` (or `name/<keyword>/...`): returns (repo or None,
        repo_id, index of the keyword)."""
        with self.hub._lock:
            for n in keyword_positions:
                repo_id = "/".join(segments[:n])
                if (repo_type, repo_id) in self.hub._repos:
                    return self.hub._repos[(repo_type, repo_id)], repo_id, n
        n = keyword_positions[0] if len(segments) > keyword_positions[0] else 1
        return None, "/".join(segments[:n]), n

    def _repo_not_found(self, method: str, repo_id: str) -> None:
        # as the real Hub: 401 when anonymous (it does not tell private from missing), 404 with a token
        status = 404 if self._token() else 401
        self._error(method, status, "RepoNotFound", "Repository not found" if status == 404
                    else "Invalid username or password.")

    def _check_revision(self, method: str, repo: _Repo, revision: str) -> bool:
        if revision in ("main", repo.sha):
            return True
        self._error(method, 404, "RevisionNotFound", f"Invalid rev id: {revision}")
        return False

    # ------------------------------------------------------------------ /resolve/
    def _resolve(self, method: str, segments: list[str]) -> None:
        repo_type = "model"
        if segments and segments[0] in _REPO_TYPE_PREFIXES:
            repo_type = _REPO_TYPE_PREFIXES[segments[0]]
            segments = segments[1:]
        if method not in ("GET", "HEAD") or "resolve" not in segments[1:3] or len(segments) < 4:
            self._error(method, 404, None, "Not found")
            return
        positions = tuple(i for i in (2, 1) if len(segments) > i + 2 and segments[i] == "resolve")
        repo, repo_id, i = self._find_repo(repo_type, segments, positions or (2,))
        if repo is None:
            self._repo_not_found(method, repo_id)
            return
        revision, filename = segments[i + 1], "/".join(segments[i + 2:])
        if repo.gated and self._token() != repo.token:
            kind = "model" if repo_type == "model" else repo_type
            if self._token() is None:
                self._error(method, 401, "GatedRepo",
                            f"Access to {kind} {repo_id} is restricted. You must have access to it and be "
                            "authenticated to access it. Please log in.")
            else:
                self._error(method, 403, "GatedRepo",
                            f"Access to {kind} {repo_id} is restricted and you are not in the authorized list. "
                            f"Visit https://huggingface.co/{repo_id} to ask for access.")
            return
        if not self._check_revision(method, repo, revision):
            return
        f = repo.files.get(filename)
        if f is None:
            self._error(method, 404, "EntryNotFound", "Entry not found", {"X-Repo-Commit": repo.sha})
            return
        etag = f'"{f.sha256}"'
        headers = {"X-Repo-Commit": repo.sha, "ETag": etag, "X-Linked-Etag": etag,
                   "Accept-Ranges": "bytes", "Content-Type": "application/octet-stream"}
        if method == "HEAD":
            headers["X-Linked-Size"] = str(f.advertised_size)
            self.send_response(200)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(f.advertised_size))
            self.end_headers()
            return
        total = f.served_size
        start, end, status = 0, total, 200
        rng = self.headers.get("range")
        if rng:
            spec = rng.strip().lower()
            if not spec.startswith("bytes=") or "," in spec:
                self._error(method, 416, None, f"Unsupported range {rng}", {"Content-Range": f"bytes */{total}"})
                return
            a, _, b = spec[len("bytes="):].partition("-")
            if a == "":
                start, end = max(total - int(b), 0), total
            else:
                start, end = int(a), (min(int(b) + 1, total) if b else total)
            if start >= total or start >= end:
                self._error(method, 416, None, "Range Not Satisfiable", {"Content-Range": f"bytes */{total}"})
                return
            status = 206
            headers["Content-Range"] = f"bytes {start}-{end - 1}/{total}"
        cut = self.hub._take_interrupt(repo.repo_id, filename)
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(end - start))
        self.end_headers()
        stop_at = end if cut is None else min(end, start + cut)
        for chunk in f.read(start, stop_at):
            self.wfile.write(chunk)
        if cut is not None:
            self.wfile.flush()
            self.close_connection = True          # the body is short of Content-Length: client sees EOF

    # ------------------------------------------------------------------ /api/
    def _api(self, method: str, segments: list[str], query: str, body: bytes) -> None:
        if segments == ["agent-harnesses"]:     # fetched by the client's user-agent builder
            self._json(200, {"standardEnvVars": [], "harnesses": {}}, method)
            return
        if not segments or segments[0] not in _API_REPO_TYPES:
            self._error(method, 404, None, "Not found")
            return
        repo_type = _API_REPO_TYPES[segments[0]]
        segments = segments[1:]
        keywords = ("revision", "tree", "paths-info")
        positions = tuple(i for i in (2, 1) if len(segments) > i and segments[i] in keywords)
        if len(segments) in (1, 2) and not positions:                     # /api/models/{repo_id}
            repo, repo_id, i = self._find_repo(repo_type, segments, (len(segments),))
            action, rest = "info", ["main"]
        else:
            repo, repo_id, i = self._find_repo(repo_type, segments, positions or (2,))
            action, rest = (segments[i] if i < len(segments) else ""), segments[i + 1:]
        if repo is None:
            self._repo_not_found(method, repo_id)
            return
        if action not in keywords + ("info",) or not rest:
            self._error(method, 404, None, "Not found")
            return
        revision, sub = rest[0], "/".join(rest[1:]).strip("/")
        if not self._check_revision(method, repo, revision):
            return
        params = urllib.parse.parse_qs(query)
        if action in ("info", "revision") and method in ("GET", "HEAD"):
            self._json(200, self._info(repo, files_metadata="blobs" in params), method)
        elif action == "tree" and method in ("GET", "HEAD"):
            recursive = params.get("recursive", ["false"])[0].lower() == "true"
            entries = self._tree(repo)
            if sub and not any(p == sub or p.startswith(sub + "/") for p in entries):
                self._error(method, 404, "EntryNotFound", f"{sub} does not exist on {revision}")
                return
            prefix = sub + "/" if sub else ""
            out = [e for p, e in sorted(entries.items())
                   if p.startswith(prefix) and (recursive or "/" not in p[len(prefix):])]
            self._json(200, out, method)
        elif action == "paths-info" and method == "POST":
            form = urllib.parse.parse_qs(body.decode())
            if "application/json" in self.headers.get("content-type", ""):
                form = {"paths": json.loads(body or b"{}").get("paths", [])}
            entries = self._tree(repo)
            self._json(200, [entries[p.strip("/")] for p in form.get("paths", []) if p.strip("/") in entries],
                       method)
        else:
            self._error(method, 405, None, "Method not allowed")

    @staticmethod
    def _file_entry(f: _File) -> dict:
        return {"type": "file", "path": f.path, "size": f.advertised_size, "oid": f.git_oid,
                "lfs": {"oid": f.sha256, "size": f.advertised_size, "pointerSize": _LFS_POINTER_SIZE}}

    def _tree(self, repo: _Repo) -> dict[str, dict]:
        """Every file and directory of the repo, by path, as `/tree` and `/paths-info` list them."""
        out: dict[str, dict] = {}
        for f in repo.files.values():
            out[f.path] = self._file_entry(f)
            parts = f.path.split("/")[:-1]
            for k in range(1, len(parts) + 1):
                d = "/".join(parts[:k])
                out.setdefault(d, {"type": "directory", "path": d, "size": 0,
                                   "oid": hashlib.sha1(f"{repo.sha}:{d}".encode()).hexdigest()})
        return out

    @staticmethod
    def _info(repo: _Repo, files_metadata: bool) -> dict:
        siblings = []
        for f in sorted(repo.files.values(), key=lambda f: f.path):
            s = {"rfilename": f.path}
            if files_metadata:
                s.update(size=f.advertised_size, blobId=f.git_oid,
                         lfs={"sha256": f.sha256, "size": f.advertised_size, "pointerSize": _LFS_POINTER_SIZE})
            siblings.append(s)
        return {"_id": repo.sha[:24], "id": repo.repo_id, "modelId": repo.repo_id, "sha": repo.sha,
                "private": False, "gated": "manual" if repo.gated else False, "disabled": False,
                "tags": [], "siblings": siblings, "lastModified": "2024-01-01T00:00:00.000Z",
                "createdAt": "2024-01-01T00:00:00.000Z"}


# ---------------------------------------------------------------------- pytest helpers
def prepare_client(monkeypatch, tmp_path: Path | None = None) -> None:
    """Make the installed `huggingface_hub` usable against a FakeHub within one test (undone by
    `monkeypatch`): online even if HF_HUB_OFFLINE=1 was set before import (tests/conftest.py does),
    anonymous unless a test passes `token=` (no HF_TOKEN / saved token leaks in), and no fetch of
    the agent-harness registry from the real `constants.ENDPOINT` (the user-agent builder does it
    once per process when online)."""
    from huggingface_hub import constants
    from huggingface_hub.utils import _detect_agent

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    for var in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_OIDC_RESOURCE"):
        monkeypatch.delenv(var, raising=False)
    no_token = (Path(tmp_path) if tmp_path is not None else Path(os.devnull).parent) / "fake-hub-no-token"
    monkeypatch.setattr(constants, "HF_TOKEN_PATH", str(no_token))
    monkeypatch.setattr(_detect_agent, "_registry", {"standardEnvVars": [], "harnesses": {}})


@contextlib.contextmanager
def running_hub(monkeypatch=None, tmp_path: Path | None = None) -> Iterator[FakeHub]:
    """`with running_hub(monkeypatch, tmp_path) as hub:` a started FakeHub (and `prepare_client`
    when `monkeypatch` is given); stopped on exit."""
    if monkeypatch is not None:
        prepare_client(monkeypatch, tmp_path)
    with FakeHub() as hub:
        yield hub
