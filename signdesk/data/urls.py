"""Checks for the untrusted parts of an index: video ids become file names, URLs get fetched.

A video id is used as a file name only when it matches ``VIDEO_ID_RE`` (no separators, no dots, so no
path traversal); a URL is fetched only when it is plain http(s) with a host.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

# WLASL ids are 5 digits; allow a little more for user-made indexes, never '.', '/' or '\\'.
VIDEO_ID_RE = re.compile(r"[0-9A-Za-z][0-9A-Za-z_-]{0,63}")
YOUTUBE_ID_RE = re.compile(r"[0-9A-Za-z_-]{11}")
YOUTUBE_HOSTS = frozenset({
    "youtube.com", "www.youtube.com", "m.youtube.com", "music.youtube.com",
    "youtu.be", "www.youtu.be", "youtube-nocookie.com", "www.youtube-nocookie.com",
})
ALLOWED_SCHEMES = ("http", "https")


def is_safe_video_id(video_id: object) -> bool:
    return isinstance(video_id, str) and VIDEO_ID_RE.fullmatch(video_id) is not None


def host_of(url: str) -> str:
    """The URL's host in lower case ('' when there is none or the URL does not parse)."""
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


def url_problem(url: str) -> str | None:
    """Why ``url`` must not be fetched, or None when it is a plain http(s) URL with a host."""
    if not isinstance(url, str) or not url.strip():
        return "the URL is empty"
    if any(ch.isspace() or ord(ch) < 32 for ch in url):
        return "the URL contains spaces or control characters"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        return "the URL does not parse"
    if parts.scheme.lower() not in ALLOWED_SCHEMES:
        return f"only http(s) URLs are downloaded (got '{parts.scheme or 'no scheme'}:')"
    if not parts.hostname:
        return "the URL has no host"
    return None


def youtube_id(url: str) -> str | None:
    """The 11-character video id of a YouTube watch, short, embed or shorts URL; None otherwise."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    host = (parts.hostname or "").lower()
    if host not in YOUTUBE_HOSTS:
        return None
    candidate = None
    if host.endswith("youtu.be"):
        candidate = parts.path.strip("/").split("/")[0]
    elif parts.path == "/watch":
        candidate = (parse_qs(parts.query).get("v") or [""])[0]
    else:
        segments = parts.path.strip("/").split("/")
        if len(segments) >= 2 and segments[0] in ("embed", "v", "shorts", "live"):
            candidate = segments[1]
    return candidate if candidate and YOUTUBE_ID_RE.fullmatch(candidate) else None


def is_youtube(url: str) -> bool:
    return host_of(url) in YOUTUBE_HOSTS


def host_group(host: str) -> str:
    """The politeness group of a host: all YouTube hosts are one site."""
    return "youtube" if host in YOUTUBE_HOSTS else host


def url_key(url: str) -> str:
    """A key that is equal for URLs that fetch the same video (http/https, host case, YouTube forms)."""
    ytid = youtube_id(url)
    if ytid:
        return f"youtube:{ytid}"
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return url.strip()
    host = (parts.hostname or "").lower()
    port = f":{parts.port}" if parts.port else ""
    query = f"?{parts.query}" if parts.query else ""
    return f"{host}{port}{parts.path}{query}"


def url_suffix(url: str) -> str:
    """The lower-case extension of the URL's path ('.swf', '.mp4', '' when none)."""
    try:
        path = urlsplit(url).path
    except ValueError:
        return ""
    name = path.rsplit("/", 1)[-1]
    return "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""
