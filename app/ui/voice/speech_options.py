"""The Voice tab's speech options: the voices the speech deployment's family offers, the speed, and a speaking style
(gpt-4o-mini-tts's `instructions`, remembered as a preference) shown only where the deployment takes one."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, Slot
from PySide6.QtWidgets import QComboBox, QDoubleSpinBox, QFormLayout, QHBoxLayout, QLabel, QLineEdit, QWidget

from app.core import audio_families
from app.core.capabilities import Family
from app.ui import design
from app.ui.common import prefs
from app.ui.common.a11y import describe
from app.ui.common.services import AppServices
from app.ui.common.workers import JobResult, JobSlot, plain


def _buddy(text: str, widget: QWidget) -> QLabel:
    label = QLabel(text)
    label.setBuddy(widget)  # Alt+letter focuses the control
    return label


class SpeechOptions(QObject):
    """Owns the voice, speed and style controls; `add_rows(form)` puts them in the tab's form."""

    def __init__(self, services: AppServices, parent: QWidget, on_problem: Any):
        super().__init__(parent)
        self.services = services
        self._on_problem = on_problem
        self._save_job = JobSlot(self, "save-voice")
        self.family: Family | None = None
        self.voice_combo = QComboBox()
        self.voice_combo.addItems(audio_families.TTS_VOICES)
        self.voice_combo.setAccessibleName("Voice")
        describe(self.voice_combo, "The voice Parley answers in")
        self.speed = QDoubleSpinBox()
        self.speed.setRange(0.25, 4.0)
        self.speed.setSingleStep(0.25)
        self.speed.setValue(1.0)
        self.speed.setAccessibleName("Speaking speed")
        self.style = QLineEdit(str(services.pref(prefs.VOICE_STYLE) or ""))
        self.style.setAccessibleName("Speaking style")
        self.style.setPlaceholderText("e.g. Speak warmly and calmly, like a radio host")
        self.style.setToolTip("How Parley's voice should sound: sent to gpt-4o-mini-tts as its instructions")
        self.style.setClearButtonEnabled(True)
        self.style_label = _buddy("Speaking st&yle:", self.style)
        self.voice_combo.activated.connect(self._save_voice)
        self.speed.editingFinished.connect(self._save_voice)
        self.style.editingFinished.connect(self._save_style)
        self._form: QFormLayout | None = None
        self.live = False  # the Live engine speaks with the Realtime API's voices, at its own pace, unstyled
        self._voice = ""

    def add_rows(self, form: QFormLayout) -> None:
        row = QHBoxLayout()
        row.addWidget(self.voice_combo)
        row.addSpacing(design.M)  # the speed is its own field, not a suffix of the voice
        row.addWidget(_buddy("Spee&d:", self.speed))
        row.addWidget(self.speed)
        row.addStretch(1)
        form.addRow(_buddy("&Voice:", self.voice_combo), row)
        form.addRow(self.style_label, self.style)
        self._form = form
        self._show_style(False)

    def _show_style(self, shown: bool) -> None:
        if self._form is not None:
            self._form.setRowVisible(self.style, shown)

    @property
    def style_shown(self) -> bool:
        return not self.live and audio_families.takes_instructions(self.family)

    def set_live(self, live: bool) -> None:
        """Offer the engine's voices (the Realtime API has its own), keeping the chosen one where it has it."""
        self.live = live
        self._fill_voices(self._voice or self.voice_combo.currentText())
        self.speed.setEnabled(not live)
        self.speed.setToolTip("The Live engine speaks at its own pace" if live else "")
        self._show_style(self.style_shown)

    def _fill_voices(self, voice: str) -> None:
        from app.core.realtime_events import VOICES

        voices = VOICES if self.live else audio_families.voices_for(self.family)
        self.voice_combo.clear()
        self.voice_combo.addItems(voices)
        self.voice_combo.setCurrentIndex(max(0, self.voice_combo.findText(voice)))

    def instructions(self) -> str:
        """The style to send: only to a deployment that takes one (tts/tts-hd get none)."""
        return self.style.text().strip() if self.style_shown else ""

    def on_connection(self, connection: Any) -> None:
        """The voice list and the style field follow the speech deployment's family (learned, set, or its name)."""
        profile = connection.profile
        speech = profile.deployments.speech
        self.family = audio_families.family_of(speech, profile.family(speech)) if speech else None
        voice, speed = profile.tts_voice, profile.tts_speed
        if connection.source not in (
            "profile",
            "store",
        ):  # demo or environment: the choice lives in preferences
            voice = str(self.services.pref(prefs.VOICE_VOICE, voice))
            speed = float(self.services.pref(prefs.VOICE_SPEED, speed))
        self._voice = voice
        self._fill_voices(voice)
        self.speed.setValue(speed)
        self._show_style(self.style_shown)

    @Slot()
    def _save_style(self) -> None:
        self.services.set_pref(prefs.VOICE_STYLE, self.style.text().strip())

    @Slot()
    def _save_voice(self, *_args: Any) -> None:
        """Voice and speed belong to the profile (Settings edits them too); demo and environment use preferences."""
        connection = self.services.connection
        if connection is None:
            return
        voice, speed = self.voice_combo.currentText(), self.speed.value()
        self._voice = voice
        if connection.source in ("profile", "store"):
            from app.core import profile_ops

            self._save_job.start(
                plain(profile_ops.set_voice, connection.profile.name, voice, speed), self._on_voice_saved
            )
        else:
            self.services.set_pref(prefs.VOICE_VOICE, voice)
            self.services.set_pref(prefs.VOICE_SPEED, speed)

    @Slot(object)
    def _on_voice_saved(self, result: JobResult) -> None:
        if result.problem is not None:
            self._on_problem(result.problem)

    def shutdown(self) -> None:
        self._save_job.close()
