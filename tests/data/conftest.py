"""Fixtures for the WLASL pipeline: generated clips, a loopback HTTP server, tiny indexes.

Helpers reach tests through the ``wl`` fixture (tests run with ``--import-mode=importlib``, so a
helper module beside them is not importable).
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from signdesk.data.download import DownloadOptions
from signdesk.data.index import parse_index
from signdesk.data.loopback import LoopbackServer
from signdesk.video.synth import motion_frames, numbered_video, write_video


@pytest.fixture(scope="session")
def clips(tmp_path_factory) -> dict[str, bytes]:
    """Small real videos: 'a'/'b' (24 frames, different content), 'numbered' (120 numbered frames),
    'few' (4 frames: too short to keep)."""
    folder = tmp_path_factory.mktemp("clips")
    write_video(folder / "a.mp4", motion_frames("circle", 24, 64, 48, seed=1))
    write_video(folder / "b.mp4", motion_frames("left-right", 24, 64, 48, seed=2))
    write_video(folder / "few.mp4", motion_frames("up-down", 4, 64, 48, seed=3))
    numbered_video(folder / "numbered.mp4", 120, 96, 64)
    return {p.stem: p.read_bytes() for p in folder.glob("*.mp4")}


@pytest.fixture
def server():
    with LoopbackServer() as srv:
        yield srv


def instance(video_id: str, url: str, *, split: str = "train", signer: int = 1, start: int = 1, end: int = -1,
             source: str = "test") -> dict:
    return {"video_id": video_id, "url": url, "split": split, "signer_id": signer, "source": source,
            "frame_start": start, "frame_end": end, "fps": 25, "bbox": [0, 0, 10, 10], "instance_id": 0,
            "variation_id": 0}


def make_index(entries: dict[str, list[dict]], path: Path | None = None):
    """An index from {gloss: [instance(...), ...]}; written to ``path`` too when given."""
    data = [{"gloss": gloss, "instances": insts} for gloss, insts in entries.items()]
    if path is not None:
        path.write_text(json.dumps(data))
    return parse_index(data, path or Path("test-index.json"))


def fast_options(out: Path, **overrides) -> DownloadOptions:
    """No politeness delay and no backoff: tests wait for nothing but the work itself."""
    values = {"workers": 4, "per_host": 4, "host_delay": 0.0, "backoff": 0.0, "retries": 2, "timeout": 5.0,
              "min_frames": 8}
    values.update(overrides)
    return DownloadOptions(out=out, **values)


def manifest_rows(folder: Path) -> dict[str, dict]:
    rows = [json.loads(line) for line in (folder / "manifest.jsonl").read_text().splitlines()]
    return {row["video_id"]: row for row in rows}


@pytest.fixture
def wl() -> SimpleNamespace:
    return SimpleNamespace(instance=instance, make_index=make_index, fast_options=fast_options,
                           manifest_rows=manifest_rows)
