"""Download the WLASL index (``WLASL_v0.3.json``, about 12 MB) from its public URL, with progress.

The Training tab uses this when the user has no copy of the index. The body streams into a temporary
file beside the destination and replaces it only when complete and plausible (a JSON list, not an
HTML error page), so an interrupted or failed download never leaves half an index behind. The index
is *not* parsed here: parsing 12 MB of JSON holds the GIL for a while, so callers check the file in a
child process (``signdesk data stats --wlasl FILE --json``), which also reports malformed entries.
"""

from __future__ import annotations

import hashlib
import os
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from signdesk.atomicio import atomic_open
from signdesk.data.fetch import (
    USER_AGENT,
    FetchError,
    build_opener,
    content_length,
    content_type,
    error_for_exception,
    read_blocks,
)
from signdesk.data.urls import url_problem
from signdesk.errors import SignDeskError

WLASL_INDEX_URL = "https://raw.githubusercontent.com/dxli94/WLASL/master/start_kit/WLASL_v0.3.json"
INDEX_NAME = "WLASL_v0.3.json"
MAX_BYTES = 64 << 20  # the real index is ~12 MB; anything far larger is not it

#: ``progress(done_bytes, total_bytes or None)``, called at most once per chunk.
ByteProgress = Callable[[int, int | None], None]  # (bytes so far, total bytes or None)


class IndexDownloadError(SignDeskError):
    """The index could not be downloaded; the message is one line for people."""


@dataclass(frozen=True)
class IndexDownload:
    path: Path
    bytes: int
    sha256: str
    url: str


def download_index(dest: str | os.PathLike[str], url: str = WLASL_INDEX_URL, *, timeout: float = 30.0,
                   progress: ByteProgress | None = None, should_stop: Callable[[], bool] = lambda: False,
                   opener: urllib.request.OpenerDirector | None = None) -> IndexDownload:
    """Stream ``url`` to ``dest`` atomically. Raises ``IndexDownloadError``, or ``Stopped`` when asked to stop."""
    problem = url_problem(url)
    if problem:
        raise IndexDownloadError(f"{url}: {problem}")
    dest = Path(dest).expanduser()
    dest.parent.mkdir(parents=True, exist_ok=True)
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, "Accept": "application/json,*/*",
                                                   "Accept-Encoding": "identity"})
    try:
        response = (opener or build_opener()).open(request, timeout=timeout)
    except Exception as exc:
        reason = error_for_exception(exc).reason
        raise IndexDownloadError(f"could not download the index from {url}: {reason}") from None
    digest = hashlib.sha256()
    done = 0
    with response, atomic_open(dest, suffix=".part") as handle:  # nothing is left behind on any error
        if content_type(response) == "text/html":
            raise IndexDownloadError(f"{url} sent a web page, not the WLASL index; check the address")
        total = content_length(response)
        if progress is not None:
            progress(0, total)
        first = b""
        try:
            for block in read_blocks(response, should_stop):
                if not first:
                    first = block.lstrip()[:1]
                done += len(block)
                if done > MAX_BYTES:
                    raise IndexDownloadError(f"{url} is larger than {MAX_BYTES >> 20} MB: not the WLASL index")
                digest.update(block)
                handle.write(block)
                if progress is not None:
                    progress(done, total)
        except FetchError as exc:  # timeouts and resets mid-body
            raise IndexDownloadError(f"the index download broke off: {exc.reason}") from None
        if total is not None and done < total:
            raise IndexDownloadError(f"the index download broke off after {done:,} of {total:,} bytes; "
                                     "try again")
        if first != b"[":
            raise IndexDownloadError(f"{url} did not send a JSON list: not the WLASL index")
    return IndexDownload(dest, done, digest.hexdigest(), url)
