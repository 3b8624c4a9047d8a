"""Headless live interpretation (Qt-free): ``signdesk live [--camera N | --camera-file VIDEO]``.

The same path as the Live tab, without a window: a capture thread (downscaling once, and keeping a
copy of each frame at the model's size) → a bounded ring → the segmenter thread → this thread, which
interprets each sign and prints it as soon as it is recognised: a line, or a JSON object per line
(start, end, text, score, candidates, latency). Other tools use it for live captions, and the tests
drive the live path end to end on real clips with it.

Signs wait in a short queue while the model works; when the model falls behind by more than
``QUEUE_SIZE`` signs the oldest waiting one is dropped (and counted on stderr), so the captions stay
live instead of lagging further and further.

With sentences on (``--sentences`` or the setting ``sentences.enabled``), the signs since the last
pause are also written as one English sentence (``signdesk.sentence_line``): a line starting with
``»``, or a JSON object with a ``sentence`` key. A sentence is written only while no sign waits, and
a sign that arrives meanwhile cuts it short (it is written again at the next rest).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import threading
import time
from collections import deque
from typing import Any

from signdesk.errors import SignDeskError

log = logging.getLogger(__name__)

QUEUE_SIZE = 4


class ClipQueue:
    """Finished clips from the segmenter thread to the interpreting thread; bounded, oldest dropped."""

    def __init__(self, size: int = QUEUE_SIZE) -> None:
        self._clips: deque = deque(maxlen=size)
        self._cond = threading.Condition()
        self.dropped = 0

    def put(self, clip) -> None:
        with self._cond:
            if len(self._clips) == self._clips.maxlen:
                self.dropped += 1
            self._clips.append(clip)
            self._cond.notify_all()

    def get(self, timeout: float) -> Any | None:
        with self._cond:
            self._cond.wait_for(lambda: bool(self._clips), timeout)
            return self._clips.popleft() if self._clips else None

    def __len__(self) -> int:
        with self._cond:
            return len(self._clips)


def _source_factory(args: argparse.Namespace):
    from signdesk.video.camera import OpenCVCamera, VideoFileSource

    if args.camera_file:
        from signdesk.video.decode import probe_video

        probe_video(args.camera_file)  # a missing or damaged file fails before the model loads
        return lambda: VideoFileSource(args.camera_file, loop=not args.once)
    if args.once:
        raise SignDeskError("--once plays a video file once: use it with --camera-file VIDEO")
    return lambda: OpenCVCamera(args.camera)


def _settings(args: argparse.Namespace):
    from signdesk.engine.options import settings_from_args

    return settings_from_args(args, {"live.threshold": args.threshold, "live.sensitivity": args.sensitivity,
                                     "sentences.enabled": getattr(args, "sentences", None),
                                     "sentences.pause_seconds": getattr(args, "pause", None)})


def interpret_clip(interpreter, clip, threshold: float):
    """One finished live clip → a ``SignResult`` (the transcript row ``transcribe`` prints too)."""
    from signdesk.transcribe import SignResult, SignSpan
    from signdesk.transcript import candidates_of

    frames = clip.sample(int(interpreter.num_frames))
    started = time.monotonic()
    result = interpreter.interpret_frames(frames)
    candidates = candidates_of(result)
    timings = dict(getattr(result, "timings_ms", {}) or {})
    timings["model"] = (time.monotonic() - started) * 1000
    timings["latency"] = (time.monotonic() - clip.last_frame_t) * 1000  # end of the sign → its word
    span = SignSpan(0, clip.start_seq, clip.end_seq, clip.start_s, clip.end_s, clip.motion_id)
    return SignResult(span, str(result.text).strip(), candidates[0][1] if candidates else None, candidates, timings)


def _line(result, threshold: float, as_json: bool) -> str:
    from signdesk.transcribe import format_line

    if not as_json:
        return format_line(result, threshold)
    row = result.as_dict(threshold)
    row.pop("index", None)
    row = {"start": row.pop("start_s"), "end": row.pop("end_s"), **row,
           "motion": result.span.motion_id,
           "latency_ms": round(result.timings_ms["latency"], 1), "model_ms": round(result.timings_ms["model"], 1)}
    return json.dumps(row, ensure_ascii=False)


def _sentence_line(sentence, transcript, as_json: bool) -> str:
    from signdesk.transcribe import format_sentence

    glosses = transcript.words_line(sentence.entries).strip()
    if not as_json:
        return format_sentence(sentence, glosses)
    row = {"start": round(sentence.start_s, 3), "end": round(sentence.end_s, 3),
           "sentence": sentence.text if sentence.ready else "", "glosses": [e.text for e in sentence.entries],
           "model_ms": round(sentence.timings_ms.get("total", 0.0), 1)}
    if sentence.error:
        row["error"] = sentence.error
    return json.dumps(row, ensure_ascii=False)


class _Sentences:
    """The headless live mode's sentence line: a transcript grouped at pauses, written between signs."""

    def __init__(self, interpreter, settings, threshold: float, as_json: bool) -> None:
        from signdesk.engine.sentences import SentenceMaker, glosses_of
        from signdesk.transcript import Transcript

        self.transcript = Transcript(threshold)
        self.line = self.transcript.use_sentences(float(settings["sentences.pause_seconds"]))
        self.make = SentenceMaker(interpreter, settings["sentences.max_new_tokens"]).make
        self.glosses_for = lambda sentence: glosses_of(sentence.entries, self.transcript.is_sure)
        self.as_json = as_json
        self.last_sign_t = 0.0  # time.monotonic() when the last sign ended

    def sign(self, result, clip) -> None:
        self.last_sign_t = max(self.last_sign_t, clip.last_frame_t or time.monotonic())
        span = result.span
        self.transcript.add(result.text, result.score, result.candidates, span.start_s, span.end_s, span.motion_id)

    def write(self, should_stop=None, *, resting: bool = False) -> None:
        """Write what is due (and, ``resting``, the open sentence once the signer has rested long enough)."""
        from signdesk.transcribe import write_pending

        if resting and self.last_sign_t:
            self.line.rest(time.monotonic() - self.last_sign_t)
        for sentence in write_pending(self.line, self.make, self.glosses_for, should_stop=should_stop):
            print(_sentence_line(sentence, self.transcript, self.as_json), flush=True)

    def finish(self) -> None:
        self.line.finish()
        self.write()


