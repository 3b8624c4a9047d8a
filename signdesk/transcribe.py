"""File mode (Qt-free): find the signs in a video, interpret each one, report times, top-k and confidence.

The work is a generator: every ``yield`` is a progress report or a finished sign, and a point where
the caller may stop (the GUI's Cancel button simply stops iterating). ``signdesk transcribe`` and the
File tab both run it, so they find the same signs.

Signs are found with the live view's motion segmenter, run over small copies of every frame; each
sign is then decoded again at full quality, sampled and interpreted exactly as training and
evaluation do (``Interpreter.interpret_video`` with the sign's frame range). A video in which no
separate signs stand out (a clip of a single sign that starts moving at once) is taken as one sign.
A still image (PNG, JPEG, ...) has no motion to segment: it is one sign, interpreted as
``signdesk interpret`` interprets it.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from signdesk.errors import SignDeskError, VideoError
from signdesk.transcript import Transcript, candidates_of, short_time
from signdesk.video.decode import VideoInfo, is_still_image, probe_image  # noqa: F401 - re-exported
from signdesk.video.segment import ANALYSIS_WIDTH, SegmenterConfig

if TYPE_CHECKING:
    from signdesk.config import Settings
    from signdesk.engine.protocol import InterpreterProtocol
    from signdesk.sentence_line import Sentence, SentenceLine

log = logging.getLogger(__name__)

#: Frames between progress reports while finding signs.
REPORT_EVERY = 15


@dataclass(frozen=True)
class SignSpan:
    """Where one sign lies in the file: 0-based inclusive frame numbers and seconds."""

    index: int
    start_frame: int
    end_frame: int
    start_s: float
    end_s: float
    motion_id: int | None = None


@dataclass(frozen=True)
class TranscribeProgress:
    stage: str  # "segment" (finding signs) or "interpret"
    done: int
    total: int
    message: str = ""

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 0.0


@dataclass
class SignResult:
    span: SignSpan
    text: str = ""
    score: float | None = None
    candidates: list[tuple[str, float]] = field(default_factory=list)
    timings_ms: dict[str, float] = field(default_factory=dict)
    error: str | None = None  # this sign could not be interpreted; the others still are

    def as_dict(self, threshold: float | None = None) -> dict[str, Any]:
        row: dict[str, Any] = {
            "index": self.span.index, "start_s": round(self.span.start_s, 3), "end_s": round(self.span.end_s, 3),
            "start_frame": self.span.start_frame, "end_frame": self.span.end_frame,
            "text": self.text, "score": self.score,
            "candidates": [{"text": t, "score": s} for t, s in self.candidates],
        }
        if threshold is not None:
            row["not_sure"] = self.score is not None and self.score < threshold
        if self.error:
            row["error"] = self.error
        return row



def _image_sign(path: str | os.PathLike[str]) -> Iterator[TranscribeProgress | SignSpan]:
    probe_image(path)  # a damaged image fails here, as a damaged video does in find_signs
    # the one frame timed as find_signs times a one-frame video (at its fallback 25 fps)
    yield SignSpan(0, 0, 0, 0.0, 1 / 25.0, None)
    yield TranscribeProgress("segment", 1, 1, "Finding signs: done")


def find_signs(path: str | os.PathLike[str],
               config: SegmenterConfig | None = None) -> Iterator[TranscribeProgress | SignSpan]:
    """Decode every frame once (small), run the motion segmenter, yield progress and each sign found."""
    if is_still_image(path):  # no motion to segment: the whole image is one sign
        yield from _image_sign(path)
        return
    import cv2

    from signdesk.video.decode import probe_video

    info = probe_video(path)  # raises VideoError for a missing, empty or damaged file
    config = config or SegmenterConfig()
    fps = info.fps if info.fps and info.fps > 0 else 25.0
    segmenter = replace(config, mode="motion").build(fps, keep_frames=False)  # files: one span per sign
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise VideoError(f"{path}: not a readable video (damaged, truncated or not a video file)")
    total = info.frame_count
    found = 0
    index = -1
    try:
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            index += 1
            height, width = frame.shape[:2]
            small = cv2.resize(frame, (ANALYSIS_WIDTH, max(1, round(height * ANALYSIS_WIDTH / width))),
                               interpolation=cv2.INTER_AREA)
            clip = segmenter.feed(cv2.cvtColor(small, cv2.COLOR_BGR2RGB), index / fps, index, t=0.0)
            if clip is not None:
                yield _span(found, clip, fps)
                found += 1
            if index % REPORT_EVERY == 0:
                yield TranscribeProgress("segment", min(index + 1, total), total,
                                         f"Finding signs: {short_time(index / fps)}")
    finally:
        cap.release()
    if index < 0:
        raise VideoError(f"{path}: no frame could be decoded (damaged or not a video file)")
    clip = segmenter.flush()
    if clip is not None:
        yield _span(found, clip, fps)
        found += 1
    if found == 0:  # no rest between signs: treat the whole video as one sign
        yield SignSpan(0, 0, index, 0.0, (index + 1) / fps, None)
    yield TranscribeProgress("segment", index + 1, index + 1, "Finding signs: done")


def _span(index: int, clip, fps: float) -> SignSpan:
    return SignSpan(index, clip.start_seq, clip.end_seq, clip.start_seq / fps, (clip.end_seq + 1) / fps, clip.motion_id)


def transcribe_steps(
    path: str | os.PathLike[str], interpreter: InterpreterProtocol, config: SegmenterConfig | None = None
) -> Iterator[TranscribeProgress | SignResult]:
    """Find the signs, then interpret each; yields progress and one ``SignResult`` per sign."""
    spans: list[SignSpan] = []
    for item in find_signs(path, config):
        if isinstance(item, SignSpan):
            spans.append(item)
        else:
            yield item
    total = len(spans)
    for i, span in enumerate(spans):
        yield TranscribeProgress("interpret", i, total, f"Interpreting sign {i + 1} of {total}")
        t0 = time.perf_counter()
        try:
            result = interpreter.interpret_video(str(path), frame_start=span.start_frame + 1,
                                                 frame_end=span.end_frame + 1)
        except SignDeskError as exc:
            yield SignResult(span, error=str(exc))
            continue
        except Exception as exc:  # an engine bug on one sign must not lose the others
            log.exception("interpreting sign %d of %s failed", i + 1, path)
            yield SignResult(span, error=f"{type(exc).__name__}: {exc}")
            continue
        candidates = candidates_of(result)
        score = candidates[0][1] if candidates else None
        timings = dict(result.timings_ms)
        timings.setdefault("total", (time.perf_counter() - t0) * 1000)
        yield SignResult(span, str(result.text).strip(), score, candidates, timings)
    yield TranscribeProgress("interpret", total, total, f"Interpreted {total} sign{'s' if total != 1 else ''}")


def results_to_transcript(results: list[SignResult], threshold: float, pause_s: float | None = None) -> Transcript:
    """The signs as a transcript; with ``pause_s``, grouped into sentences at pauses that long."""
    transcript = Transcript(threshold)
    transcript.use_sentences(pause_s)
    for r in results:
        if r.error is None:
            transcript.add(r.text, r.score, r.candidates, r.span.start_s, r.span.end_s, r.span.motion_id,
                           start_frame=r.span.start_frame, end_frame=r.span.end_frame)
    return transcript


def write_sentences(transcript: Transcript, make: Callable[..., Any]) -> None:
    """Write every sentence of a finished file's transcript (the last one ends with the file)."""
    from signdesk.engine.sentences import glosses_of

    assert transcript.sentences is not None
    transcript.sentences.finish()
    write_pending(transcript.sentences, make, lambda s: glosses_of(s.entries, transcript.is_sure))


