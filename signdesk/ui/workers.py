"""Background threads the window talks to through signals: the engine thread and a small task runner.

Both are plain ``threading.Thread`` objects owned by a ``QObject`` whose signals carry results back
to the GUI thread (a signal emitted from another thread reaches a GUI-thread receiver as a queued
call). Widgets are never touched from these threads.

The engine thread is the only thread that touches the interpreter. It always works on the newest
request (napari's status checker idea): a model (re)load first, then adapter/mode changes in order,
then the newest live clip (a clip that waited while a newer one arrived is dropped: *latest wins*,
never a growing queue), then a sentence of the sentence line (``request_sentence``: the newest
request per sentence; a live clip or any other request that arrives while a sentence is written cuts
it short, and it is written again afterwards), then one step of a file job (a generator: each step is
a progress report and a cancel point, so live clips keep flowing during a long file).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal, Slot

from signdesk.engine.protocol import InterpreterProtocol
from signdesk.errors import ModelError, SignDeskError

if TYPE_CHECKING:
    from signdesk.config import Settings
    from signdesk.video.segment import SignClip

log = logging.getLogger(__name__)

#: ``sentence_maker(interpreter, settings)`` → ``make(glosses, should_stop=...)`` (``SentenceMaker.make``).
SentenceMakerFactory = Callable[[Any, Any], Callable[..., Any]]


def default_sentence_maker(interpreter: Any, settings: Settings) -> Callable[..., Any]:
    """The engine's sentence writer for a loaded interpreter, built on the engine thread (it imports torch)."""
    from signdesk.engine.sentences import SentenceMaker

    return SentenceMaker(interpreter, settings["sentences.max_new_tokens"]).make


#: Loader signature: ``open_interpreter(settings, progress=..., allow_download=...)``.
Loader = Callable[..., InterpreterProtocol]


def default_loader(settings: Settings, progress: Callable[[str, float, str], None],
                   allow_download: bool) -> InterpreterProtocol:
    """The engine's loader, imported on the engine thread: torch is never imported by the GUI thread."""
    from signdesk.engine.loader import open_interpreter

    return open_interpreter(settings, progress=progress, allow_download=allow_download)


def _frame_size(interp: InterpreterProtocol) -> tuple[int, int]:
    width, height = interp.frame_size
    return int(width), int(height)


def _profile_of(interp: InterpreterProtocol) -> dict[str, Any]:
    return {"profile": str(interp.profile.name), "tokens_per_frame": int(interp.tokens_per_frame)}


@dataclass(frozen=True)
class EngineInfo:
    """What the status bar shows about the loaded model."""

    model_id: str
    adapter: str | None
    device: str
    dtype: str
    num_frames: int
    mode: str
    load_s: float = 0.0
    frame_size: tuple[int, int] | None = None  # (width, height) the model's frames are resized to
    profile: str = ""  # the visual budget profile in use (quality | balanced | fast), "auto" resolved
    tokens_per_frame: int = 0


@dataclass
class ClipOutcome:
    """An interpreted live clip."""

    text: str
    score: float | None
    candidates: list[tuple[str, float]]
    model_ms: float  # the interpreter's own time (Result.timings_ms["total"] or measured)
    started_t: float  # time.monotonic() when the engine took the clip
    finished_t: float  # ... and when it was done
    timings_ms: dict[str, float] = field(default_factory=dict)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, SignDeskError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def is_missing_model(exc: BaseException) -> bool:
    """A ModelError that the download would fix (its message names the download command)."""
    return isinstance(exc, ModelError) and "model download" in str(exc)


def resolve_glossary(value: str | list[str] | None) -> list[str] | None:
    """A glossary setting (packaged name or file) as its words, for ``Interpreter.configure``.

    A list is already the words (an adapter's own signs).
    """
    from signdesk.engine.vocab import resolve_glossary as engine_resolve

    return list(value) if isinstance(value, list) else engine_resolve(value)


