"""Plain HTTP downloads of WLASL's direct video links (every host but YouTube), with urllib.

Requests carry a browser User-Agent and a same-site Referer, which several WLASL hosts require.
Redirects are followed only to http(s) URLs. The body streams to a temporary file in chunks; every
failure becomes a ``FetchError`` that says whether a retry can help: 404/410 and other 4xx never
do, timeouts, resets, truncated bodies, 408/429 and 5xx may. ``network`` marks the failures that
never reached a server (DNS, refused or reset connections, timeouts, an unreachable network): when a
run has nothing else, the machine is most likely offline.
"""

from __future__ import annotations

import email.utils
import errno
import http.client
import socket
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from signdesk.data.urls import url_problem
from signdesk.jobs.events import Stopped

USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
CHUNK = 64 * 1024
_PAGE_TYPES = ("text/", "application/json", "application/xml", "application/xhtml")
_NETWORK_ERRNOS = (errno.ENETUNREACH, errno.EHOSTUNREACH, errno.ENETDOWN)
_REASONS = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 410: "Gone"}


class FetchError(Exception):
    """A failed download: its manifest status, a one-line reason, and whether a retry may help."""

    def __init__(self, status: str, reason: str, *, transient: bool = False,
                 retry_after: float | None = None, network: bool = False) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.transient = transient
        self.retry_after = retry_after
        self.network = network  # no server answered: DNS, connection refused/reset, timeout, no route


@dataclass(frozen=True)
class FetchResult:
    bytes: int
    content_type: str
    final_url: str


class _HttpOnlyRedirects(urllib.request.HTTPRedirectHandler):
    """Follow at most 5 redirects, and only to http(s): an index URL must not lead to ftp: or file:."""

    max_redirections = 5

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        problem = url_problem(newurl)
        if problem:
            raise FetchError("unsupported", f"redirected to a URL that is not fetched: {problem}")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def build_opener() -> urllib.request.OpenerDirector:
    """An opener that speaks only http(s) (no file:, ftp: or data: handlers) and honours proxy settings."""
    opener = urllib.request.OpenerDirector()
    handlers = (urllib.request.ProxyHandler(), urllib.request.HTTPHandler(), urllib.request.HTTPSHandler(),
                urllib.request.HTTPDefaultErrorHandler(), _HttpOnlyRedirects(),
                urllib.request.HTTPErrorProcessor())
    for handler in handlers:
        opener.add_handler(handler)
    return opener


