"""``signdesk segment VIDEO`` and ``signdesk bench segment``: sign finding alone, without a model.

``segment`` prints the spans file mode would interpret. ``bench segment`` builds signer-at-a-webcam
streams from the real sample clips (see :mod:`signdesk.video.streams`), runs the same file segmenter
over them and reports recall, precision, start/end errors and the cost per frame.

It uses file mode's sign finding (``signdesk.transcribe.find_signs``), so it sits in the layer above
``transcribe``, not in ``signdesk.video`` (which file mode itself builds on).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def _segmenter_config(args: argparse.Namespace):
    from signdesk.config import load_settings
    from signdesk.video.segment import SegmenterConfig

    overrides = {"live.sensitivity": getattr(args, "sensitivity", None), "live.hold_s": getattr(args, "hold", None)}
    return SegmenterConfig.from_settings(load_settings({k: v for k, v in overrides.items() if v is not None}))


def _segment(args: argparse.Namespace) -> int:
    from signdesk.transcribe import SignSpan, find_signs
    from signdesk.transcript import short_time

    video = Path(args.video)
    spans = [item for item in find_signs(video, _segmenter_config(args)) if isinstance(item, SignSpan)]
    if args.json:
        rows = [{"start_s": round(s.start_s, 3), "end_s": round(s.end_s, 3), "start_frame": s.start_frame,
                 "end_frame": s.end_frame, "frames": s.end_frame - s.start_frame + 1, "motion": s.motion_id,
                 "whole_video": s.motion_id is None} for s in spans]
        print(json.dumps({"video": str(video), "signs": rows}, indent=2))
        return 0
    for s in spans:
        whole = "   (no rest found: the whole video as one sign)" if s.motion_id is None else ""
        print(f"{short_time(s.start_s):>7} – {short_time(s.end_s):<7}  frames {s.start_frame}–{s.end_frame}"
              f"  ({s.end_frame - s.start_frame + 1}){whole}")
    return 0


# ---------------------------------------------------------------------------------------- bench segment


def segment_stream(path: str, config=None) -> tuple[list[tuple[float, float]], dict[str, float]]:
    """Spans the file segmenter finds in a stream (pieces of one motion joined), and what it cost."""
    from signdesk.transcribe import SignSpan, find_signs

    spans: list[tuple[float, float, int | None]] = []
    t0 = time.perf_counter()
    frames = 0
    for item in find_signs(path, config):
        if isinstance(item, SignSpan):
            if item.motion_id is None:
                continue  # the whole-video fallback is not a sign the segmenter found
            if spans and spans[-1][2] == item.motion_id:  # a long motion cut in pieces is one sign
                spans[-1] = (spans[-1][0], item.end_s, item.motion_id)
            else:
                spans.append((item.start_s, item.end_s, item.motion_id))
        else:
            frames = item.done
    elapsed = time.perf_counter() - t0
    return [(a, b) for a, b, _ in spans], {"frames": frames, "seconds": elapsed}


def segmenter_cost_ms(frames: int = 300, size: tuple[int, int] = (480, 360)) -> float:
    """Milliseconds per frame of the live segmenter alone, on frames the size the capture keeps."""
    from signdesk.video.segment import MotionSegmenter
    from signdesk.video.synth import motion_frames

    clip = motion_frames("circle", 60, width=size[0], height=size[1], still_before=30, still_after=30)
    segmenter = MotionSegmenter(30.0)
    t0 = time.perf_counter()
    for i in range(frames):
        segmenter.feed(clip[i % len(clip)], i / 30.0, i, t=0.0)
    return (time.perf_counter() - t0) * 1000 / frames


def run_bench_segment(samples: Path, out: Path, sets: list[str], cameras: list[str] | None,
                      log=None) -> dict[str, Any]:
    from signdesk.video.streams import TruthSign, build_stream, pool_scores, score_spans, stream_plan

    report: dict[str, Any] = {"samples": str(samples), "sets": {}}
    for name in sets:
        rows = []
        for stream_name, clips, camera in stream_plan(samples, held_out=name == "held-out", cameras=cameras):
            stream = build_stream(clips, out / name / f"{stream_name}.mp4", camera)
            Path(stream.path).with_suffix(".json").write_text(json.dumps(stream.as_dict(), indent=2))
            spans, cost = segment_stream(stream.path)
            score = score_spans([TruthSign(s.label, s.start_s, s.end_s) for s in stream.signs], spans)
            rows.append((stream_name, score, cost))
            if log:
                log(f"{name:9} {stream_name:42} recall {score.recall:.2f}  precision {score.precision:.2f}")
        pooled = pool_scores([r[1] for r in rows])
        frames = sum(r[2]["frames"] for r in rows)
        report["sets"][name] = {
            **pooled.as_dict(),
            "streams": len(rows),
            "file_ms_per_frame": round(1000 * sum(r[2]["seconds"] for r in rows) / max(1, frames), 3),
            "per_stream": {r[0]: r[1].as_dict() for r in rows},
        }
    report["live_segmenter_ms_per_frame"] = round(segmenter_cost_ms(), 3)
    return report


def format_bench_segment(report: dict[str, Any]) -> str:
    lines = [f"Streams built from the real clips in {report['samples']}:"]
    lines.append(f"{'set':10} {'streams':>7} {'signs':>6} {'found':>6} {'recall':>7} {'precision':>9} "
                 f"{'start err':>9} {'end err':>8} {'ms/frame':>8}")
    for name, row in report["sets"].items():
        lines.append(f"{name:10} {row['streams']:>7} {row['signs']:>6} {row['found']:>6} {row['recall']:>7.3f} "
                     f"{row['precision']:>9.3f} {row['start_error_s']:>8.3f}s {row['end_error_s']:>7.3f}s "
                     f"{row['file_ms_per_frame']:>8.2f}")
    lines.append("(errors: median absolute, seconds; ms/frame: decoding and segmenting a stream file)")
    lines.append(f"Live segmenter alone: {report['live_segmenter_ms_per_frame']:.2f} ms per 480x360 frame")
    return "\n".join(lines)


def _bench_segment(args: argparse.Namespace) -> int:
    from signdesk.errors import SignDeskError
    from signdesk.video.streams import CAMERAS, find_samples

    samples = find_samples(args.samples)
    if samples is None:
        raise SignDeskError("no sample clips found: pass --samples DIR (a folder of real sign clips, *.mp4), "
                            "or set SIGNDESK_SAMPLES")
    unknown = sorted(set(args.camera or []) - set(CAMERAS))
    if unknown:
        raise SignDeskError(f"unknown camera {', '.join(unknown)}; choose from {', '.join(CAMERAS)}")
    sets = ["tuning", "held-out"] if args.set == "both" else [args.set]
    log = None if args.json else (lambda line: print(line, file=sys.stderr, flush=True))
    with tempfile.TemporaryDirectory(prefix="signdesk-streams-") as tmp:
        out = Path(args.keep) if args.keep else Path(tmp)
        report = run_bench_segment(samples, out, sets, args.camera, log)
    print(json.dumps(report, indent=2) if args.json else format_bench_segment(report))
    return 0


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "segment", help="find the signs in a video (no model): start, end, frames",
        description="Print where each sign lies in VIDEO, as file mode and `transcribe` find them.")
    p.add_argument("video", metavar="VIDEO")
    p.add_argument("--json", action="store_true", help="one JSON report")
    p.add_argument("--sensitivity", type=float, metavar="S", help="1–10 (setting live.sensitivity)")
    p.add_argument("--hold", type=float, metavar="SECONDS", help="stillness that ends a sign (live.hold_s)")
    p.set_defaults(handler=_segment)

    b = subparsers.add_parser(
        "bench-segment", help="score sign finding on streams built from real clips (also: bench segment)",
        description="Build signer-at-a-webcam streams from real sign clips (rests, camera noise, sizes, frame "
                    "rates, flicker, mid-sign starts), find the signs, and report recall, precision, start/end "
                    "errors and the cost per frame. Tuning streams use the even clips, held-out the odd ones.")
    b.add_argument("--samples", metavar="DIR", help="folder of real sign clips (default: shared/data/samples)")
    b.add_argument("--set", choices=["held-out", "tuning", "both"], default="both")
    b.add_argument("--camera", action="append", metavar="NAME", help="only this camera set-up (repeatable)")
    b.add_argument("--keep", metavar="DIR", help="keep the streams built (and their truth) in DIR")
    b.add_argument("--json", action="store_true")
    b.set_defaults(handler=_bench_segment)
