"""A loopback HTTP server (127.0.0.1 only) that behaves like WLASL's hosts, for tests and benchmarks.

Routes serve generated videos, the 114-byte junk, 404/410, transient 503s, truncated and stalled
bodies, slow trickles and redirects, and the server counts requests per path and the most
requests it served at once, so tests can check what a client really did.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

JUNK_114 = (b"<html><head><title>404</title></head><body>The requested video could not be found on this "
            b"server.</body></html>")[:114].ljust(114, b" ")


@dataclass
class Route:
    body: bytes = b""
    content_type: str = "video/mp4"
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    redirect: str | None = None  # Location for a 302
    fail_first: int = 0  # answer this many requests with ``fail_status`` first
    fail_status: int = 503
    truncate: bool = False  # promise the full length, send half, close
    stall: bool = False  # send headers, then nothing until the server stops
    trickle_s: float = 0.0  # pause between 1 KiB pieces of the body (a slow host)
    latency_s: float = 0.0  # wait before answering (a far-away host, for benchmarks)


class LoopbackServer:
    """``with LoopbackServer() as server: server.add("/a.mp4", Route(body=...)); server.url("/a.mp4")``."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.hits: dict[str, int] = {}
        self.request_headers: dict[str, dict[str, str]] = {}  # the last request's headers per path
        self.active = 0
        self.max_active = 0
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def add(self, path: str, route: Route) -> str:
        self.routes[path] = route
        return self.url(path)

    def url(self, path: str) -> str:
        assert self._httpd is not None, "start the server first"
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}{path}"

    def hit_count(self, path: str) -> int:
        with self._lock:
            return self.hits.get(path, 0)

    def reset_counts(self) -> None:
        with self._lock:
            self.hits.clear()
            self.max_active = 0

    def start(self) -> LoopbackServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args) -> None:  # quiet: tests read counters, not logs
                pass

            def do_HEAD(self) -> None:
                server._serve(self, head=True)

            def do_GET(self) -> None:
                server._serve(self, head=False)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="loopback-http", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._closing.set()  # releases stalled responses
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join()

    def __enter__(self) -> LoopbackServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _serve(self, handler: BaseHTTPRequestHandler, head: bool) -> None:
        path = urlsplit(handler.path).path
        with self._lock:
            count = self.hits.get(path, 0) + 1
            self.hits[path] = count
            self.request_headers[path] = dict(handler.headers.items())
            self.active += 1
            self.max_active = max(self.max_active, self.active)
        try:
            self._respond(handler, self.routes.get(path), count, head)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeouts in tests): nothing to answer
        finally:
            with self._lock:
                self.active -= 1

    def _respond(self, handler: BaseHTTPRequestHandler, route: Route | None, count: int, head: bool) -> None:
        if route is None:
            self._simple(handler, 404, b"not found", "text/plain")
            return
        if route.latency_s:
            self._closing.wait(route.latency_s)
        if count <= route.fail_first:
            self._simple(handler, route.fail_status, b"try again later", "text/plain")
            return
        if route.redirect is not None:
            handler.send_response(302)
            handler.send_header("Location", route.redirect)
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return
        if route.status != 200:
            self._simple(handler, route.status, b"gone" if route.status == 410 else b"error", "text/plain")
            return
        body, status = route.body, 200
        first = 0
        ranged = handler.headers.get("Range", "")
        if ranged.startswith("bytes=") and not route.truncate:
            start, _, end = ranged[6:].partition("-")
            if start.isdigit():
                first = min(int(start), len(body))
                last = min(int(end), len(body) - 1) if end.isdigit() else len(body) - 1
                body, status = body[first : last + 1], 206
        handler.send_response(status)
        handler.send_header("Content-Type", route.content_type)
        handler.send_header("Content-Length", str(len(body)))
        handler.send_header("Accept-Ranges", "bytes")
        if status == 206:
            handler.send_header("Content-Range", f"bytes {first}-{first + len(body) - 1}/{len(route.body)}")
        for name, value in route.headers.items():
            handler.send_header(name, value)
        if route.truncate or route.stall:
            handler.send_header("Connection", "close")
        handler.end_headers()
        if head:
            return
        if route.stall:
            handler.wfile.flush()
            self._closing.wait()
            return
        if route.truncate:
            handler.wfile.write(body[: len(body) // 2])
            handler.wfile.flush()
            handler.close_connection = True
            return
        if route.trickle_s:
            for pos in range(0, len(body), 1024):
                handler.wfile.write(body[pos : pos + 1024])
                handler.wfile.flush()
                time.sleep(route.trickle_s)  # simulates a slow host; nothing waits on it
            return
        handler.wfile.write(body)

    @staticmethod
    def _simple(handler: BaseHTTPRequestHandler, status: int, body: bytes, ctype: str) -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", ctype)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)
