"""Model download (``signdesk.engine.download``) against a loopback imitation of the Hugging Face hub.

Nothing on SignDesk's side is faked: ``huggingface_hub.snapshot_download`` makes its real requests
(model info, tree listing, HEAD and GET on ``/resolve``), only to a small HTTP server on 127.0.0.1
that serves a real tiny model built by ``make_test_model`` plus files that must never be fetched
(pickled weights and remote code). The server records every request, so the tests can say exactly
what went over the wire, and it can cut a transfer short to test interrupted downloads.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from huggingface_hub import constants as hf_constants

from signdesk import paths
from signdesk.cli import main
from signdesk.engine.download import download_model, local_model_path, resolve_model
from signdesk.errors import ModelError

REPO_ID = "signdesk-test/tiny-internvl"
COMMIT = hashlib.sha1(b"signdesk-test/tiny-internvl@main").hexdigest()
# In the repo listing, never to be downloaded: ALLOW_PATTERNS keeps safetensors weights and
# processor/tokenizer files only.
DECOYS = {
    "pytorch_model.bin": b"\x80\x04pickled weights would run code on load\x94.",
    "modeling_evil.py": b"raise SystemExit('remote code ran')\n",
    ".gitattributes": b"*.safetensors filter=lfs diff=lfs merge=lfs -text\n",
}
LFS_SUFFIXES = (".safetensors", ".bin")


@dataclass(frozen=True)
class Request:
    method: str
    path: str  # without the query string, percent-decoded
    headers: dict[str, str]  # lower-case names

    @property
    def filename(self) -> str | None:
        """The repo file of a ``/{repo}/resolve/{revision}/{file}`` request, else None."""
        match = re.fullmatch(r"/[^/]+/[^/]+/resolve/[^/]+/(.+)", self.path)
        return match.group(1) if match else None


class FakeHub:
    """A threaded HTTP server speaking the part of the hub API that ``snapshot_download`` uses."""

    def __init__(self, repos: dict[str, dict[str, bytes]], commit: str = COMMIT):
        self.repos = repos
        self.commit = commit
        self.requests: list[Request] = []
        # filename -> what to do on its next GETs, one entry used per GET:
        # "short": 200 without Content-Length, half the bytes, then close (the body looks complete)
        # "drop": 200 announcing the full Content-Length, half the bytes, then close mid-body
        self.faults: dict[str, list[str]] = {}
        self._lock = threading.Lock()
        hub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"  # one request per connection: nothing lingers after teardown

            def log_message(self, format, *args):  # keep pytest's output clean
                pass

            def do_GET(self):
                hub._handle(self, head=False)

            def do_HEAD(self):
                hub._handle(self, head=True)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="fake-hf-hub", daemon=True)

    def __enter__(self) -> FakeHub:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join()

    # ------------------------------------------------------------------ request log
    def log(self) -> list[Request]:
        with self._lock:
            return list(self.requests)

    def gets(self, requests: list[Request] | None = None) -> list[Request]:
        return [r for r in (self.log() if requests is None else requests) if r.method == "GET" and r.filename]

    def requested_files(self) -> set[str]:
        return {r.filename for r in self.log() if r.filename}

    # ------------------------------------------------------------------ responses
    @staticmethod
    def _etag(name: str, data: bytes) -> str:
        if name.endswith(LFS_SUFFIXES):  # LFS files: the hub's ETag is the sha256 of the content
            return hashlib.sha256(data).hexdigest()
        return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()  # git blob id

    def _tree_entry(self, name: str, data: bytes) -> dict:
        entry = {"type": "file", "path": name, "size": len(data),
                 "oid": hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()}
        if name.endswith(LFS_SUFFIXES):
            entry["lfs"] = {"oid": hashlib.sha256(data).hexdigest(), "size": len(data), "pointerSize": 134}
        return entry

    def _handle(self, h: BaseHTTPRequestHandler, head: bool) -> None:
        path = unquote(urlsplit(h.path).path)
        request = Request("HEAD" if head else "GET", path, {k.lower(): v for k, v in h.headers.items()})
        with self._lock:
            self.requests.append(request)

        if m := re.fullmatch(r"/api/models/([^/]+/[^/]+)/revision/([^/]+)", path):
            repo, revision = m.groups()
            if repo not in self.repos:
                return self._error(h, 404, "RepoNotFound", "Repository not found")
            if revision not in ("main", self.commit):
                return self._error(h, 404, "RevisionNotFound", "Invalid rev id: " + revision)
            info = {"id": repo, "modelId": repo, "sha": self.commit, "private": False, "gated": False,
                    "siblings": [{"rfilename": name} for name in sorted(self.repos[repo])]}
            return self._send(h, 200, json.dumps(info).encode(), {"Content-Type": "application/json"}, head)

        if m := re.fullmatch(r"/api/models/([^/]+/[^/]+)/tree/([^/]+)", path):
            repo, revision = m.groups()
            if repo not in self.repos:
                return self._error(h, 404, "RepoNotFound", "Repository not found")
            if revision not in ("main", self.commit):
                return self._error(h, 404, "RevisionNotFound", "Invalid rev id: " + revision)
            tree = [self._tree_entry(name, data) for name, data in sorted(self.repos[repo].items())]
            return self._send(h, 200, json.dumps(tree).encode(), {"Content-Type": "application/json"}, head)

        if m := re.fullmatch(r"/([^/]+/[^/]+)/resolve/([^/]+)/(.+)", path):
            repo, revision, name = m.groups()
            if repo not in self.repos:
                return self._error(h, 404, "RepoNotFound", "Repository not found")
            if revision not in ("main", self.commit):
                return self._error(h, 404, "RevisionNotFound", "Invalid rev id: " + revision)
            if name not in self.repos[repo]:
                return self._error(h, 404, "EntryNotFound", f"{name} does not exist on {revision}")
            return self._send_file(h, name, self.repos[repo][name], head)

        return self._error(h, 404, None, "Sorry, we can't find the page you are looking for.")

    def _error(self, h, status: int, code: str | None, message: str) -> None:
        headers = {"Content-Type": "application/json", "X-Error-Message": message}
        if code:
            headers["X-Error-Code"] = code
        self._send(h, status, json.dumps({"error": message}).encode(), headers, head=h.command == "HEAD")

    def _send(self, h, status: int, body: bytes, headers: dict[str, str], head: bool) -> None:
        h.send_response(status)
        for key, value in headers.items():
            h.send_header(key, value)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        if not head:
            h.wfile.write(body)

    def _send_file(self, h, name: str, data: bytes, head: bool) -> None:
        headers = {
            "Content-Type": "application/octet-stream",
            "ETag": f'"{self._etag(name, data)}"',
            "X-Repo-Commit": self.commit,
            "Accept-Ranges": "bytes",
        }
        if head:
            return self._head(h, headers, len(data))
        with self._lock:
            pending = self.faults.get(name) or []
            fault = pending.pop(0) if pending else None
        start = 0
        if m := re.fullmatch(r"bytes=(\d+)-", h.headers.get("Range", "")):
            start = int(m.group(1))
        status = 206 if start else 200
        if start:
            headers["Content-Range"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
        body = data[start:]
        h.send_response(status)
        for key, value in headers.items():
            h.send_header(key, value)
        if fault == "short":
            h.end_headers()  # no Content-Length: the body ends where the connection closes
            h.wfile.write(body[: len(body) // 2])
            return
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        if fault == "drop":
            h.wfile.write(body[: len(body) // 2])  # then the connection closes mid-body
            return
        h.wfile.write(body)

    def _head(self, h, headers: dict[str, str], size: int) -> None:
        h.send_response(200)
        for key, value in headers.items():
            h.send_header(key, value)
        h.send_header("Content-Length", str(size))
        h.end_headers()


def _point_client_at(monkeypatch, endpoint: str) -> None:
    """Online, against ``endpoint``: huggingface_hub reads these settings into constants at import."""
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setenv("HF_ENDPOINT", endpoint)
    monkeypatch.setattr(hf_constants, "ENDPOINT", endpoint)
    monkeypatch.setattr(hf_constants, "HUGGINGFACE_CO_URL_TEMPLATE",
                        endpoint + "/{repo_id}/resolve/{revision}/{filename}")
    monkeypatch.setattr(hf_constants, "HF_HUB_DISABLE_IMPLICIT_TOKEN", True)  # never send a user's token


@contextmanager
def _offline(monkeypatch) -> Iterator[None]:
    """HF_HUB_OFFLINE=1 as a user would set it, for the ``with`` block only."""
    with monkeypatch.context() as m:
        m.setenv("HF_HUB_OFFLINE", "1")
        m.setattr(hf_constants, "HF_HUB_OFFLINE", True)
        yield


@pytest.fixture
def model_files(tiny_model_dir) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(tiny_model_dir.iterdir()) if p.is_file()}


@pytest.fixture
def hub(model_files, monkeypatch) -> Iterator[FakeHub]:
    with FakeHub({REPO_ID: {**model_files, **DECOYS}}) as server:
        _point_client_at(monkeypatch, server.url)
        yield server


def _assert_snapshot_matches(folder: Path, model_files: dict[str, bytes]) -> None:
    assert sorted(p.name for p in folder.iterdir()) == sorted(model_files)
    for name, data in model_files.items():
        assert (folder / name).read_bytes() == data, name


def _assert_no_decoys(hub: FakeHub) -> None:
    assert hub.requested_files().isdisjoint(DECOYS), hub.requested_files()
    cache = paths.models_cache_dir()
    present = {p.name for p in cache.rglob("*")}
    assert present.isdisjoint(DECOYS), present & set(DECOYS)
    blobs = {p.read_bytes() for p in cache.rglob("blobs/*") if p.is_file()}
    assert blobs.isdisjoint(DECOYS.values())


# ---------------------------------------------------------------------------- download, then use offline
def test_cli_download_then_offline_resolve_and_load(hub, model_files, monkeypatch, capsys):
    assert main(["model", "download", REPO_ID]) == 0
    out = capsys.readouterr().out
    assert f"{REPO_ID} is ready in" in out

    folder = paths.models_cache_dir() / "models--signdesk-test--tiny-internvl" / "snapshots" / COMMIT
    assert str(folder) in out
    _assert_snapshot_matches(folder, model_files)
    _assert_no_decoys(hub)
    # every allowed file was fetched once, in full
    fetched = [r.filename for r in hub.gets()]
    assert sorted(fetched) == sorted(model_files)

    from signdesk.engine.loader import load_model

    seen = len(hub.log())
    with _offline(monkeypatch):
        assert local_model_path(REPO_ID) == folder
        assert resolve_model(REPO_ID) == folder
        loaded = load_model(REPO_ID, device="cpu")
    assert loaded.folder == folder
    assert loaded.model_id == REPO_ID
    assert type(loaded.model).__name__ == "InternVLForConditionalGeneration"
    assert loaded.frame_size == (64, 64)
    assert len(hub.log()) == seen, "offline resolve/load must not touch the network"


# ---------------------------------------------------------------------------- progress
def test_download_reports_increasing_progress_ending_at_one(hub, model_files):
    calls: list[tuple[str, float | None, str]] = []
    folder = download_model(REPO_ID, progress=lambda *call: calls.append(call))

    _assert_snapshot_matches(folder, model_files)
    assert {stage for stage, _, _ in calls} == {"download"}
    assert all(REPO_ID in message for _, _, message in calls)
    fractions = [fraction for _, fraction, _ in calls]
    assert fractions[0] == 0.0
    assert fractions[-1] == 1.0
    assert fractions == sorted(fractions), f"progress went backwards: {fractions}"
    assert any(0.0 < f < 1.0 for f in fractions), f"nothing between start and end: {fractions}"
    # the byte count itself reaches the whole download (not only the closing report)
    assert max(f for _, f, message in calls if message.startswith("downloading")) == 1.0, fractions

    # everything cached: nothing fetched, and the bar still goes from 0 to 1
    calls.clear()
    gets_before = len(hub.gets())
    assert download_model(REPO_ID, progress=lambda *call: calls.append(call)) == folder
    assert len(hub.gets()) == gets_before
    assert [fraction for _, fraction, _ in calls] == [0.0, 1.0]


# ---------------------------------------------------------------------------- interrupted downloads
def test_interrupted_download_fails_clearly_and_the_rerun_completes(hub, model_files, monkeypatch):
    hub.faults["model.safetensors"] = ["short"]  # the first GET ends after half the bytes

    with pytest.raises(ModelError) as info:
        download_model(REPO_ID)
    message = str(info.value)
    assert f"signdesk model download {REPO_ID}` again" in message
    assert "files already downloaded are kept" in message
    assert "internet connection" in message

    first_gets = hub.gets()
    snapshot = paths.models_cache_dir() / "models--signdesk-test--tiny-internvl" / "snapshots" / COMMIT
    kept = {p.name for p in snapshot.iterdir()}
    assert "model.safetensors" not in kept
    assert kept and kept < set(model_files)  # the files that did arrive are in the cache
    # the partial snapshot is not mistaken for a downloaded model
    assert local_model_path(REPO_ID) is None
    with _offline(monkeypatch), pytest.raises(ModelError, match="is not downloaded yet"):
        resolve_model(REPO_ID)

    folder = download_model(REPO_ID)
    _assert_snapshot_matches(folder, model_files)
    _assert_no_decoys(hub)
    rerun_gets = hub.gets()[len(first_gets):]
    # The rerun fetches only what had not arrived: finished files are kept, not fetched again.
    assert sorted(r.filename for r in rerun_gets) == sorted(set(model_files) - kept)
    # huggingface_hub 2.4 keeps a partial file only within one call (a per-call temporary file,
    # deleted on failure), so across runs an unfinished file starts over: no Range request.
    weights = [r for r in rerun_gets if r.filename == "model.safetensors"]
    assert len(weights) == 1 and "range" not in weights[0].headers
    assert not list(paths.models_cache_dir().rglob("*.incomplete"))


def test_connection_dropped_mid_file_resumes_with_a_range_request(hub, model_files):
    # huggingface_hub writes a body in DOWNLOAD_CHUNK_SIZE pieces (10 MiB) and, when the connection
    # drops, retries once per call from the bytes it wrote, with a Range request. A shard of 2.5
    # pieces cut after half its bytes has one whole piece written when the connection drops.
    chunk = hf_constants.DOWNLOAD_CHUNK_SIZE
    shard = random.Random(0).randbytes(chunk * 5 // 2)
    hub.repos[REPO_ID]["extra-00001-of-00001.safetensors"] = shard
    hub.faults["extra-00001-of-00001.safetensors"] = ["drop"]  # full length announced, half sent, closed

    folder = download_model(REPO_ID)

    assert (folder / "extra-00001-of-00001.safetensors").read_bytes() == shard
    _assert_snapshot_matches(folder, {**model_files, "extra-00001-of-00001.safetensors": shard})
    gets = [r for r in hub.gets() if r.filename == "extra-00001-of-00001.safetensors"]
    assert len(gets) == 2
    assert "range" not in gets[0].headers
    assert gets[1].headers["range"] == f"bytes={chunk}-"  # what was written, not from the start
    # a file smaller than one piece had nothing written yet: its retry starts over (no Range)
    assert [r.headers.get("range") for r in hub.gets() if r.filename == "model.safetensors"] == [None]


# ---------------------------------------------------------------------------- failures
def test_unknown_repo_is_reported_as_not_on_the_hub(hub):
    with pytest.raises(ModelError, match="does not exist on the Hugging Face hub") as info:
        download_model("signdesk-test/no-such-model")
    assert "'signdesk-test/no-such-model'" in str(info.value)
    assert any(r.path == "/api/models/signdesk-test/no-such-model/revision/main" for r in hub.log())
    assert not hub.gets()


def test_unknown_revision_is_reported(hub):
    with pytest.raises(ModelError, match="has no revision 'v9'"):
        download_model(REPO_ID, revision="v9")
    assert not hub.gets()


def test_unreachable_hub_asks_to_check_the_connection(monkeypatch):
    # A bound socket that never listens: connecting to it is refused, and no other process can take the port.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as closed:
        closed.bind(("127.0.0.1", 0))
        _point_client_at(monkeypatch, f"http://127.0.0.1:{closed.getsockname()[1]}")
        with pytest.raises(ModelError) as info:
            download_model(REPO_ID)
    message = str(info.value)
    assert "check the internet connection" in message
    assert f"`signdesk model download {REPO_ID}`" in message


def test_cli_reports_a_failed_download_in_one_line(hub, capsys):
    assert main(["model", "download", "signdesk-test/no-such-model"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("signdesk: error: model 'signdesk-test/no-such-model' does not exist")
    assert "\n" not in err


# ---------------------------------------------------------------------------- offline
def test_offline_and_not_cached_names_the_download_command(hub, monkeypatch):
    with _offline(monkeypatch):
        assert local_model_path(REPO_ID) is None
        with pytest.raises(ModelError) as info:
            resolve_model(REPO_ID)
        message = str(info.value)
        assert f"run `signdesk model download {REPO_ID}`" in message
        # allow_download cannot reach the hub either: the error still says what to do
        with pytest.raises(ModelError, match=f"signdesk model download {REPO_ID}"):
            resolve_model(REPO_ID, allow_download=True)
    assert hub.log() == [], "offline mode made requests"


@pytest.mark.parametrize("variable", ["HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"])
def test_download_while_offline_says_offline_mode_is_on_and_what_to_do(hub, monkeypatch, capsys, variable):
    with monkeypatch.context() as m:
        m.delenv("HF_HUB_OFFLINE", raising=False)
        m.setenv(variable, "1")
        m.setattr(hf_constants, "HF_HUB_OFFLINE", True)  # what huggingface_hub derives from either variable
        with pytest.raises(ModelError) as info:
            download_model(REPO_ID)
        code = main(["model", "download", REPO_ID])
    message = str(info.value)
    assert f"model {REPO_ID} is not in the model cache and offline mode is on ({variable}=1)" in message
    assert f"unset {variable} and run `signdesk model download {REPO_ID}`" in message
    assert "on a connected machine and pass --model with its folder" in message
    assert "Error" not in message and "internet connection" not in message  # no class names, no false blame
    err = capsys.readouterr().err
    assert code == 2 and err == f"signdesk: error: {message}\n"
    assert hub.log() == [], "offline mode made requests"


def test_download_while_offline_with_the_model_cached_is_done(hub, monkeypatch):
    folder = download_model(REPO_ID)
    with _offline(monkeypatch):
        assert download_model(REPO_ID) == folder


def test_a_failed_download_names_no_exception_class(monkeypatch):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as closed:
        closed.bind(("127.0.0.1", 0))
        _point_client_at(monkeypatch, f"http://127.0.0.1:{closed.getsockname()[1]}")
        with pytest.raises(ModelError) as info:
            download_model(REPO_ID)
    assert "Error" not in str(info.value)
