"""The Voice tab: pick devices and the engine (Live over the Realtime API, or chained), then talk hands-free or
push-to-talk; Parley answers aloud as the answer arrives."""

from __future__ import annotations

import html
import logging
from functools import partial
from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QKeyEvent, QKeySequence, QShortcut, QTextCursor
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QApplication,
    QCheckBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QRadioButton,
    QSlider,
    QTextBrowser,
    QTextEdit,
    QVBoxLayout,
    QWidget,
)

from app.core import errors
from app.core.events import FilterResult, Retrying
from app.ui import design
from app.ui.common import prefs
from app.ui.common.a11y import describe
from app.ui.common.problem_card import Card
from app.ui.common.services import AppServices
from app.ui.common.workers import JobResult, JobSlot
from app.ui.voice.devices import DevicePanel
from app.ui.voice.empty import VoiceEmpty
from app.ui.voice.engine import EngineOptions, chained_job, live_job
from app.ui.voice.speech_options import SpeechOptions
from app.ui.voice.widgets import StateBadge
from app.voice.events import (
    ConversationStarted,
    Notice,
    ReplyDelta,
    ReplyDone,
    StateChanged,
    Timing,
    UserHearing,
    UserSaid,
    VoiceFailed,
    VoiceState,
)
from app.voice.session import Controls, VoiceConfig

log = logging.getLogger(__name__)
RENDER_MS = 100
# A key held down repeats as release/press pairs; where Qt cannot pair them (X11 without detectable auto-repeat, a
# busy event loop) the release looks real. A press this soon after a release means the key never went up.
RELEASE_DEBOUNCE_MS = 60
SEPARATOR = "separator"  # a transcript entry between sessions