def run_live(args: argparse.Namespace) -> int:
    from signdesk.engine.loader import open_interpreter
    from signdesk.transcribe import _stderr_progress
    from signdesk.video.camera import DEFAULT_RING_CAPACITY, CaptureThread, FrameRing
    from signdesk.video.segment import SegmenterConfig, SegmentThread

    factory = _source_factory(args)
    settings = _settings(args)
    threshold = float(settings["live.threshold"])
    interpreter = open_interpreter(settings, progress=_stderr_progress(args.verbose), allow_download=False)
    sentences = _Sentences(interpreter, settings, threshold, args.json) if settings["sentences.enabled"] else None

    queue = ClipQueue()
    ring = FrameRing(DEFAULT_RING_CAPACITY)
    failure: list[str] = []

    def on_event(event) -> None:
        if event.state == "failed":
            failure.append(event.message)
        if event.state in {"retrying", "failed"} or args.verbose:
            print(f"signdesk: camera {event.state}: {event.message}".rstrip(": "), file=sys.stderr, flush=True)

    config = SegmenterConfig.from_settings(settings)
    capture = CaptureThread(factory, ring, clip_size=tuple(interpreter.frame_size), on_event=on_event)
    segment = SegmentThread(ring, config.build(30.0), queue.put)
    segment.start()
    capture.start()
    fps_known = False
    last: tuple[int | None, str] | None = None
    printed = 0
    try:
        while True:
            if not fps_known and capture.source_fps:  # size the segmenter's windows for the real rate
                segment.set_segmenter(config.build(capture.source_fps))
                fps_known = True
            clip = queue.get(timeout=0.1)
            if clip is None and sentences is not None and segment.is_alive() and not segment.segmenter.signing:
                # the signer rests: write what is due; a sign that comes meanwhile cuts it short
                sentences.write(lambda: len(queue) > 0, resting=True)
            if clip is None:
                if not segment.is_alive():  # the source ended (or failed) and every frame was segmented
                    final = segment.segmenter.flush()
                    if final is None and not len(queue):
                        break
                    if final is not None:
                        queue.put(final)
                continue
            try:
                result = interpret_clip(interpreter, clip, threshold)
            except Exception as exc:  # one bad sign must not end the captions
                if not isinstance(exc, SignDeskError):
                    log.exception("interpreting a live sign failed")
                print(f"signdesk: sign at {clip.start_s:.1f} s not interpreted: {exc}", file=sys.stderr, flush=True)
                continue
            key = (clip.motion_id, result.text)
            if key == last:  # the same word from one long motion cut in pieces: once is enough
                continue
            last = key
            print(_line(result, threshold, args.json), flush=True)
            printed += 1
            if sentences is not None:
                sentences.sign(result, clip)
                if not len(queue):  # a pause before this sign may have ended a sentence
                    sentences.write(lambda: len(queue) > 0)
        if sentences is not None:  # the stream ended: the last sentence ends with it
            sentences.finish()
    finally:
        capture.stop()
        segment.stop()
        capture.join(2.0)
        segment.join(2.0)
    if queue.dropped:
        print(f"signdesk: {queue.dropped} sign(s) skipped: the model was slower than the signing",
              file=sys.stderr)
    if failure:
        raise SignDeskError(failure[0])
    if not printed and not args.json:
        print("No signs found.", file=sys.stderr)
    return 0


def register(subparsers: Any) -> None:
    from signdesk.engine.options import add_model_options
    from signdesk.sentence_line import add_sentence_options

    p = subparsers.add_parser(
        "live", help="live interpretation without a window: one line (or JSON object) per sign",
        description="Interpret a camera (or a video file played at its own frame rate, as a camera) without a "
                    "window, printing each sign as it is recognised.")
    source = p.add_mutually_exclusive_group()
    source.add_argument("--camera", type=int, default=0, metavar="N", help="camera number (default 0)")
    source.add_argument("--camera-file", metavar="VIDEO", help="play this video file as the camera (looped)")
    p.add_argument("--once", action="store_true", help="play --camera-file once, then end")
    p.add_argument("--json", action="store_true",
                   help="one JSON object per sign: start, end, text, score, candidates, latency_ms, ...")
    p.add_argument("--threshold", type=float, metavar="P", help="below this confidence a sign is 'not sure'")
    p.add_argument("--sensitivity", type=float, metavar="S", help="1–10: how little motion starts a sign")
    add_sentence_options(p)
    add_model_options(p)
    p.set_defaults(handler=lambda args: run_live(args))

