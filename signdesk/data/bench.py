"""``signdesk data bench``: how fast the pipeline is, measured the same way on every machine.

- download: generated clips served by the loopback server with a fixed per-request latency (the
  part of a real download that workers overlap), fetched and validated with 1 and N workers;
- prepare: the full real index with a synthetic download folder (one small file and one ``ok``
  manifest row per instance), so the time is prepare's own: index, glossary, lookup,
  de-duplication, split and writing, not the disk's.
"""

from __future__ import annotations

import hashlib
import tempfile
import time
from pathlib import Path
from typing import Any

from signdesk.data.manifest import DownloadRow, ManifestJournal


def _make_clips(count: int, width: int, height: int, frames: int) -> list[bytes]:
    from signdesk.video.synth import MOTIONS, motion_frames, write_video

    clips = []
    with tempfile.TemporaryDirectory(prefix="signdesk-bench-") as tmp:
        for i in range(count):
            path = Path(tmp) / f"{i}.mp4"
            write_video(path, motion_frames(MOTIONS[i % len(MOTIONS)], frames, width, height, seed=i,
                                            phase=i / count))
            clips.append(path.read_bytes())
    return clips


def bench_download(workers: list[int], clips: int = 48, latency_ms: float = 100.0, width: int = 160,
                   height: int = 120, frames: int = 32) -> dict[str, Any]:
    """Clips per second for each worker count against one loopback host (per-host limit = workers)."""
    from signdesk.data.download import DownloadOptions, download
    from signdesk.data.index import parse_index
    from signdesk.data.loopback import LoopbackServer, Route

    bodies = _make_clips(clips, width, height, frames)
    results = []
    with LoopbackServer() as server, tempfile.TemporaryDirectory(prefix="signdesk-bench-") as tmp:
        for i, body in enumerate(bodies):
            server.add(f"/clip/{i}.mp4", Route(body=body, latency_s=latency_ms / 1000))
        entries = [{"gloss": f"g{i % 8}", "instances": []} for i in range(8)]
        for i in range(clips):
            entries[i % 8]["instances"].append({
                "video_id": f"{i:05d}", "url": server.url(f"/clip/{i}.mp4"), "split": "train",
                "signer_id": i % 5, "source": "bench", "frame_start": 1, "frame_end": -1})
        index = parse_index(entries, Path("bench"))
        for count in workers:
            out = Path(tmp) / f"w{count}"
            options = DownloadOptions(out=out, workers=count, per_host=count, host_delay=0.0, retries=0)
            start = time.perf_counter()
            report = download(index.instances, options)
            elapsed = time.perf_counter() - start
            results.append({"workers": count, "seconds": round(elapsed, 3), "ok": report.counts["ok"],
                            "clips_per_s": round(clips / elapsed, 2),
                            "mb_per_s": round(sum(map(len, bodies)) / elapsed / 1e6, 3)})
    base = results[0]["clips_per_s"] if results else 1.0
    for r in results:
        r["speedup"] = round(r["clips_per_s"] / base, 2)
    return {"benchmark": "download", "clips": clips, "latency_ms": latency_ms,
            "clip_bytes_mean": round(sum(map(len, bodies)) / len(bodies)), "frames": frames,
            "size": f"{width}x{height}", "results": results}


def bench_prepare(index_path: Path, glossary_spec: str = "WLASL2000", methods: tuple[str, ...] = (
        "official", "stratified", "signer")) -> dict[str, Any]:
    """Seconds to load the index and prepare each split method on a synthetic download folder."""
    from signdesk.data.glossary import check_glossary, resolve_glossary
    from signdesk.data.index import load_index
    from signdesk.data.prepare import PrepareOptions, prepare_dataset

    start = time.perf_counter()
    index = load_index(index_path)
    load_s = time.perf_counter() - start
    glossary = check_glossary(resolve_glossary(glossary_spec, index), index).matched_glossary()
    results: dict[str, Any] = {"benchmark": "prepare", "index": str(index_path), "glossary": glossary.name,
                               "instances": len(index.instances_of(list(glossary.glosses))),
                               "load_index_s": round(load_s, 3), "methods": {}}
    with tempfile.TemporaryDirectory(prefix="signdesk-bench-") as tmp:
        videos = Path(tmp) / "videos"
        videos.mkdir()
        start = time.perf_counter()
        journal = ManifestJournal(videos)
        for inst in index.instances_of(list(glossary.glosses)):
            # Distinct bytes per instance, except where WLASL itself reuses a URL (those are duplicates).
            body = f"fake clip of {inst.url}#{inst.frame_start}-{inst.frame_end}".encode()
            name = f"{inst.video_id}.mp4"
            (videos / name).write_bytes(body)
            journal.rows[inst.video_id] = DownloadRow(
                video_id=inst.video_id, gloss=inst.gloss, url=inst.url, host=inst.host, source=inst.source,
                split=inst.split, status="ok", path=name, bytes=len(body),
                sha256=hashlib.sha256(body).hexdigest(), frames=50, fps=25.0)
        journal.compact()
        results["setup_s"] = round(time.perf_counter() - start, 3)
        for method in methods:
            start = time.perf_counter()
            meta = prepare_dataset(index, glossary, videos, Path(tmp) / f"dataset-{method}",
                                   PrepareOptions(split=method, seed=0))
            results["methods"][method] = {"seconds": round(time.perf_counter() - start, 3),
                                          "counts": {k: meta["counts"][k] for k in ("train", "val", "test")},
                                          "duplicates_dropped": meta["dropped"]["duplicate"]}
    return results
