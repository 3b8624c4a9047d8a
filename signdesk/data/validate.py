"""Is a downloaded file a usable clip? Size, container signature, frame count, and a real decode.

Roughly 40 % of WLASL links are dead or serve junk (one host answers every request with the same
114-byte file; another serves Flash). A file is kept only if it passes every check here, and the
reason it failed goes into the manifest.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

MIN_BYTES = 1024
MIN_FRAMES = 8
_TEXT_STARTS = (b"<", b"{", b"[", b"\xef\xbb\xbf<")


class InvalidVideo(Exception):
    """The file is not a usable clip; ``status`` is the manifest status (invalid or unsupported)."""

    def __init__(self, reason: str, status: str = "invalid") -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


@dataclass(frozen=True)
class ClipInfo:
    frames: int
    fps: float
    width: int
    height: int
    bytes: int
    sha256: str
    container: str


def sniff_container(head: bytes) -> str | None:
    """The container a file's first bytes announce: mp4, mov, webm, mkv, avi, flv, swf, or None."""
    if len(head) >= 12 and head[4:8] == b"ftyp":
        return "mov" if head[8:12] == b"qt  " else "mp4"
    if len(head) >= 8 and head[4:8] in (b"moov", b"mdat", b"wide", b"free", b"skip"):
        return "mov"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "webm" if b"webm" in head[:64] else "mkv"
    if head.startswith(b"RIFF") and head[8:12] == b"AVI ":
        return "avi"
    if head.startswith(b"FLV"):
        return "flv"
    if head[:3] in (b"FWS", b"CWS", b"ZWS"):
        return "swf"
    return None


def sha256_of(path: str | os.PathLike[str], chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def check_header(path: str | os.PathLike[str], *, min_bytes: int = MIN_BYTES) -> str:
    """Cheap checks before decoding: size and signature. Returns the container name."""
    size = os.path.getsize(path)
    with open(path, "rb") as handle:
        head = handle.read(64)
    container = sniff_container(head)
    if container == "swf":
        raise InvalidVideo("a Flash .swf animation, not a video (ffmpeg can convert it)", "unsupported")
    if size < min_bytes:
        raise InvalidVideo(f"only {size} bytes: too small to be a video (a junk placeholder)")
    if container is None:
        is_text = head.lstrip().startswith(_TEXT_STARTS)
        what = "a web page or text" if is_text else "not a known video container"
        raise InvalidVideo(f"{what} ({size} bytes), not a video")
    return container


def validate_clip(path: str | os.PathLike[str], *, min_frames: int = MIN_FRAMES, min_bytes: int = MIN_BYTES,
                  frame_start: int = 1, frame_end: int = -1) -> ClipInfo:
    """Check a clip fully: header, frame count (of the sign's range), and decoding of its last frame.

    Decoding a few sampled frames plus the very last one catches files cut off mid-download whose
    index still promises every frame.
    """
    from signdesk.errors import VideoError
    from signdesk.video.decode import probe_video, read_clip

    container = check_header(path, min_bytes=min_bytes)
    try:
        info = probe_video(path)
    except VideoError:
        raise InvalidVideo(f"does not decode as video ({container} container)") from None
    last = info.frame_count if frame_end == -1 else min(frame_end, info.frame_count)
    if frame_start > info.frame_count:
        raise InvalidVideo(f"frame_start {frame_start} is after the clip's last frame ({info.frame_count})")
    frames = last - frame_start + 1
    if frames < min_frames:
        raise InvalidVideo(f"only {frames} frames in the sign's range (at least {min_frames} needed)")
    try:
        read_clip(path, 4, frame_start, last)
        read_clip(path, 1, last, last)
    except VideoError:
        raise InvalidVideo("truncated or damaged: some frames do not decode") from None
    return ClipInfo(info.frame_count, info.fps, info.width, info.height, os.path.getsize(path),
                    sha256_of(path), container)


def suffix_for(container: str) -> str:
    return {"mp4": ".mp4", "mov": ".mov", "webm": ".webm", "mkv": ".mkv", "avi": ".avi", "flv": ".flv"}.get(
        container, ".mp4")


def clip_files(folder: Path, video_id: str) -> list[Path]:
    """Existing final clip files for ``video_id`` in ``folder`` (any known suffix)."""
    return [p for p in (folder / f"{video_id}{s}" for s in (".mp4", ".mov", ".webm", ".mkv", ".avi", ".flv"))
            if p.is_file()]
