"""The Voice tab: pick devices, then talk hands-free or push-to-talk; Parley answers aloud, sentence by sentence."""

from __future__ import annotations

import html
import logging
from functools import partial
from typing import Any

from PySide6.QtCore import Qt, QTimer, Slot
from PySide6.QtGui import QKeyEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QRadioButton,
    QSlider,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from app.audio.voice_loop import (
    Controls,
    Notice,
    ReplyDelta,
    ReplyDone,
    StateChanged,
    Timing,
    UserSaid,
    VoiceConfig,
    VoiceFailed,
    VoiceState,
)
from app.core import errors
from app.core.cancel import CancelToken
from app.core.events import FilterResult, Retrying
from app.ui.services import AppServices
from app.ui.voice_widgets import LevelMeter, StateBadge
from app.ui.workers import Job, JobResult

log = logging.getLogger(__name__)
VOICES = ("alloy", "echo", "fable", "onyx", "nova", "shimmer")


def _list_devices(rescan: bool, cancel: CancelToken) -> Any:
    from app.audio import devices

    return devices.list_devices(rescan=rescan)


def _mic_test(input_device: Any, output_device: Any, cancel: CancelToken):
    """Record 3 s, then play it back: the user hears exactly what Parley hears."""
    import numpy as np

    from app.audio.player import Player
    from app.audio.recorder import Recorder

    rec = Recorder(input_device, 16000)
    rec.start()
    yield "recording"
    blocks, got = [], 0
    try:
        while got < 3 * rec.samplerate and not cancel.cancelled:
            block = rec.read(0.1)
            if block is not None:
                blocks.append(block)
                got += len(block)
    finally:
        rec.stop()
    audio = np.concatenate(blocks) if blocks else np.zeros(0, np.float32)
    peak = float(np.max(np.abs(audio))) if len(audio) else 0.0
    yield ("peak", peak)
    if cancel.cancelled:
        return
    yield "playing"
    player = Player(output_device, rec.samplerate)
    player.start()
    try:
        player.write((np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes())
        player.finish()
        player.wait_drained(5.0, cancel)
    finally:
        player.stop()


def _voice_job(connection: Any, config: VoiceConfig, controls: Controls, holder: list, cancel: CancelToken):
    from app.audio.voice_loop import VoiceSession, backend_for
    from app.core.history import History

    history = History.open()
    conversation = history.create_conversation(title="Voice conversation", deployment=connection.profile.deployments.chat)
    yield ("conversation", conversation.id)
    session = VoiceSession(backend_for(connection, config, history=history, conversation_id=conversation.id), config, controls)
    holder.append(session)
    yield from session.run(cancel)


class VoiceTab(QWidget):
    def __init__(self, services: AppServices, parent: QWidget | None = None):
        super().__init__(parent)
        self.services = services
        self.devices: list = []
        self.controls = Controls()
        self._session_holder: list = []
        self._job: Job | None = None
        self._devices_job: Job | None = None
        self._test_job: Job | None = None
        self._assistant_open = False
        self.timings: dict[str, float] = {}
        self.conversation_id: int | None = None
        self._build()
        self._meter_timer = QTimer(self)
        self._meter_timer.setInterval(50)
        self._meter_timer.timeout.connect(self._update_meter)
        services.connection_changed.connect(self._on_connection)
        self._devices_listed = False

    def showEvent(self, event: Any) -> None:  # noqa: N802 - Qt name
        """PortAudio starts (and enumerates devices) only when the Voice tab is first opened, not at launch."""
        super().showEvent(event)
        if not self._devices_listed:
            self._devices_listed = True
            QTimer.singleShot(0, self, self.refresh_devices)

    # -- layout ------------------------------------------------------------------------------------
    def _build(self) -> None:
        self.input_combo = QComboBox()
        self.input_combo.setAccessibleName("Microphone")
        self.output_combo = QComboBox()
        self.output_combo.setAccessibleName("Speaker")
        self.refresh_button = QPushButton("&Refresh")
        self.refresh_button.setAccessibleName("Refresh devices")
        self.refresh_button.clicked.connect(self._on_refresh)
        self.device_note = QLabel()
        self.device_note.setWordWrap(True)
        self.device_note.hide()
        self.meter = LevelMeter()
        self.test_button = QPushButton("&Test microphone")
        self.test_button.setToolTip("Records 3 seconds and plays them back")
        self.test_button.clicked.connect(self._on_test_mic)

        devices_box = QGroupBox("Devices")
        form = QFormLayout(devices_box)
        row = QHBoxLayout()
        row.addWidget(self.input_combo, 1)
        row.addWidget(self.refresh_button)
        form.addRow(self._buddy("&Microphone:", self.input_combo), row)
        form.addRow("Spea&ker:", self.output_combo)
        meter_row = QHBoxLayout()
        meter_row.addWidget(self.meter, 1)
        meter_row.addWidget(self.test_button)
        form.addRow("Level:", meter_row)
        form.addRow(self.device_note)

        self.hands_free = QRadioButton("&Hands-free")
        self.hands_free.setToolTip("Speak to start a turn; a pause ends it")
        self.push_to_talk = QRadioButton("&Push-to-talk (hold Space)")
        hands_free = str(self.services.pref("voice/mode", "hands_free")) == "hands_free"
        (self.hands_free if hands_free else self.push_to_talk).setChecked(True)
        self.barge_in = QCheckBox("&Barge-in (speak over Parley to interrupt)")
        self.barge_in.setChecked(bool(self.services.pref("voice/barge_in", False, bool)))
        self.sensitivity = QSlider(Qt.Orientation.Horizontal)
        self.sensitivity.setRange(4, 24)
        self.sensitivity.setValue(int(self.services.pref("voice/margin_db", 12, int)))
        self.sensitivity.setInvertedAppearance(True)
        self.sensitivity.setAccessibleName("Voice detection sensitivity")
        self.sensitivity.setToolTip("How much louder than the room your voice must be (left: less sensitive)")
        self.voice_combo = QComboBox()
        self.voice_combo.addItems(VOICES)
        self.voice_combo.setAccessibleName("Voice")
        self.speed = QDoubleSpinBox()
        self.speed.setRange(0.25, 4.0)
        self.speed.setSingleStep(0.25)
        self.speed.setValue(1.0)
        self.speed.setAccessibleName("Speaking speed")

        mode_box = QGroupBox("Conversation")
        mode_form = QFormLayout(mode_box)
        modes = QHBoxLayout()
        modes.addWidget(self.hands_free)
        modes.addWidget(self.push_to_talk)
        modes.addStretch(1)
        mode_form.addRow("Mode:", modes)
        mode_form.addRow("", self.barge_in)
        mode_form.addRow("&Sensitivity:", self.sensitivity)
        voice_row = QHBoxLayout()
        voice_row.addWidget(self.voice_combo)
        voice_row.addWidget(self._buddy("Spee&d:", self.speed))
        voice_row.addWidget(self.speed)
        voice_row.addStretch(1)
        mode_form.addRow(self._buddy("&Voice:", self.voice_combo), voice_row)

        self.badge = StateBadge()
        self.start_button = QPushButton("Start &conversation")
        self.start_button.setAccessibleName("Start voice conversation")
        self.start_button.clicked.connect(self._on_start_stop)
        self.talk_button = QPushButton("Hold to talk")
        self.talk_button.setAccessibleName("Hold to talk")
        self.talk_button.pressed.connect(self._press)
        self.talk_button.released.connect(self._release)
        self.talk_button.setEnabled(False)
        controls_row = QHBoxLayout()
        controls_row.addWidget(self.badge)
        controls_row.addStretch(1)
        controls_row.addWidget(self.talk_button)
        controls_row.addWidget(self.start_button)

        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message.setAccessibleName("Voice message")
        self.message.hide()
        self.transcript = QTextBrowser()
        self.transcript.setAccessibleName("Voice transcript")
        self.transcript.setPlaceholderText("What you say and what Parley answers appears here.")

        top = QHBoxLayout()
        top.addWidget(devices_box, 1)
        top.addWidget(mode_box, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addLayout(controls_row)
        layout.addWidget(self.message)
        layout.addWidget(self.transcript, 1)

        stop = QShortcut(QKeySequence(Qt.Key.Key_Escape), self)
        stop.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        stop.activated.connect(self.stop)
        for widget in (self.hands_free, self.push_to_talk, self.barge_in):
            widget.toggled.connect(self._save_prefs)
        self.sensitivity.valueChanged.connect(self._save_prefs)

    @staticmethod
    def _buddy(text: str, widget: QWidget) -> QLabel:
        label = QLabel(text)
        label.setBuddy(widget)  # Alt+letter focuses the control
        return label

    # -- devices ---------------------------------------------------------------------------------------
    @Slot()
    def _on_refresh(self) -> None:
        self.refresh_devices(rescan=True)

    def refresh_devices(self, rescan: bool = False) -> None:
        if self._devices_job is not None and self._devices_job.running:
            return
        if self._job is not None and self._job.running:
            rescan = False  # never re-initialise PortAudio under a running stream
        self._devices_job = Job(partial(_list_devices, rescan), name="audio-devices", parent=self)
        self._devices_job.finished.connect(self._on_devices)
        self._devices_job.start()

    @Slot(object)
    def _on_devices(self, result: JobResult) -> None:
        from app.audio import devices as devmod

        if result.problem is not None:
            self.show_problem(result.problem)
            self.start_button.setEnabled(False)
            self.test_button.setEnabled(False)
            return
        self.devices = result.value or []
        notes = []
        for combo, kind, pref in ((self.input_combo, "input", "voice/input"), (self.output_combo, "output", "voice/output")):
            choice = devmod.choose(self.devices, self.services.pref(pref), kind=kind)
            combo.blockSignals(True)
            combo.clear()
            for d in self.devices:
                if (d.inputs if kind == "input" else d.outputs) > 0:
                    combo.addItem(d.name, d.index)
            if choice.device is not None:
                combo.setCurrentIndex(combo.findData(choice.device.index))
            combo.blockSignals(False)
            if choice.note:
                notes.append(choice.note)
        self.input_combo.currentIndexChanged.connect(self._save_prefs, Qt.ConnectionType.UniqueConnection)
        self.output_combo.currentIndexChanged.connect(self._save_prefs, Qt.ConnectionType.UniqueConnection)
        has_input = self.input_combo.count() > 0
        self.start_button.setEnabled(has_input)
        self.test_button.setEnabled(has_input and self.output_combo.count() > 0)
        if not has_input:
            self.show_problem(devmod.no_input_problem())
        self.device_note.setText(" ".join(notes))
        self.device_note.setVisible(bool(notes))

    @Slot()
    def _save_prefs(self, *_args: Any) -> None:
        self.services.set_pref("voice/mode", "hands_free" if self.hands_free.isChecked() else "push_to_talk")
        self.services.set_pref("voice/barge_in", self.barge_in.isChecked())
        self.services.set_pref("voice/margin_db", self.sensitivity.value())
        if self.input_combo.currentIndex() >= 0:
            self.services.set_pref("voice/input", self.input_combo.currentText())
        if self.output_combo.currentIndex() >= 0:
            self.services.set_pref("voice/output", self.output_combo.currentText())
        self.controls.barge_in = self.barge_in.isChecked()

    @Slot(object)
    def _on_connection(self, connection: Any) -> None:
        profile = connection.profile
        index = self.voice_combo.findText(profile.tts_voice)
        if index >= 0:
            self.voice_combo.setCurrentIndex(index)
        self.speed.setValue(profile.tts_speed)

    # -- mic test --------------------------------------------------------------------------------------
    @Slot()
    def _on_test_mic(self) -> None:
        if self._test_job is not None and self._test_job.running:
            self._test_job.cancel()
            return
        self._test_job = Job(partial(_mic_test, self.input_combo.currentData(), self.output_combo.currentData()),
                             name="mic-test", parent=self)
        self._test_job.event.connect(self._on_test_event)
        self._test_job.finished.connect(self._on_test_done)
        self.test_button.setText("Stop test")
        self._test_job.start()

    @Slot(object)
    def _on_test_event(self, event: Any) -> None:
        if event == "recording":
            self.show_message("Recording 3 seconds — say something…")
        elif event == "playing":
            self.show_message("Playing back what the microphone heard…")
        elif isinstance(event, tuple) and event[0] == "peak" and event[1] < 0.003:
            self.show_message(f"I heard nothing from '{self.input_combo.currentText()}' — check the microphone.")

    @Slot(object)
    def _on_test_done(self, result: JobResult) -> None:
        self.test_button.setText("&Test microphone")
        if result.problem is not None:
            self.show_problem(result.problem)
        elif self.message.text().startswith(("Recording", "Playing")):
            self.message.hide()

    # -- the session -----------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._job is not None and self._job.running

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
            input_device=self.input_combo.currentData(),
            output_device=self.output_combo.currentData(),
            input_name=self.input_combo.currentText() or "the default microphone",
            voice=self.voice_combo.currentText(),
            speed=self.speed.value(),
            vad=VadConfig(margin_db=float(self.sensitivity.value())),
        )

    def start(self) -> None:
        connection = self.services.connection
        if connection is None:
            self.show_message("Not connected yet — wait for the connection or open Settings.")
            return
        for capability in ("transcription", "chat", "speech"):
            if not connection.profile.deployments.for_capability(capability):
                self.show_problem(errors.Problem(
                    errors.Kind.CONFIG, f"No {capability} deployment",
                    f"Voice needs a {capability} deployment and this profile has none.",
                    f"Add the {capability} deployment name in Settings."))
                return
        self.message.hide()
        self.controls = Controls()
        self.controls.barge_in = self.barge_in.isChecked()
        self._session_holder = []
        self._assistant_open = False
        self._job = Job(partial(_voice_job, connection, self.config(), self.controls, self._session_holder),
                        name="voice", parent=self)
        self._job.event.connect(self._on_voice_event)
        self._job.finished.connect(self._on_voice_done)
        self._job.start()
        self.start_button.setText("&Stop (Esc)")
        self.talk_button.setEnabled(not self.hands_free.isChecked())
        for w in (self.input_combo, self.output_combo, self.hands_free, self.push_to_talk, self.refresh_button, self.test_button):
            w.setEnabled(False)
        self._meter_timer.start()

    @Slot()
    def stop(self) -> None:
        """Esc: stop listening, thinking and speaking at once."""
        if self._job is not None and self._job.running:
            self._job.cancel()

    @Slot(object)
    def _on_voice_event(self, event: Any) -> None:
        if isinstance(event, StateChanged):
            self.badge.set_state(event.state)
        elif isinstance(event, UserSaid):
            self._close_assistant()
            self._append(f"<p><b>You:</b> {html.escape(event.text)}</p>")
        elif isinstance(event, ReplyDelta):
            if not self._assistant_open:
                self._append("<p><b>Parley:</b> ")
                self._assistant_open = True
            cursor = self.transcript.textCursor()
            cursor.movePosition(cursor.MoveOperation.End)
            cursor.insertText(event.text)
        elif isinstance(event, ReplyDone):
            self._close_assistant()
        elif isinstance(event, Notice):
            self.show_message(event.text)
        elif isinstance(event, VoiceFailed):
            self.show_problem(event.problem)
        elif isinstance(event, Retrying):
            self.show_message(f"{event.problem.title} — retrying in {event.wait:.0f} s (attempt {event.attempt} of {event.max_attempts}).")
        elif isinstance(event, FilterResult) and event.verdict.filtered:
            self.show_message(f"Azure's content filter: {event.verdict.summary()}.")
        elif isinstance(event, Timing):
            self.timings[event.name] = event.ms
            log.info("voice timing %s=%.1f ms", event.name, event.ms)
        elif isinstance(event, tuple) and event and event[0] == "conversation":
            self.conversation_id = event[1]

    def _close_assistant(self) -> None:
        self._assistant_open = False

    def _append(self, fragment: str) -> None:
        self.transcript.append(fragment)

    @Slot(object)
    def _on_voice_done(self, result: JobResult) -> None:
        self._meter_timer.stop()
        self.meter.set_level(-120.0)
        self.badge.set_state(VoiceState.IDLE)
        self.start_button.setText("Start &conversation")
        self.talk_button.setEnabled(False)
        for w in (self.input_combo, self.output_combo, self.hands_free, self.push_to_talk, self.refresh_button, self.test_button):
            w.setEnabled(True)
        if result.problem is not None:
            self.show_problem(result.problem)

    @Slot()
    def _update_meter(self) -> None:
        session = self._session_holder[0] if self._session_holder else None
        recorder = getattr(session, "recorder", None)
        if recorder is not None:
            self.meter.set_level(recorder.level.rms_db)

    # -- push-to-talk -------------------------------------------------------------------------------------
    @Slot()
    def _press(self) -> None:
        if self.running and not self.hands_free.isChecked():
            self.controls.press()

    @Slot()
    def _release(self) -> None:
        if self.running and not self.hands_free.isChecked():
            self.controls.release()

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt name
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat() and self.running and not self.hands_free.isChecked():
            self._press()
            return
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt name
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat() and self.running and not self.hands_free.isChecked():
            self._release()
            return
        super().keyReleaseEvent(event)

    # -- messages ----------------------------------------------------------------------------------------
    def show_message(self, text: str) -> None:
        self.message.setText(html.escape(text))
        self.message.show()

    def show_problem(self, problem: errors.Problem) -> None:
        rid = f"<br><small>Request id: {html.escape(problem.request_id)}</small>" if problem.request_id else ""
        self.message.setText(f"<b>{html.escape(problem.title)}</b> — {html.escape(problem.detail)} {html.escape(problem.action)}{rid}")
        self.message.show()

    def shutdown(self) -> None:
        for job in (self._job, self._test_job, self._devices_job):
            if job is not None and job.running:
                job.cancel()
