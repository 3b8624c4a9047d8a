"""YouTube downloads through yt-dlp's Python API (never a shell), one source video per call.

A small video-only MP4 is plenty for sign recognition and needs no ffmpeg to merge streams. yt-dlp's
failures come back as text; ``classify_ytdlp_error`` turns them into a manifest status and says
whether a retry may help. YouTube now needs a JavaScript runtime (Deno, Node.js >= 22, Bun or
QuickJS) to solve its challenges; ``js_runtime_status`` enables every one it finds and, when there
is none, produces the message that tells the user how to fix it.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from signdesk.data.fetch import FetchError
from signdesk.jobs.events import Stopped

log = logging.getLogger(__name__)

# Video only (sign language needs no sound), H.264 first because every decoder reads it, <= 480p.
FORMAT = ("bv*[ext=mp4][height<=480][vcodec^=avc1]/bv*[ext=mp4][height<=480]/b[ext=mp4][height<=480]"
          "/bv*[height<=480]/b[height<=480]/b")
JS_HELP = ("install Deno (https://deno.com) or Node.js 22 or newer and make sure it is on PATH, "
           "then run the download again")

_DEAD = ("video unavailable", "private video", "has been removed", "no longer available",
         "account associated with this video has been terminated", "http error 404", "http error 410",
         "does not exist", "this video is unavailable", "video has been deleted", "copyright claim",
         "not available in your country", "blocked it in your country")
_BOT = ("sign in to confirm", "not a bot", "confirm your age", "age-restricted",
        "inappropriate for some users", "members-only", "join this channel")
_JS = ("javascript runtime", "n challenge", "signature solving", "nsig", "signature extraction",
       "requested format is not available", "only images are available")
_TRANSIENT = ("timed out", "timeout", "connection reset", "temporary failure", "http error 5",
              "http error 429", "remote end closed", "incomplete", "connection refused",
              "unable to download webpage", "network is unreachable", "connection aborted",
              "got error", "read error")
# The transient failures that mean no server answered at all (as when the machine is offline).
_NETWORK = ("timed out", "connection reset", "connection refused", "connection aborted", "network is unreachable",
            "no route to host", "temporary failure in name resolution", "name or service not known",
            "nodename nor servname", "getaddrinfo failed", "no address associated", "failed to resolve")


@functools.cache
def js_runtime_status() -> tuple[dict[str, dict[str, Any]], str | None]:
    """The yt-dlp ``js_runtimes`` to enable, and a warning when no usable runtime was found."""
    try:
        import yt_dlp  # noqa: F401 - registers the runtimes
        from yt_dlp.globals import supported_js_runtimes
    except ImportError:  # an older yt-dlp without runtime support
        return {}, None
    usable: dict[str, dict[str, Any]] = {}
    too_old: list[str] = []
    for name, runtime_cls in supported_js_runtimes.value.items():
        try:
            info = runtime_cls().info
        except Exception:  # a broken runtime install must not stop downloads
            info = None
        if info is None:
            continue
        if info.supported:
            usable[name] = {}
        else:
            too_old.append(f"{info.name} {info.version}")
    if usable:
        return usable, None
    found = f" ({', '.join(too_old)} is too old)" if too_old else ""
    return {}, (f"yt-dlp found no JavaScript runtime it can use{found}; YouTube downloads may fail or "
                f"miss formats: {JS_HELP}")


def classify_ytdlp_error(message: str, *, js_missing: bool = False) -> FetchError:
    """A manifest status for a yt-dlp error message, with a short reason for people."""
    text = " ".join(str(message).split())
    low = text.lower()
    short = text.removeprefix("ERROR: ")
    short = short if len(short) <= 200 else short[:197] + "..."
    if "unsupported url" in low:
        return FetchError("unsupported", f"yt-dlp does not support this URL: {short}")
    if any(k in low for k in _DEAD):
        return FetchError("dead", short)
    if any(k in low for k in _BOT):
        return FetchError("error", f"YouTube wants a signed-in user (bot check or age limit); try later or "
                                   f"pass --cookies: {short}")
    if any(k in low for k in _JS) or (js_missing and "youtube" in low and "format" in low):
        hint = f"; {JS_HELP}" if js_missing else ""
        return FetchError("error", f"YouTube: {short}{hint}")
    if any(k in low for k in _NETWORK):
        return FetchError("error", f"yt-dlp: {short}", transient=True, network=True)
    if any(k in low for k in _TRANSIENT):
        return FetchError("error", f"yt-dlp: {short}", transient=True)
    return FetchError("error", f"yt-dlp: {short}")


class _Logger:
    """Sends yt-dlp's chatter to logging and keeps its warnings for the error message."""

    def __init__(self) -> None:
        self.warnings: list[str] = []

    def debug(self, msg: str) -> None:
        log.debug("%s", msg)

    def info(self, msg: str) -> None:
        log.debug("%s", msg)

    def warning(self, msg: str) -> None:
        self.warnings.append(msg)
        log.info("yt-dlp: %s", msg)

    def error(self, msg: str) -> None:
        log.info("yt-dlp: %s", msg)


def download_source(url: str, folder: Path, stem: str, *, timeout: float = 30.0,
                    should_stop: Callable[[], bool] = lambda: False, cookies: Path | None = None,
                    cache_dir: Path | None = None, extra: dict[str, Any] | None = None) -> Path:
    """Download one video to ``folder/<stem>.<ext>`` and return its path.

    ``stem`` is a validated id chosen by the caller: yt-dlp's own title or id never becomes a file
    name. yt-dlp writes ``.part`` files and renames them when complete, so a file without that
    suffix is whole. Raises FetchError (classified) or Stopped.
    """
    import yt_dlp
    from yt_dlp.utils import DownloadCancelled, DownloadError, ExtractorError

    runtimes, js_warning = js_runtime_status()
    logger = _Logger()

    def hook(progress: dict[str, Any]) -> None:
        if should_stop():
            raise DownloadCancelled("stopped by request")

    folder.mkdir(parents=True, exist_ok=True)
    params: dict[str, Any] = {
        "format": FORMAT,
        "outtmpl": {"default": str(folder / f"{stem}.%(ext)s")},
        "paths": {"home": str(folder), "temp": str(folder)},
        "noplaylist": True,
        "quiet": True,
        "no_warnings": False,
        "noprogress": True,
        "logger": logger,
        "progress_hooks": [hook],
        "socket_timeout": timeout,
        "retries": 2,
        "fragment_retries": 3,
        "continuedl": True,
        "overwrites": False,
        "restrictfilenames": True,
        "windowsfilenames": True,
        "cachedir": str(cache_dir) if cache_dir else False,
        "writeinfojson": False,
        "writethumbnail": False,
        "writesubtitles": False,
    }
    if runtimes:
        params["js_runtimes"] = runtimes
    if cookies:
        params["cookiefile"] = str(cookies)
    params.update(extra or {})
    try:
        with yt_dlp.YoutubeDL(params) as ydl:
            info = ydl.extract_info(url, download=True)
    except DownloadCancelled:
        raise Stopped() from None
    except (DownloadError, ExtractorError) as exc:
        if should_stop():
            raise Stopped() from None
        raise classify_ytdlp_error(str(exc), js_missing=js_warning is not None) from None
    paths = [d.get("filepath") for d in (info or {}).get("requested_downloads") or [] if d.get("filepath")]
    path = Path(paths[0]) if paths else None
    if path is None or not path.is_file() or path.parent.resolve() != folder.resolve():
        raise FetchError("error", "yt-dlp reported success but wrote no file")
    return path
