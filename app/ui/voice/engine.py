"""The Voice tab's engine: "Live" (one Realtime API session) where the profile has a realtime deployment, else
"Chained" (transcribe, chat, speak); Live's turn detection (server or semantic VAD, with eagerness); the live job."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtWidgets import QComboBox, QFormLayout, QHBoxLayout, QLabel, QWidget

from app.core import errors
from app.core.cancel import CancelToken
from app.ui.common import prefs
from app.ui.common.services import AppServices
from app.voice.events import InputLevel
from app.voice.session import Controls, VoiceConfig

LIVE, CHAINED = "live", "chained"
ENGINES = ((LIVE, "Live (Realtime API)"), (CHAINED, "Chained (transcribe, chat, speak)"))
TURN_DETECTIONS = (("server_vad", "Server VAD (a pause ends the turn)"), ("semantic_vad", "Semantic VAD"))
EAGERNESS = (("auto", "Auto"), ("low", "Low (waits longer)"), ("medium", "Medium"), ("high", "High"))
NEEDS = {LIVE: ("realtime",), CHAINED: ("transcription", "chat", "speech")}
UNHEARD_NOTE = "No transcription deployment: your words are not written out (the answer is)."


def _history_for(deployment: str) -> tuple[Any, Callable[[], int]]:
    """History, opened on the worker, and how a session makes its conversation: with its first stored turn, so a
    silent session leaves no empty entry."""
    from app.core.history import History
    from app.ui.common.markdown_render import render_blocks

    render_blocks(
        "*warm-up*\n\n```python\nx = 1\n```\n"
    )  # markdown-it and Pygments load here, not in the GUI
    history = History.open()

    def new_conversation() -> int:
        return history.create_conversation(title="Voice conversation", deployment=deployment).id

    return history, new_conversation


def chained_job(
    connection: Any,
    config: VoiceConfig,
    controls: Controls,
    on_level: Callable[[InputLevel], Any],
    cancel: CancelToken,
):
    """The tab's chained session on a worker (transcribe, chat, speak)."""
    from app.voice.session import VoiceSession, backend_for

    history, new_conversation = _history_for(connection.profile.deployments.chat)
    backend = backend_for(connection, config, history=history, new_conversation=new_conversation)
    yield from VoiceSession(backend, config, controls, on_level).run(cancel)


def live_job(
    connection: Any,
    config: VoiceConfig,
    controls: Controls,
    on_level: Callable[[InputLevel], Any],
    cancel: CancelToken,
    *,
    turn_detection: str = "server_vad",
    eagerness: str = "auto",
):
    """The tab's live session on a worker (one Realtime session)."""
    from app.voice.live import LiveVoiceSession, live_backend_for

    history, new_conversation = _history_for(connection.profile.deployments.realtime)
    backend = live_backend_for(
        connection,
        config,
        history=history,
        new_conversation=new_conversation,
        turn_detection=turn_detection,
        eagerness=eagerness,
    )
    yield from LiveVoiceSession(backend, config, controls, on_level).run(cancel)


def _buddy(text: str, widget: QWidget) -> QLabel:
    label = QLabel(text)
    label.setBuddy(widget)
    return label


def _combo(items: tuple[tuple[str, str], ...], name: str, chosen: str) -> QComboBox:
    combo = QComboBox()
    for key, label in items:
        combo.addItem(label, key)
    combo.setAccessibleName(name)
    combo.setCurrentIndex(max(0, combo.findData(chosen)))
    return combo