def sentences_report(transcript: Transcript, results: list[SignResult]) -> list[dict[str, Any]]:
    """The sentences for ``--json``: their ``signs`` are indices into the report's ``signs``."""
    index_of: dict[tuple[int, int], int] = {}
    for r in results:
        index_of.setdefault((r.span.start_frame, r.span.end_frame), r.span.index)
    rows = {id(e): i for i, e in enumerate(transcript.entries)}
    report = transcript.sentences_json()
    for row in report:
        entries = [transcript.entries[i] for i in row["signs"]]
        row["signs"] = [index_of.get((e.meta.get("start_frame"), e.meta.get("end_frame")), rows[id(e)])
                        for e in entries]
    return report


# ------------------------------------------------------------------------------------------ writing sentences (CLI)
def write_pending(line: SentenceLine, make: Callable[..., Any], glosses_for: Callable[[Sentence], Any], *,
                  should_stop: Callable[[], bool] | None = None) -> list[Sentence]:
    """Write every pending sentence, oldest first, with ``make(glosses, should_stop=...)`` (a
    ``SentenceMaker.make``); returns those written or failed. When ``should_stop`` interrupts one
    (a sign is waiting) it stays pending and the rest wait too."""
    from signdesk.engine.sentences import SentenceInterrupted

    done = []
    for sentence in line.pending():
        sentence_id, glosses = line.request(sentence)
        try:
            output = make(glosses_for(sentence), should_stop=should_stop)
        except SentenceInterrupted:
            line.withdraw(sentence_id)
            break
        except SignDeskError as exc:
            done.append(line.fail(sentence_id, glosses, str(exc)))
            continue
        except Exception as exc:  # an engine bug on one sentence must not lose the signs
            log.exception("writing a sentence failed")
            done.append(line.fail(sentence_id, glosses, f"{type(exc).__name__}: {exc}"))
            continue
        done.append(line.fulfil(sentence_id, glosses, output.text, output.timings_ms))
    return [s for s in done if s is not None]


def format_sentence(sentence: Sentence, glosses: str) -> str:
    """One sentence on one line: times, the sentence (or why it failed), its glosses."""
    times = f"{short_time(sentence.start_s):>7} – {short_time(sentence.end_s):<7}"
    text = sentence.text if sentence.ready else f"(no sentence: {sentence.error or 'not written'})"
    return f"{times}  » {text}   [{glosses}]"