class VoiceTab(QWidget):
    state_changed = Signal(object)  # VoiceState, as the badge shows it

    def __init__(self, services: AppServices, parent: QWidget | None = None):
        super().__init__(parent)
        self.services = services
        self.controls = Controls()
        self._job = JobSlot(self, "voice")
        self._assistant_open = False
        self._hearing = False  # the last turn is a user's line still being transcribed
        self._turns: list[list[str]] = []  # [role, text] of this tab's voice conversation, as shown
        self._html_cache: dict[int, tuple[str, str]] = {}
        self._frozen = 0  # turns before this index are final and already in the document ...
        self._tail_pos = 0  # ... which they fill up to this position
        self._render_pending = False
        self.timings: dict[str, float] = {}
        self.conversation_id: int | None = None
        self._space_held = False
        self._no_microphone = False  # the devices were listed and none records
        self._release_timer = QTimer(self)
        self._release_timer.setSingleShot(True)
        self._release_timer.timeout.connect(self._space_released)
        self._build()
        self._devices_listed = False

    def showEvent(self, event: Any) -> None:  # noqa: N802 - Qt name
        """PortAudio starts (and enumerates devices) only when the Voice tab is first opened, not at launch."""
        super().showEvent(event)
        if not self._devices_listed:
            self._devices_listed = True
            QTimer.singleShot(0, self.devices, self.devices.refresh)

    # -- layout ------------------------------------------------------------------------------------
    def _build(self) -> None:
        self.devices = DevicePanel(self.services)
        self.devices.problem.connect(self.show_problem)
        self.devices.status.connect(self.show_status)
        self.devices.listed.connect(self._on_devices_listed)
        self.meter = self.devices.meter

        self.hands_free = QRadioButton("&Hands-free")
        self.hands_free.setToolTip("Speak to start a turn; a pause ends it")
        self.push_to_talk = QRadioButton("&Push-to-talk (hold Space)")
        describe(self.push_to_talk, "Parley listens only while you hold Space or the Hold to talk button")
        hands_free = str(self.services.pref(prefs.VOICE_MODE)) == "hands_free"
        (self.hands_free if hands_free else self.push_to_talk).setChecked(True)
        self.barge_in = QCheckBox("&Barge-in (speak over Parley to interrupt)")
        self.barge_in.setToolTip(
            "Parley cancels its own voice from the microphone (echo cancellation), so it works on speakers too"
        )
        self.barge_in.setChecked(bool(self.services.pref(prefs.VOICE_BARGE_IN)))
        self.sensitivity = QSlider(Qt.Orientation.Horizontal)
        self.sensitivity.setRange(4, 24)
        self.sensitivity.setValue(int(self.services.pref(prefs.VOICE_MARGIN_DB)))
        self.sensitivity.setInvertedAppearance(True)
        self.sensitivity.setAccessibleName("Voice detection sensitivity")
        self.sensitivity.setToolTip("How much louder than the room your voice must be (left: less sensitive)")
        self.speech = SpeechOptions(self.services, self, self.show_problem)
        self.voice_combo, self.speed = self.speech.voice_combo, self.speech.speed
        self.style_field = self.speech.style
        self.engine = EngineOptions(self.services, self)

        mode_box = QGroupBox("Conversation")
        self._mode_form = mode_form = QFormLayout(mode_box)
        self.engine.add_rows(mode_form)
        modes = QHBoxLayout()
        modes.setSpacing(design.M)  # "Hands-free" and the next choice read as two
        modes.addWidget(self.hands_free)
        modes.addWidget(self.push_to_talk)
        modes.addStretch(1)
        mode_form.addRow("Mode:", modes)
        mode_form.addRow("", self.barge_in)
        mode_form.addRow("&Sensitivity:", self.sensitivity)
        self.speech.add_rows(
            self.devices.form
        )  # under the speaker: at 800x500 Conversation had no room for it
        for form in (self.devices.form, mode_form):
            form.setVerticalSpacing(4)  # design.XS: five rows fit a 500 px window

        self.badge = StateBadge()
        self.status = QLabel()
        self.status.setAccessibleName("Voice status")
        self.status.setEnabled(False)  # greyed: a passing note, not something to act on
        self.start_button = QPushButton("Start &conversation")
        self.start_button.setObjectName("primary")  # the tab's one accent-coloured button (style.py)
        self.start_button.setAccessibleName("Start voice conversation")
        describe(self.start_button, "Starts listening; press again or Esc to stop")
        self.start_button.setEnabled(False)
        self.start_button.clicked.connect(self._on_start_stop)
        self.talk_button = QPushButton("Hold to talk")
        self.talk_button.setAccessibleName("Hold to talk")
        describe(self.talk_button, "In push-to-talk, hold it (or Space) while you speak; release to send")
        self.talk_button.pressed.connect(self._press)
        self.talk_button.released.connect(self._release)
        self.talk_button.setEnabled(False)
        controls_row = QHBoxLayout()
        controls_row.addWidget(self.badge)
        controls_row.addWidget(self.status, 1)
        controls_row.addWidget(self.talk_button)
        controls_row.addWidget(self.start_button)

        self.card = Card()
        self.card.action.connect(self._on_card_action)
        self.transcript = QTextBrowser()
        self.transcript.setAccessibleName("Voice transcript")
        self.transcript.setMinimumHeight(40)  # on a short window the controls above keep their size first
        describe(self.transcript, "What you said and what Parley answered, newest last")
        self.transcript.setPlaceholderText("What you say and what Parley answers appears here.")
        self.empty = VoiceEmpty(self.start)  # in the transcript's place until there is a conversation

        top = QHBoxLayout()
        top.addWidget(self.devices, 1)
        top.addWidget(mode_box, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)  # design.S / XS: a 500 px window keeps every control whole
        layout.addLayout(top)
        layout.addLayout(controls_row)
        layout.addWidget(self.card)
        layout.addWidget(self.transcript, 1)
        layout.addWidget(self.empty, 1)

        stop = QShortcut(QKeySequence(Qt.Key.Key_Escape), self)
        stop.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        stop.activated.connect(self.stop)
        for widget in (self.hands_free, self.push_to_talk, self.barge_in):
            widget.toggled.connect(self._save_prefs)
        self.sensitivity.valueChanged.connect(self._save_prefs)
        self.engine.changed.connect(self._on_engine)
        self._on_engine()
        self.engine.set_hands_free(hands_free)

    @Slot()
    def _on_engine(self) -> None:
        """Live listens with Azure's turn detection and speaks with the Realtime API's voices."""
        self._mode_form.setRowVisible(self.sensitivity, not self.engine.live)
        self.speech.set_live(self.engine.live)
        self._sync_empty()

    def _sync_empty(self) -> None:
        """The empty state until a session starts, and again after one where nothing was said; not without a
        microphone, where the devices' problem card is the message."""
        empty = not self._turns and not self.running and not self._no_microphone
        self.empty.set_how(hands_free=self.hands_free.isChecked(), live=self.engine.live)
        self.empty.set_ready(self.start_button.isEnabled() and not self.running)
        self.empty.setVisible(empty)
        self.transcript.setVisible(not empty)

    @Slot(bool)
    def _on_devices_listed(self, has_input: bool) -> None:
        self.start_button.setEnabled(has_input or self.running)
        self._no_microphone = not has_input
        self._sync_empty()
        if has_input and self.card.problem is not None and self.card.problem.kind == errors.Kind.AUDIO:
            self.card.clear()  # Refresh found a microphone: the old device problem no longer holds

    @Slot()
    def _save_prefs(self, *_args: Any) -> None:
        self.services.set_pref(
            prefs.VOICE_MODE, "hands_free" if self.hands_free.isChecked() else "push_to_talk"
        )
        self.services.set_pref(prefs.VOICE_BARGE_IN, self.barge_in.isChecked())
        self.services.set_pref(prefs.VOICE_MARGIN_DB, self.sensitivity.value())
        self.controls.barge_in = self.barge_in.isChecked()
        self.engine.set_hands_free(self.hands_free.isChecked())
        self._sync_empty()

    def on_connection(self, connection: Any) -> None:
        self.speech.on_connection(connection)
        self.engine.on_connection(connection)

    # -- the session -----------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._job.running

    @Slot()
    def _on_start_stop(self) -> None:
        if self.running:
            self.stop()
        else:
            self.start()

    def config(self) -> VoiceConfig:
        from app.audio.vad import VadConfig

        return VoiceConfig(
            hands_free=self.hands_free.isChecked(),
            barge_in=self.barge_in.isChecked(),
            input_device=self.devices.input_device(),
            output_device=self.devices.output_device(),
            input_name=self.devices.input_name(),
            voice=self.voice_combo.currentText(),
            speed=self.speed.value(),
            instructions=self.speech.instructions(),
            vad=VadConfig(margin_db=float(self.sensitivity.value())),
        )

    def start(self) -> None:
        if self.running or self.devices.testing:
            return
        connection = self.services.connection
        if connection is None:
            self.card.show_message("info", "Not connected yet", "Wait for the connection, or open Settings.")
            return
        problem = self.engine.missing(connection)
        if problem is not None:
            self.show_problem(problem)
            return
        self.card.clear()
        self.show_status(self.engine.note(connection))
        self.controls = Controls()
        self.controls.barge_in = self.barge_in.isChecked()
        self._assistant_open = self._hearing = False
        if self._turns and self._turns[-1][0] != SEPARATOR:  # a new conversation: the last one stays above
            self._turns.append([SEPARATOR, "New conversation"])
            self._schedule_render()
        self._space_held = False
        self._release_timer.stop()
        self.conversation_id = None  # the session makes its own with its first stored turn
        options = self.engine
        live = partial(live_job, turn_detection=options.turn_detection, eagerness=options.eagerness)
        job = live if options.live else chained_job
        self._job.start(
            # The meter's level comes through a signal, emitted from the session's level thread.
            partial(job, connection, self.config(), self.controls, self.devices.level.emit),
            self._on_voice_done,
            event=self._on_voice_event,
        )
        self.start_button.setText("&Stop (Esc)")
        self.talk_button.setEnabled(not self.hands_free.isChecked())
        for widget in (self.hands_free, self.push_to_talk):
            widget.setEnabled(False)
        self.engine.set_running(True)
        self.devices.set_busy(True)
        self._space_owner(True)
        self._sync_empty()

    @Slot()
    def stop(self) -> None:
        """Esc: stop listening, thinking and speaking at once."""
        self._job.cancel()

    @Slot(object)
    def _on_voice_event(self, event: Any) -> None:
        if isinstance(event, StateChanged):
            self._set_state(event.state)
        elif isinstance(event, UserHearing | UserSaid):
            self._assistant_open = False
            if self.card.kind == "warning":
                self.card.clear()  # it heard you after all
            # Streamed words (gpt-4o-transcribe) fill the user's line as they come; UserSaid settles it.
            if self._hearing:
                self._turns[-1][1] = event.text
            else:
                self._turns.append(["user", event.text])
            self._hearing = isinstance(event, UserHearing)
            self._schedule_render()
        elif isinstance(event, ReplyDelta):
            if not self._assistant_open:
                self._turns.append(["assistant", ""])
                self._assistant_open = True
            self._turns[-1][1] += event.text
            self._schedule_render()
        elif isinstance(event, ReplyDone):
            self._assistant_open = False
            self._schedule_render()
        elif isinstance(event, Notice):
            if event.title:
                self.card.show_message("warning", event.title, event.text)
            else:
                self.show_status(event.text)
        elif isinstance(event, VoiceFailed):
            self.show_problem(event.problem)
        elif isinstance(event, Retrying):
            self.card.show_countdown(event.problem, event.wait, event.attempt, event.max_attempts)
        elif isinstance(event, FilterResult) and event.verdict.filtered:
            self.card.show_message("refusal", "Azure's content filter", f"{event.verdict.summary()}.")
        elif isinstance(event, Timing):
            self.timings[event.name] = event.ms
            log.info("voice timing %s=%.1f ms", event.name, event.ms)
        elif isinstance(event, ConversationStarted):
            self.conversation_id = event.conversation_id
            self.services.conversations_changed.emit()  # the Chat sidebar lists it now, not after a restart

    def _set_state(self, state: VoiceState) -> None:
        if state is not self.badge.state:
            self.badge.set_state(state)
            self.state_changed.emit(state)
        if state is VoiceState.TRANSCRIBING and self.card.kind == "waiting":
            self.card.clear()

    # -- the transcript: Markdown answers rendered like the chat's, at most every RENDER_MS while streaming --
    def _schedule_render(self) -> None:
        if not self._render_pending:
            self._render_pending = True
            QTimer.singleShot(RENDER_MS, self, self._render_transcript)

    @Slot()
    def _render_transcript(self) -> None:
        """Re-render only the turns still changing (the streaming answer): finished ones stay in the document."""
        self._render_pending = False
        bar = self.transcript.verticalScrollBar()
        follow = bar.value() >= bar.maximum() - 4  # keep following the answer unless the user scrolled up
        cursor = QTextCursor(self.transcript.document())
        cursor.setPosition(self._tail_pos)
        cursor.movePosition(QTextCursor.MoveOperation.End, QTextCursor.MoveMode.KeepAnchor)
        cursor.removeSelectedText()
        for index in range(self._frozen, len(self._turns)):
            if index:
                cursor.insertBlock()
            cursor.insertHtml(self._turn_html(index))
            streaming = index == len(self._turns) - 1 and (
                (self._turns[index][0] == "assistant" and self._assistant_open) or self._hearing
            )
            if index == self._frozen and not streaming:
                self._frozen, self._tail_pos = index + 1, cursor.position()
                self._html_cache.pop(index, None)
        if follow:
            bar.setValue(bar.maximum())

    def _turn_html(self, index: int) -> str:
        role, text = self._turns[index]
        cached = self._html_cache.get(index)
        if cached is not None and cached[0] == text:
            return cached[1]
        if role == SEPARATOR:
            out = f"<hr/><p align='center'><i>{html.escape(text)}</i></p>"
        elif role == "user":
            out = f"<p><b>You:</b> {html.escape(text)}</p>"
        else:
            from app.ui.common.markdown_render import render_blocks

            out = "<p><b>Parley:</b></p>" + "".join(block.html for block in render_blocks(text)) + "<p></p>"
        self._html_cache[index] = (text, out)
        return out

    def transcript_text(self) -> str:
        """The conversation as shown, in plain text."""
        return self.transcript.toPlainText()

    @Slot(object)
    def _on_voice_done(self, result: JobResult) -> None:
        self._space_owner(False)
        self._release_timer.stop()
        self._space_held = False
        if self.card.kind == "warning":
            self.card.clear()  # "Is the microphone on?" was about the session that ended
        if self.conversation_id is not None:
            self.services.conversations_changed.emit()  # its title and time in the Chat sidebar
        self.meter.set_level(-120.0)
        self._set_state(VoiceState.IDLE)
        self.start_button.setText("Start &conversation")
        self.talk_button.setEnabled(False)
        for widget in (self.hands_free, self.push_to_talk):
            widget.setEnabled(True)
        self.engine.set_running(False)
        self.devices.set_busy(False)
        self._sync_empty()
        if result.problem is not None:
            self.show_problem(result.problem)

    # -- push-to-talk -------------------------------------------------------------------------------------
    @Slot()
    def _press(self) -> None:
        if self.running and not self.hands_free.isChecked():
            self.controls.press()

    @Slot()
    def _release(self) -> None:
        if self.running and not self.hands_free.isChecked():
            self.controls.release()

    def _space_owner(self, watching: bool) -> None:
        """While a push-to-talk session runs, Space talks wherever the focus is in this tab (a focused button would
        otherwise take Space as a click); text fields keep their spaces."""
        app = QApplication.instance()
        if app is not None:
            (app.installEventFilter if watching else app.removeEventFilter)(self)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt name
        if (
            event.type() in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease)
            and isinstance(event, QKeyEvent)
            and event.key() == Qt.Key.Key_Space
            and self.running
            and not self.hands_free.isChecked()
            and self.isVisible()
            and isinstance(obj, QWidget)
            and self.isAncestorOf(obj)
            and not isinstance(obj, (QLineEdit, QPlainTextEdit, QTextEdit, QAbstractSpinBox))
        ):
            if event.type() == QEvent.Type.KeyPress:
                if self._release_timer.isActive():
                    self._release_timer.stop()  # an auto-repeat pair Qt did not mark: still held
                elif not self._space_held:
                    self._space_held = True
                    self._press()
            elif not event.isAutoRepeat():
                self._release_timer.start(RELEASE_DEBOUNCE_MS)
            return True
        return False

    @Slot()
    def _space_released(self) -> None:
        if self._space_held:
            self._space_held = False
            self._release()

    # -- messages ----------------------------------------------------------------------------------------
    @Slot(str)
    def show_status(self, text: str) -> None:
        self.status.setText(text)

    @Slot(object)
    def show_problem(self, problem: errors.Problem) -> None:
        actions: tuple[tuple[str, str], ...] = ()  # the card adds Open Settings where the fix is there
        if problem.kind == errors.Kind.AUDIO and problem.code != "PortAudioMissing":
            actions = (("refresh", "Refresh devices"),)
        self.card.show_problem(problem, actions)

    @Slot(str)
    def _on_card_action(self, action: str) -> None:
        if action == "settings":
            self.services.open_settings.emit()
        elif action == "refresh":
            self.devices.refresh(rescan=True)

    def shutdown(self) -> None:
        self._space_owner(False)
        self.devices.shutdown()
        self._job.close()
        self.speech.shutdown()