class EngineOptions(QObject):
    """Owns the engine, turn-detection and eagerness combos; `add_rows(form)` puts them in the tab's form. The
    engine row shows only where Live is possible; the turn-detection row only for Live."""

    changed = Signal()  # the engine in use changed: the tab shows the options that apply to it

    def __init__(self, services: AppServices, parent: QWidget):
        super().__init__(parent)
        self.services = services
        self.live_possible = False
        self._hands_free, self._running = True, False
        self.engine_combo = _combo(ENGINES, "Voice engine", str(services.pref(prefs.VOICE_ENGINE)))
        self.engine_combo.setToolTip(
            "Live: one Realtime API session hears you and answers aloud (fastest). "
            "Chained: transcription, then chat, then speech"
        )
        self.turn_combo = _combo(
            TURN_DETECTIONS, "Turn detection", str(services.pref(prefs.VOICE_TURN_DETECTION))
        )
        self.turn_combo.setToolTip(
            "How Azure decides you have finished: a pause (server VAD) or what you said (semantic VAD)"
        )
        self.eagerness_combo = _combo(EAGERNESS, "Eagerness", str(services.pref(prefs.VOICE_EAGERNESS)))
        self.eagerness_combo.setToolTip(
            "Semantic VAD: how soon Parley answers once you seem to have finished"
        )
        self.eagerness_label = _buddy("E&agerness:", self.eagerness_combo)
        self.engine_combo.currentIndexChanged.connect(self._on_changed)
        self.turn_combo.currentIndexChanged.connect(self._on_changed)
        self.eagerness_combo.currentIndexChanged.connect(self._on_changed)
        self._form: QFormLayout | None = None

    def add_rows(self, form: QFormLayout) -> None:
        form.addRow(_buddy("&Engine:", self.engine_combo), self.engine_combo)
        row = QHBoxLayout()
        row.addWidget(self.turn_combo)
        row.addWidget(self.eagerness_label)
        row.addWidget(self.eagerness_combo)
        row.addStretch(1)
        self.turn_label = _buddy("&Turn detection:", self.turn_combo)
        form.addRow(self.turn_label, row)
        self._form = form
        self._show()

    @property
    def engine(self) -> str:
        """The engine Start runs: Live when the profile has a realtime deployment and the user has not chosen
        Chained."""
        return LIVE if self.live_possible and self.engine_combo.currentData() == LIVE else CHAINED

    @property
    def live(self) -> bool:
        return self.engine == LIVE

    @property
    def turn_detection(self) -> str:
        return str(self.turn_combo.currentData())

    @property
    def eagerness(self) -> str:
        return str(self.eagerness_combo.currentData())

    def on_connection(self, connection: Any) -> None:
        self.live_possible = bool(connection.profile.deployments.realtime.strip())
        self._show()
        self.changed.emit()

    def set_running(self, running: bool) -> None:
        self._running = running
        self._enable()
        if not running:
            self._show()

    def set_hands_free(self, hands_free: bool) -> None:
        """Push-to-talk: the user ends the turn (Azure's turn detection is off), so its choice is greyed."""
        self._hands_free = hands_free
        self._enable()

    def _enable(self) -> None:
        self.engine_combo.setEnabled(not self._running)
        for combo in (self.turn_combo, self.eagerness_combo):
            combo.setEnabled(self._hands_free and not self._running)

    def missing(self, connection: Any) -> errors.Problem | None:
        """A problem when the profile lacks a deployment this engine needs (Live's transcription is optional)."""
        what = "Live voice" if self.live else "Voice"
        for capability in NEEDS[self.engine]:
            if not connection.profile.deployments.for_capability(capability).strip():
                return errors.Problem(
                    errors.Kind.CONFIG,
                    f"No {capability} deployment",
                    f"{what} needs a {capability} deployment and this profile has none.",
                    f"Add the {capability} deployment name in Settings.",
                )
        return None

    def note(self, connection: Any) -> str:
        """What the status line says once at Start (Live without a transcription deployment)."""
        if self.live and not connection.profile.deployments.transcription.strip():
            return UNHEARD_NOTE
        return ""

    @Slot()
    def _on_changed(self, *_args: Any) -> None:
        self.services.set_pref(prefs.VOICE_ENGINE, str(self.engine_combo.currentData()))
        self.services.set_pref(prefs.VOICE_TURN_DETECTION, self.turn_detection)
        self.services.set_pref(prefs.VOICE_EAGERNESS, self.eagerness)
        self._show()
        self.changed.emit()

    def _show(self) -> None:
        if self._form is None:
            return
        self._form.setRowVisible(self.engine_combo, self.live_possible)
        self._form.setRowVisible(self.turn_label, self.live)
        semantic = self.live and self.turn_detection == "semantic_vad"
        self.eagerness_label.setVisible(semantic)
        self.eagerness_combo.setVisible(semantic)