# ------------------------------------------------------------------------------------------ the command


def _stderr_progress(verbose: bool) -> Callable[[str, float, str], None]:
    def report(stage: str, fraction: float, message: str) -> None:
        if verbose or stage in {"download"}:
            print(f"[{stage} {fraction:4.0%}] {message}", file=sys.stderr, flush=True)

    return report


def format_line(result: SignResult, threshold: float) -> str:
    """One sign on one line: times, word, confidence, alternatives (or the error)."""
    span = result.span
    times = f"{short_time(span.start_s):>7} – {short_time(span.end_s):<7}"
    if result.error:
        return f"{times}  (failed: {result.error})"
    score = "   ?" if result.score is None else f"{result.score:4.2f}"
    flag = "  (not sure)" if result.score is not None and result.score < threshold else ""
    alternatives = ", ".join(f"{t} {s:.2f}" for t, s in result.candidates)
    return f"{times}  {result.text:<16} {score}{flag}   [{alternatives}]"


def run_transcribe(args) -> int:
    """``signdesk transcribe VIDEO [--srt FILE] [--json]``."""
    from signdesk.engine.options import settings_from_args
    from signdesk.video.decode import probe_video

    video = Path(args.video)
    settings = settings_from_args(args, {  # the model flags: engine/options.py
        "live.threshold": args.threshold, "sentences.enabled": getattr(args, "sentences", None),
        "sentences.pause_seconds": getattr(args, "pause", None)})

    # fail early, before the model loads, on a bad file; a still image is no video for probe_video
    info = probe_image(video) if is_still_image(video) else probe_video(video)
    srt = _srt_target(args.srt, video) if args.srt else None  # ... and on a place subtitles cannot go
    interpreter = open_interpreter_for(settings, verbose=args.verbose)
    threshold = float(settings["live.threshold"])
    results: list[SignResult] = []
    for item in transcribe_steps(video, interpreter, SegmenterConfig.from_settings(settings)):
        if isinstance(item, SignResult):
            results.append(item)
            if not args.json:
                print(format_line(item, threshold), flush=True)
        elif args.verbose:
            print(f"[{item.stage}] {item.message}", file=sys.stderr, flush=True)
    transcript = None
    if settings["sentences.enabled"]:
        from signdesk.engine.sentences import SentenceMaker

        transcript = results_to_transcript(results, threshold, float(settings["sentences.pause_seconds"]))
        write_sentences(transcript, SentenceMaker(interpreter, settings["sentences.max_new_tokens"]).make)
        if not args.json:
            for sentence in transcript.sentences.sentences:
                print(format_sentence(sentence, transcript.words_line(sentence.entries).strip()), flush=True)
    if srt is not None:
        (transcript or results_to_transcript(results, threshold)).save(srt)
        if not args.json:
            print(f"Subtitles written to {srt}", file=sys.stderr)
    if args.json:
        report = {
            "video": str(video), "fps": info.fps, "frames": info.frame_count,
            "model": _model_id(interpreter, settings), "adapter": settings["model.adapter"], "threshold": threshold,
            "signs": [r.as_dict(threshold) for r in results],
        }
        if transcript is not None:
            report["sentences"] = sentences_report(transcript, results)
        print(json.dumps(report, indent=2, ensure_ascii=False))
    elif not results:
        print("No signs found.", file=sys.stderr)
    return 1 if results and all(r.error for r in results) else 0


def _srt_target(path: str, video: Path) -> Path:
    """The --srt file, checked before the model loads: one line naming what is wrong, never a traceback."""
    from signdesk.transcript import SaveError, check_save_path

    target = check_save_path(path)
    if target.exists() and target.resolve() == video.resolve():
        raise SaveError(f"{target}: that is the video itself; give the subtitles another name, e.g. "
                        f"{video.with_suffix('.srt')}")
    return target


def _model_id(interpreter: InterpreterProtocol, settings: Settings) -> str:
    """The model actually loaded: an adapter may have brought its own base model."""
    return str(interpreter.loaded.model_id or settings["model.id"])


def open_interpreter_for(settings: Settings, *, verbose: bool = False) -> InterpreterProtocol:
    """The engine's loader, imported here (it pulls in torch)."""
    from signdesk.engine.loader import open_interpreter

    return open_interpreter(settings, progress=_stderr_progress(verbose), allow_download=False)


def read_frame(path: str | os.PathLike[str], index: int, max_side: int = 640):
    """One frame (RGB, downscaled) of a video, for the File tab's preview of a word's moment."""
    import cv2

    from signdesk.video.camera import downscale

    cap = cv2.VideoCapture(str(path))
    try:
        if not cap.isOpened():
            raise VideoError(f"{path}: not a readable video")
        if index > 0:
            cap.set(cv2.CAP_PROP_POS_FRAMES, index)
        ok, frame = cap.read()
        if not ok or frame is None:
            raise VideoError(f"{path}: cannot decode frame {index}")
        return downscale(frame, max_side, bgr=True)
    finally:
        cap.release()
