"""The Voice tab's devices box: microphone and speaker by name (with a note when the saved one is gone), Refresh,
the input level meter and the 3-second microphone test."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from functools import partial
from typing import Any

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import QComboBox, QFormLayout, QGroupBox, QHBoxLayout, QLabel, QPushButton, QWidget

from app.core import errors
from app.core.cancel import CancelToken
from app.ui.common import prefs
from app.ui.common.a11y import describe
from app.ui.common.services import AppServices
from app.ui.common.workers import JobResult, JobSlot
from app.ui.voice.widgets import LevelMeter
from app.voice.events import InputLevel

MIC_TEST_S = 3.0
LOOKING = ("Looking for microphones…", "Looking for speakers…")  # shown while the first listing runs
HEARD_NOTHING_PEAK = 0.003  # about -50 dBFS: below any voice at a working microphone


def _list_devices(rescan: bool, cancel: CancelToken) -> Any:
    from app.audio import devices

    return devices.list_devices(rescan=rescan)


def _idle_levels(device: Any, on_level: Callable[[InputLevel], Any], cancel: CancelToken):
    """The chosen microphone's level for the meter while the devices box is shown and nothing else records: the
    user sees the mic is alive before starting. Nothing is kept or sent."""
    from app.audio.recorder import Recorder
    from app.voice.threads import LevelWatch

    rec = Recorder(device, 16000)
    rec.start()
    watch = LevelWatch(rec, on_level)
    watch.start()
    try:
        while not cancel.cancelled:
            rec.drain()
            yield None  # lets the worker see a cancel between reads
            cancel.wait(0.1)
    finally:
        watch.stop()
        rec.stop()


class MicTestStep(StrEnum):
    RECORDING = "recording"
    PLAYING = "playing"


@dataclass(frozen=True)
class MicPeak:
    """The loudest sample the test recorded (0..1)."""

    peak: float


def _mic_test(
    input_device: Any, output_device: Any, on_level: Callable[[InputLevel], Any], cancel: CancelToken
):
    """Record 3 s, then play it back: the user hears exactly what Parley hears."""
    from app.audio.player import Player
    from app.audio.recorder import Recorder
    from app.audio.wav import float_to_pcm16
    from app.voice.threads import LevelWatch

    rec = Recorder(input_device, 16000)
    rec.start()
    watch = LevelWatch(rec, on_level)  # the meter moves while it records
    watch.start()
    yield MicTestStep.RECORDING
    blocks, got = [], 0
    try:
        while got < MIC_TEST_S * rec.samplerate and not cancel.cancelled:
            block = rec.read(0.1)
            if block is not None:
                blocks.append(block)
                got += len(block)
    finally:
        watch.stop()
        rec.stop()
    import numpy as np

    audio = np.concatenate(blocks) if blocks else np.zeros(0, np.float32)
    yield MicPeak(float(np.max(np.abs(audio))) if len(audio) else 0.0)
    if cancel.cancelled:
        return
    yield MicTestStep.PLAYING
    player = Player(output_device, rec.samplerate)
    player.start()
    try:
        player.write(float_to_pcm16(audio))
        player.finish()
        player.wait_drained(MIC_TEST_S + 2, cancel)
    finally:
        player.stop()


class DevicePanel(QGroupBox):
    """Lists devices off the GUI thread (PortAudio starts only when the Voice tab is first shown)."""

    problem = Signal(object)  # errors.Problem: PortAudio missing, no microphone, a device that will not open
    status = Signal(str)  # mic test progress, for the tab's status line
    listed = Signal(bool)  # devices listed; True when there is a microphone to use
    level = Signal(object)  # InputLevel, emitted from a session's or the mic test's level thread
    idle_level = Signal(object)  # InputLevel from the idle meter: dropped once a session or the test records

    def __init__(self, services: AppServices, parent: QWidget | None = None):
        super().__init__("Devices", parent)
        self.services = services
        self.devices: list = []
        self._devices_job = JobSlot(self, "audio-devices")
        self._test_job = JobSlot(self, "mic-test")
        self._idle_job = JobSlot(self, "idle-meter")
        self.last_level: InputLevel | None = None  # what the meter shows now (None: no recording since reset)
        self.session_busy = False  # the tab says so: no rescans under a running stream
        self.input_combo = QComboBox()
        self.input_combo.setAccessibleName("Microphone")
        describe(self.input_combo, "The microphone Parley listens to; the list is the sound server's inputs")
        self.output_combo = QComboBox()
        self.output_combo.setAccessibleName("Speaker")
        describe(self.output_combo, "Where Parley's voice plays")
        self.refresh_button = QPushButton("&Refresh")
        self.refresh_button.setAccessibleName("Refresh devices")
        self.refresh_button.setToolTip("Look for microphones and speakers again (after plugging one in)")
        self.refresh_button.clicked.connect(self._on_refresh)
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.note.setAccessibleName("Device note")
        self.note.hide()
        self.meter = LevelMeter()
        self.test_button = QPushButton("&Test microphone")
        self.test_button.setToolTip("Records 3 seconds and plays them back")
        self.test_button.clicked.connect(self._on_test_mic)
        self.test_button.setEnabled(False)

        self.form = form = QFormLayout(self)  # the tab adds Parley's voice under the devices
        row = QHBoxLayout()
        row.addWidget(self.input_combo, 1)
        row.addWidget(self.refresh_button)
        mic_label = QLabel("&Microphone:")
        mic_label.setBuddy(self.input_combo)
        form.addRow(mic_label, row)
        form.addRow("Spea&ker:", self.output_combo)
        meter_row = QHBoxLayout()
        meter_row.addWidget(self.meter, 1)
        meter_row.addWidget(self.test_button)
        form.addRow("Level:", meter_row)
        form.addRow(self.note)
        self.input_combo.currentIndexChanged.connect(self._save)
        self.output_combo.currentIndexChanged.connect(self._save)
        self.level.connect(self._on_level)
        self.idle_level.connect(self._on_idle_level)

    # -- what the session uses ------------------------------------------------------------------------
    def input_device(self) -> Any:
        return self.input_combo.currentData()

    def output_device(self) -> Any:
        return self.output_combo.currentData()

    def input_name(self) -> str:
        return self.input_combo.currentText() or "the default microphone"

    def set_busy(self, busy: bool) -> None:
        self.session_busy = busy
        if busy:
            self._idle_job.cancel()  # the session opens the microphone itself
            self.last_level = None
        else:
            self.idle_meter()
        for widget in (self.input_combo, self.output_combo, self.refresh_button, self.test_button):
            widget.setEnabled(not busy and (widget is not self.test_button or self._can_test()))

    def _can_test(self) -> bool:
        return self.input_combo.count() > 0 and self.output_combo.count() > 0

    # -- listing ---------------------------------------------------------------------------------------
    @Slot()
    def _on_refresh(self) -> None:
        self.refresh(rescan=True)

    def refresh(self, rescan: bool = False) -> None:
        if self._devices_job.running:
            return
        busy = self.session_busy or self._test_job.running
        if self.input_combo.count() == 0:  # first visit: say what is happening (PortAudio can take seconds)
            for combo, text in zip((self.input_combo, self.output_combo), LOOKING, strict=True):
                combo.blockSignals(True)
                combo.addItem(text, None)
                combo.blockSignals(False)
                combo.setEnabled(False)
        self._devices_job.start(partial(_list_devices, rescan and not busy), self._on_devices)

    @property
    def listing(self) -> bool:
        return self._devices_job.running

    @Slot(object)
    def _on_devices(self, result: JobResult) -> None:
        from app.audio import devices as devmod

        if result.problem is not None:
            self.devices = []
            for combo in (self.input_combo, self.output_combo):
                combo.clear()
            self.test_button.setEnabled(False)
            self.problem.emit(result.problem)
            self.listed.emit(False)
            return
        self.devices = result.value or []
        notes = []
        for combo, kind, pref in (
            (self.input_combo, "input", "voice/input"),
            (self.output_combo, "output", "voice/output"),
        ):
            choice = devmod.choose(self.devices, self.services.pref(pref), kind=kind)
            combo.blockSignals(True)  # filling the list is not the user choosing a device
            combo.clear()
            for d in self.devices:
                if (d.inputs if kind == "input" else d.outputs) > 0:
                    combo.addItem(d.name, d.value)
            if choice.device is not None:
                combo.setCurrentIndex(combo.findData(choice.device.value))
            combo.blockSignals(False)
            if choice.note and combo.count():
                notes.append(choice.note)
        has_input = self.input_combo.count() > 0
        for combo in (self.input_combo, self.output_combo):
            combo.setEnabled(not self.session_busy)
        self.test_button.setEnabled(self._can_test() and not self.session_busy)
        self.idle_meter()
        self.note.setText(" ".join(notes))
        self.note.setVisible(bool(notes))
        if not has_input:
            self.problem.emit(devmod.no_input_problem())
        self.listed.emit(has_input)

    # -- the idle meter: alive whenever the box is shown and nothing else records -------------------------
    @property
    def idle_metering(self) -> bool:
        return self._idle_job.running

    def idle_meter(self) -> None:
        """(Re)start the idle level on the chosen microphone, or stop it where it must not run."""
        self._idle_job.cancel()
        device_known = self.input_combo.count() > 0 and self.input_combo.isEnabled()
        if not self.isVisible() or self.session_busy or self.testing or not device_known:
            return
        self._idle_job.start(
            partial(_idle_levels, self.input_device(), self.idle_level.emit), self._on_idle_done
        )

    @Slot(object)
    def _on_idle_done(self, result: JobResult) -> None:
        if not self.session_busy and not self.testing:
            self.meter.set_level(-120.0)
        # A microphone that cannot be opened now says so when the session or the test opens it.

    @Slot(object)
    def _on_idle_level(self, level: InputLevel) -> None:
        if not self.session_busy and not self.testing and self.idle_metering:
            self.meter.set_level(level.rms_db)  # not `last_level`: that says what a session's mic delivered

    def showEvent(self, event: Any) -> None:  # noqa: N802 - Qt name
        super().showEvent(event)
        self.idle_meter()

    def hideEvent(self, event: Any) -> None:  # noqa: N802 - Qt name
        super().hideEvent(event)
        self._idle_job.cancel()  # out of sight: let the microphone go

    @Slot()
    def _save(self, *_args: Any) -> None:
        if self.input_combo.currentIndex() >= 0:
            self.services.set_pref(prefs.VOICE_INPUT, self.input_combo.currentText())
        if self.output_combo.currentIndex() >= 0:
            self.services.set_pref(prefs.VOICE_OUTPUT, self.output_combo.currentText())
        self.note.hide()
        if self.sender() is self.input_combo:
            self.idle_meter()

    # -- mic test --------------------------------------------------------------------------------------
    @property
    def testing(self) -> bool:
        return self._test_job.running

    @Slot()
    def _on_test_mic(self) -> None:
        if self.testing:
            self._test_job.cancel()
            return
        self._idle_job.cancel()  # the test records from the microphone itself
        self.last_level = None
        self.test_button.setText("Stop test")
        self._test_job.start(
            partial(_mic_test, self.input_device(), self.output_device(), self.level.emit),
            self._on_test_done,
            event=self._on_test_event,
        )

    @Slot(object)
    def _on_test_event(self, event: Any) -> None:
        if event is MicTestStep.RECORDING:
            self.status.emit("Recording 3 seconds — say something…")
        elif event is MicTestStep.PLAYING:
            self.status.emit("Playing back what the microphone heard…")
        elif isinstance(event, MicPeak) and event.peak < HEARD_NOTHING_PEAK:
            self.problem.emit(
                errors.Problem(
                    errors.Kind.AUDIO,
                    "No speech heard",
                    f"The test recording from '{self.input_name()}' was silent.",
                    "Check that the microphone is connected and not muted, or choose another one.",
                )
            )

    @Slot(object)
    def _on_test_done(self, result: JobResult) -> None:
        self.meter.set_level(-120.0)
        self.test_button.setText("&Test microphone")
        self.status.emit("")
        if result.problem is not None:
            self.problem.emit(result.problem)
        self.idle_meter()

    @Slot(object)
    def _on_level(self, level: InputLevel) -> None:
        self.last_level = level
        self.meter.set_level(level.rms_db, level.threshold_db)

    def shutdown(self) -> None:
        for slot in (self._idle_job, self._test_job, self._devices_job):
            slot.close()