class EngineWorker(QObject):
    """The one persistent inference thread. Thread-safe request methods; results come back as signals."""

    load_progressed = Signal(str, float, str)
    """(stage, fraction 0..1 or -1 when unknown, message) while the model loads or downloads."""
    loaded = Signal(object)
    """(EngineInfo) the model is ready; live clips and file jobs are served from now on."""
    load_failed = Signal(str, bool)
    """(message, model_missing) loading failed; ``model_missing`` means the download would fix it."""
    reconfigured = Signal(object)
    """(EngineInfo) an adapter or mode/glossary change took effect without reloading the model."""
    reconfigure_failed = Signal(str)
    """(message) an adapter or mode/glossary change was refused; the previous one stays."""
    clip_started = Signal(object)
    """(SignClip) the engine took this clip (the live view shows "Interpreting…")."""
    clip_interpreted = Signal(object, object)
    """(SignClip, ClipOutcome) a live clip was interpreted."""
    clip_failed = Signal(object, str)
    """(SignClip, message) interpreting one live clip failed; the stream goes on."""
    file_progressed = Signal(str, int, int, str)
    """(stage, done, total, message) a file job moved on."""
    file_sign_interpreted = Signal(object)
    """(SignResult) one sign of the file was interpreted (or failed: ``.error``)."""
    file_finished = Signal(str, bool)
    """(path, cancelled) the file job ended; after ``file_failed`` too."""
    file_failed = Signal(str, str)
    """(path, message) the file job could not go on (a damaged video, no model)."""
    sentence_written = Signal(object, object, str, object)
    """(key, glosses, text, timings_ms) a sentence of the sentence line was written from these glosses."""
    sentence_failed = Signal(object, object, str)
    """(key, glosses, message) writing a sentence failed; the glosses stand alone."""

    def __init__(self, loader: Loader | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._loader = loader or default_loader
        self._cond = threading.Condition()
        self._load_request: tuple[Settings, bool] | None = None
        self._ops: deque[tuple[str, dict[str, Any]]] = deque(maxlen=32)
        self._clip: SignClip | None = None
        self._job: Iterator[Any] | None = None
        self._job_path = ""
        self._job_cancel = False
        self._stopping = False
        self._busy = False
        self.interpreter: InterpreterProtocol | None = None
        self.info: EngineInfo | None = None
        self.clips_dropped = 0  # clips replaced by a newer one before the engine got to them
        self.clips_done = 0
        # the sentence line: requests by key, oldest first (a newer request for a key replaces its older one)
        self._sentences: OrderedDict[Any, tuple[tuple[str, ...], list[Any]]] = OrderedDict()
        self.sentence_maker: SentenceMakerFactory = default_sentence_maker
        self._make_sentence: Callable[..., Any] | None = None
        self._settings: Settings | None = None
        self.sentences_interrupted = 0  # sentences cut short for a live sign (and written again later)
        self._thread = threading.Thread(target=self._run, name="signdesk-engine", daemon=True)

    # ---------------------------------------------------------------- requests (any thread)
    def start(self) -> None:
        if not self._thread.is_alive() and not self._stopping:
            self._thread.start()

    @property
    def ready(self) -> bool:
        return self.interpreter is not None

    @property
    def busy(self) -> bool:
        return self._busy

    def load(self, settings: Settings, *, allow_download: bool = False) -> None:
        """(Re)load the model; a pending load is replaced, a running file job is cancelled."""
        with self._cond:
            self._load_request = (settings, allow_download)
            self._clip = None
            if self._job is not None:
                self._job_cancel = True
            self._cond.notify_all()

    def set_adapter(self, path: str | None) -> None:
        self._queue_op("adapter", {"path": path})

    def configure(self, **options: Any) -> None:
        """``Interpreter.configure`` options: mode, glossary (setting value), top_k, num_frames."""
        self._queue_op("configure", options)

    def _queue_op(self, kind: str, options: dict[str, Any]) -> None:
        with self._cond:
            self._ops.append((kind, options))
            self._cond.notify_all()

    def submit_clip(self, clip: SignClip) -> bool:
        """Hand over a live clip (latest wins). False when no model is ready to take it."""
        with self._cond:
            if self.interpreter is None or self._load_request is not None:
                return False
            if self._clip is not None:
                self.clips_dropped += 1
            self._clip = clip
            self._cond.notify_all()
        return True

    def request_sentence(self, key: Any, glosses: tuple[str, ...], rows: list[Any]) -> bool:
        """Write the sentence ``key`` from ``rows`` ((gloss, alternatives) pairs; ``glosses`` names them for
        the answer). Served after live clips; False when no model is ready."""
        with self._cond:
            if self.interpreter is None or self._load_request is not None:
                return False
            self._sentences.pop(key, None)
            self._sentences[key] = (tuple(glosses), list(rows))
            self._cond.notify_all()
        return True

    def cancel_sentences(self, prefix: Any = None) -> None:
        """Forget waiting sentence requests (all, or those whose key starts with ``prefix``)."""
        with self._cond:
            for key in [k for k in self._sentences if prefix is None or (isinstance(k, tuple) and k[0] == prefix)]:
                del self._sentences[key]

    def sentence_settings_changed(self) -> None:
        """``sentences.*`` settings changed: the next sentence builds its writer anew."""
        self._make_sentence = None

    def _sign_waiting(self) -> bool:
        """A sentence in progress stops for this: a live clip, a load, an adapter or mode change, stopping."""
        return self._clip is not None or self._load_request is not None or bool(self._ops) or self._stopping

    def start_file_job(self, path: str, steps: Callable[[InterpreterProtocol], Iterator[Any]]) -> bool:
        """Run ``steps(interpreter)`` (a generator) one step at a time; False when busy or not ready."""
        with self._cond:
            if self.interpreter is None or self._job is not None:
                return False
            self._job_path = path
            self._job_cancel = False
            self._job = _LazyJob(steps)
            self._cond.notify_all()
        return True

    def cancel_file_job(self) -> None:
        with self._cond:
            if self._job is not None:
                self._job_cancel = True
                self._cond.notify_all()

    @property
    def file_job_running(self) -> bool:
        return self._job is not None

    def stop(self) -> None:
        """Ask the thread to end after the current step (an interpretation in progress finishes first)."""
        with self._cond:
            self._stopping = True
            self._job_cancel = True
            self._cond.notify_all()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the thread; True when it has ended."""
        if self._thread.is_alive():
            self._thread.join(timeout)
        return not self._thread.is_alive()

    # ---------------------------------------------------------------- the thread
    def _has_work(self) -> bool:
        return (
            self._stopping or self._load_request is not None or bool(self._ops)
            or (self.interpreter is not None and self._clip is not None)
            or (self.interpreter is not None and bool(self._sentences))
            or self._job is not None
        )

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(self._has_work)
                if self._stopping:
                    break
                load, op, clip, job, sentence = None, None, None, None, None
                if self._load_request is not None:
                    load, self._load_request = self._load_request, None
                elif self._ops:
                    op = self._ops.popleft()
                elif self.interpreter is not None and self._clip is not None:
                    clip, self._clip = self._clip, None
                elif self.interpreter is not None and self._sentences:
                    sentence = self._sentences.popitem(last=False)
                elif self._job is not None:
                    job = self._job
                self._busy = True
            try:
                if load is not None:
                    self._do_load(*load)
                elif op is not None:
                    self._do_op(*op)
                elif clip is not None:
                    self._do_clip(clip)
                elif sentence is not None:
                    self._do_sentence(sentence[0], *sentence[1])
                elif job is not None:
                    self._do_job_step(job)
            except Exception:  # belt and braces: this thread must survive anything
                log.exception("engine thread step failed")
            finally:
                self._busy = False
        self._close_job(cancelled=True)
        self.interpreter = None

    def _do_load(self, settings: Settings, allow_download: bool) -> None:
        self._close_job(cancelled=True)
        self.interpreter = None  # free the old model before loading the new one
        self._make_sentence = None
        with self._cond:
            self._sentences.clear()  # asked again for the new model (the tabs resend on ``loaded``)
        self.info = None
        last_emit = [0.0]

        def progress(stage: str, fraction: float | None, message: str) -> None:
            now = time.monotonic()
            done = fraction is not None and fraction >= 1.0
            if now - last_emit[0] >= 0.05 or done or fraction is None:  # throttle: a download reports often
                last_emit[0] = now
                self.load_progressed.emit(str(stage), float(fraction if fraction is not None else -1.0), str(message))

        t0 = time.monotonic()
        self.load_progressed.emit("load", -1.0, f"Loading {settings['model.id']}…")
        try:
            interpreter = self._loader(settings, progress=progress, allow_download=allow_download)
        except Exception as exc:
            if not isinstance(exc, SignDeskError):
                log.exception("loading the model failed")
            self.load_failed.emit(_describe(exc), is_missing_model(exc))
            return
        with self._cond:
            superseded = self._load_request is not None
        if superseded:  # another load was asked for meanwhile: that one wins
            return
        self.interpreter = interpreter
        self._settings = settings
        self.info = self._info(settings, time.monotonic() - t0)
        self.loaded.emit(self.info)

    def _info(self, settings: Settings, load_s: float = 0.0) -> EngineInfo:
        interp = self.interpreter
        assert interp is not None
        adapter, choice = interp.adapter, interp.loaded.device
        return EngineInfo(
            # the model that loaded: an adapter may have brought its own base model (a stand-in without
            # a model id or device, as in the window tests, shows the settings')
            model_id=str(interp.loaded.model_id or settings["model.id"]),
            adapter=str(adapter) if adapter else None,
            device=str(choice.name or settings["device"]),
            dtype=str(choice.dtype),
            num_frames=int(interp.num_frames),
            mode=str(interp.mode),
            load_s=load_s,
            frame_size=_frame_size(interp),
            **_profile_of(interp),
        )

    def _do_op(self, kind: str, options: dict[str, Any]) -> None:
        interp = self.interpreter
        if interp is None:
            return  # the next load applies the settings anyway
        try:
            if kind == "adapter":
                interp.set_adapter(options["path"])
            else:
                options = dict(options)
                if "glossary" in options:
                    options["glossary"] = resolve_glossary(options["glossary"])
                interp.configure(**options)
        except Exception as exc:
            if not isinstance(exc, SignDeskError):
                log.exception("changing %s failed", kind)
            self.reconfigure_failed.emit(_describe(exc))
            return
        if self.info is not None:
            adapter = interp.adapter
            self.info = EngineInfo(
                self.info.model_id, str(adapter) if adapter else None, self.info.device, self.info.dtype,
                int(interp.num_frames), str(interp.mode), self.info.load_s,
                _frame_size(interp),  # a profile (or an adapter's) may change it
                **_profile_of(interp),
            )
            self.reconfigured.emit(self.info)

    def _do_clip(self, clip: SignClip) -> None:
        import numpy as np

        from signdesk.transcript import candidates_of

        interp = self.interpreter
        assert interp is not None
        started = time.monotonic()
        self.clip_started.emit(clip)
        try:
            if not clip.frames:
                raise SignDeskError("the clip has no frames")
            frames = clip.sample(int(interp.num_frames))  # as read_clip samples a file
            result = interp.interpret_frames(np.ascontiguousarray(frames))
        except Exception as exc:
            if not isinstance(exc, SignDeskError):
                log.exception("interpreting a live clip failed")
            self.clip_failed.emit(clip, _describe(exc))
            return
        finished = time.monotonic()
        timings = dict(result.timings_ms)
        candidates = candidates_of(result)
        outcome = ClipOutcome(
            text=str(result.text).strip(),
            score=candidates[0][1] if candidates else None,
            candidates=candidates,
            model_ms=float(timings.get("total", (finished - started) * 1000)),
            started_t=started,
            finished_t=finished,
            timings_ms=timings,
        )
        self.clips_done += 1
        self.clip_interpreted.emit(clip, outcome)

    def _do_sentence(self, key: Any, glosses: tuple[str, ...], rows: list[Any]) -> None:
        from signdesk.engine.sentences import SentenceInterrupted

        try:
            if self._make_sentence is None:
                self._make_sentence = self.sentence_maker(self.interpreter, self._settings)
            output = self._make_sentence(rows, should_stop=self._sign_waiting)
        except SentenceInterrupted:  # a sign (or another request) came first: write it again afterwards
            self.sentences_interrupted += 1
            with self._cond:
                if key not in self._sentences and self.interpreter is not None:
                    self._sentences[key] = (glosses, rows)
                    self._sentences.move_to_end(key, last=False)
            return
        except Exception as exc:
            if not isinstance(exc, SignDeskError):
                log.exception("writing a sentence failed")
            self.sentence_failed.emit(key, glosses, _describe(exc))
            return
        self.sentence_written.emit(key, glosses, str(output.text), dict(output.timings_ms))

    def _do_job_step(self, job: _LazyJob) -> None:
        from signdesk.transcribe import SignResult, TranscribeProgress

        if self._job_cancel:
            self._close_job(cancelled=True)
            return
        try:
            item = job.next(self.interpreter)
        except StopIteration:
            self._close_job(cancelled=False)
            return
        except Exception as exc:
            if not isinstance(exc, SignDeskError):
                log.exception("file job failed")
            path = self._job_path
            self._job = None
            self.file_failed.emit(path, _describe(exc))
            self.file_finished.emit(path, False)
            return
        if isinstance(item, TranscribeProgress):
            self.file_progressed.emit(item.stage, item.done, item.total, item.message)
        elif isinstance(item, SignResult):
            self.file_sign_interpreted.emit(item)

    def _close_job(self, *, cancelled: bool) -> None:
        job, self._job = self._job, None
        if job is None:
            return
        job.close()
        self.file_finished.emit(self._job_path, cancelled)


class _LazyJob:
    """A file job's generator, created on the engine thread the first time it steps."""

    def __init__(self, steps: Callable[[InterpreterProtocol], Iterator[Any]]) -> None:
        self._steps = steps
        self._gen: Iterator[Any] | None = None

    def next(self, interpreter: InterpreterProtocol) -> Any:
        if self._gen is None:
            self._gen = self._steps(interpreter)
        return next(self._gen)

    def close(self) -> None:
        close = getattr(self._gen, "close", None)
        if close is not None:
            try:
                close()
            except Exception:
                log.exception("closing a file job failed")


# ------------------------------------------------------------------------------------------ task runner


class TaskRunner(QObject):
    """Small background tasks for the GUI (listing cameras, reading a preview frame), anki-style.

    ``run(key, fn, on_done, on_failed)``: ``fn`` runs on one persistent thread; ``on_done(result)`` or
    ``on_failed(message)`` runs on the GUI thread. At most one task per key waits: a newer one with
    the same key replaces it (latest wins), so nothing queues up however fast the user clicks.
    """

    _finished = Signal(object, object)
    """(callback, value) internal: deliver a result to the GUI thread."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._cond = threading.Condition()
        self._pending: dict[str, tuple[Callable[[], Any], Callable[[Any], None] | None,
                                       Callable[[str], None] | None]] = {}
        self._stopping = False
        self._finished.connect(self._deliver)
        self._thread = threading.Thread(target=self._run, name="signdesk-tasks", daemon=True)
        self._thread.start()

    def run(self, key: str, fn: Callable[[], Any], on_done: Callable[[Any], None] | None = None,
            on_failed: Callable[[str], None] | None = None) -> None:
        with self._cond:
            if self._stopping:
                return
            self._pending.pop(key, None)
            self._pending[key] = (fn, on_done, on_failed)
            self._cond.notify_all()

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._pending.clear()
            self._cond.notify_all()

    def join(self, timeout: float | None = None) -> bool:
        self._thread.join(timeout)
        return not self._thread.is_alive()

    @Slot(object, object)
    def _deliver(self, callback: Callable[[Any], None] | None, value: Any) -> None:
        if callback is not None and not self._stopping:
            callback(value)

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._stopping or bool(self._pending))
                if self._stopping:
                    return
                key = next(iter(self._pending))
                fn, on_done, on_failed = self._pending.pop(key)
            try:
                value = fn()
            except Exception as exc:
                if not isinstance(exc, SignDeskError):
                    log.exception("background task %s failed", key)
                self._finished.emit(on_failed, _describe(exc))
            else:
                self._finished.emit(on_done, value)
