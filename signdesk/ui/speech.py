"""Speaking words aloud with QtTextToSpeech, when this machine has a speech engine.

QtTextToSpeech is imported lazily, after the window is up: on Linux the module needs PulseAudio's
client library (Debian ``libpulse0``) to import at all, and a speech engine plugin (speech-dispatcher,
flite) to say anything. Without either, ``available`` is False and the UI hides its speak controls.
"""

from __future__ import annotations

import logging
from collections import deque

from PySide6.QtCore import QObject, Signal, Slot

log = logging.getLogger(__name__)

#: Words waiting to be spoken at most; a backlog of speech is worse than skipping words.
MAX_QUEUED = 8


class Speaker(QObject):
    """Says words in order, one at a time; drops the oldest waiting words past ``MAX_QUEUED``."""

    availability_changed = Signal(bool)
    """(available) a speech engine was found (True) or none exists on this machine (False)."""

    def __init__(self, parent: QObject | None = None, *, engine: str | None = None) -> None:
        super().__init__(parent)
        self._wanted = engine  # a named engine (tests use Qt's "mock"); None: the first real one
        self._tts = None
        self._ready_state = None
        self._queue: deque[str] = deque(maxlen=MAX_QUEUED)
        self.spoken: deque[str] = deque(maxlen=32)  # what was said last (for tests and the log)
        self.available = False
        self.engine_name = ""
        self.error = ""

    def probe(self) -> bool:
        """Find an engine (call once, after the first window is shown: it loads plugins)."""
        try:
            from PySide6.QtTextToSpeech import QTextToSpeech
        except ImportError as exc:  # e.g. libpulse.so.0 missing on Linux
            self.error = f"speech is unavailable: {exc}"
            log.info(self.error)
            self.availability_changed.emit(False)
            return False
        found = QTextToSpeech.availableEngines()
        engines = [self._wanted] if self._wanted in found else [e for e in found if e != "mock"]
        if not engines:
            self.error = "no text-to-speech engine is installed"
            self.availability_changed.emit(False)
            return False
        try:
            self._tts = QTextToSpeech(engines[0], self)
        except Exception as exc:  # a broken plugin must not break the app
            self.error = f"speech engine {engines[0]} failed: {exc}"
            log.warning(self.error)
            self.availability_changed.emit(False)
            return False
        self._ready_state = QTextToSpeech.State.Ready
        self._tts.stateChanged.connect(self._on_state)
        self.engine_name = engines[0]
        self.available = self._tts.state() != QTextToSpeech.State.Error
        self.availability_changed.emit(self.available)
        return self.available

    def say(self, text: str) -> None:
        text = text.strip()
        if not self.available or not text:
            return
        self._queue.append(text)
        if self._tts is not None and self._tts.state() == self._ready_state:
            self._next()

    def stop(self) -> None:
        self._queue.clear()
        if self._tts is not None:
            self._tts.stop()

    def _next(self) -> None:
        if self._queue and self._tts is not None:
            text = self._queue.popleft()
            self.spoken.append(text)
            self._tts.say(text)

    @Slot(object)
    def _on_state(self, state) -> None:
        if state == self._ready_state:
            self._next()