def request_headers(url: str, user_agent: str = USER_AGENT) -> dict[str, str]:
    parts = urlsplit(url)
    return {
        "User-Agent": user_agent,
        "Accept": "video/*,application/octet-stream;q=0.9,*/*;q=0.5",
        "Accept-Language": "en-US,en;q=0.8",
        "Accept-Encoding": "identity",
        "Referer": f"{parts.scheme}://{parts.netloc}/",
    }


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return min(max(float(value), 0.0), 120.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return min(max(when.timestamp() - time.time(), 0.0), 120.0)


def error_for_status(code: int, headers=None) -> FetchError:
    name = _REASONS.get(code) or http.client.responses.get(code, "")
    text = f"HTTP {code} {name}".strip()
    if code in (408, 425, 429) or code >= 500:
        retry_after = _retry_after(headers.get("Retry-After")) if headers is not None else None
        return FetchError("error", text, transient=True, retry_after=retry_after)
    if 300 <= code < 400:  # urllib refused the redirect (loop, too many, or a non-http(s) target)
        return FetchError("dead", f"{text}: broken or refused redirect")
    return FetchError("dead", text)


def error_for_exception(exc: BaseException) -> FetchError:
    """Map socket, TLS and http.client failures to a status and whether to retry."""
    if isinstance(exc, FetchError):
        return exc
    if isinstance(exc, urllib.error.HTTPError):
        return error_for_status(exc.code, exc.headers)
    reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
    if isinstance(reason, socket.gaierror):
        if reason.errno in (socket.EAI_AGAIN,):
            return FetchError("error", "DNS lookup failed temporarily", transient=True, network=True)
        # Not "dead": an offline machine looks the same. The next run tries again.
        return FetchError("error", "host not found (DNS); check the connection", network=True)
    if isinstance(reason, ssl.SSLCertVerificationError):
        return FetchError("error", f"TLS certificate problem: {reason.verify_message or reason}")
    if isinstance(reason, TimeoutError | socket.timeout):
        return FetchError("error", "timed out", transient=True, network=True)
    if isinstance(reason, http.client.IncompleteRead):  # a server answered: not a sign of being offline
        return FetchError("error", f"truncated: the connection closed after {len(reason.partial)} bytes",
                          transient=True)
    if isinstance(reason, ConnectionRefusedError):
        return FetchError("error", "connection refused", transient=True, network=True)
    if isinstance(reason, ConnectionError):  # reset or aborted
        return FetchError("error", f"connection failed ({type(reason).__name__})", transient=True, network=True)
    if isinstance(reason, http.client.HTTPException | ssl.SSLError):
        return FetchError("error", f"connection failed ({type(reason).__name__})", transient=True)
    if isinstance(reason, OSError) and reason.errno in _NETWORK_ERRNOS:
        return FetchError("error", "network unreachable", transient=True, network=True)
    if isinstance(reason, str):
        return FetchError("error", reason, transient=True)
    return FetchError("error", f"{type(reason).__name__}: {reason}", transient=True)


def content_type(response: http.client.HTTPResponse) -> str:
    """The response's media type, lower case, without parameters (``text/html; charset=...`` → ``text/html``)."""
    return (response.headers.get("Content-Type") or "").split(";")[0].strip().lower()


def content_length(response: http.client.HTTPResponse) -> int | None:
    header = response.headers.get("Content-Length")
    return int(header) if header and header.isdigit() else None


def read_blocks(response: http.client.HTTPResponse, should_stop: Callable[[], bool]) -> Iterator[bytes]:
    """The body in ``CHUNK``-sized blocks: ``Stopped`` between blocks when asked, FetchError when a read fails."""
    while True:
        if should_stop():
            raise Stopped()
        try:
            block = response.read(CHUNK)
        except Exception as exc:  # timeouts and resets mid-body
            raise error_for_exception(exc) from None
        if not block:
            return
        yield block


def fetch_to_file(url: str, dest: Path, *, timeout: float = 30.0, max_bytes: int = 500 << 20,
                  user_agent: str = USER_AGENT, opener: urllib.request.OpenerDirector | None = None,
                  should_stop: Callable[[], bool] = lambda: False) -> FetchResult:
    """Stream ``url`` into ``dest`` (overwritten). Raises FetchError or Stopped; never leaves half a
    body unreported: a body shorter than its Content-Length is a (transient) error."""
    problem = url_problem(url)
    if problem:
        raise FetchError("unsupported", problem)
    opener = opener or build_opener()
    request = urllib.request.Request(url, headers=request_headers(url, user_agent))
    try:
        response = opener.open(request, timeout=timeout)
    except Exception as exc:  # every failure is classified, none escapes unexplained
        raise error_for_exception(exc) from None
    with response:
        ctype = content_type(response)
        if ctype.startswith(_PAGE_TYPES):
            raise FetchError("invalid", f"the server sent a web page ({ctype}), not a video")
        if ctype in ("application/x-shockwave-flash", "application/vnd.adobe.flash-movie"):
            raise FetchError("unsupported", "a Flash .swf animation, not a video")
        length = content_length(response)
        if length is not None and length > max_bytes:
            raise FetchError("invalid", f"{length} bytes is larger than the {max_bytes >> 20} MiB limit")
        total = 0
        dest.parent.mkdir(parents=True, exist_ok=True)
        # A local write error (disk full) is not the server's fault: it is raised as it is.
        with open(dest, "wb") as handle:
            for block in read_blocks(response, should_stop):
                total += len(block)
                if total > max_bytes:
                    raise FetchError("invalid", f"larger than the {max_bytes >> 20} MiB limit")
                handle.write(block)
        if length is not None and total < length:
            raise FetchError("error", f"truncated: got {total} of {length} bytes", transient=True)
        return FetchResult(total, ctype, response.geturl())
