"""Small voice-tab widgets: the input level meter and the state badge (Idle, Listening, Transcribing, Thinking, Speaking)."""

from __future__ import annotations

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPalette
from PySide6.QtWidgets import QLabel, QWidget

from app.voice.events import VoiceState

STATE_COLOURS = {
    VoiceState.IDLE: "#888888",
    VoiceState.LISTENING: "#2e9d4f",
    VoiceState.TRANSCRIBING: "#c98a1a",
    VoiceState.THINKING: "#2f6fde",
    VoiceState.SPEAKING: "#8e44ad",
}


class LevelMeter(QWidget):
    """A horizontal dBFS bar from -60 to 0 with the VAD threshold drawn as a tick."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.level_db = -120.0
        self.threshold_db: float | None = None
        self.setMinimumHeight(14)
        self.setAccessibleName("Microphone level")
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt name
        return QSize(240, 16)

    def set_level(self, level_db: float, threshold_db: float | None = None) -> None:
        if abs(level_db - self.level_db) < 0.5 and threshold_db == self.threshold_db:
            return
        self.level_db, self.threshold_db = level_db, threshold_db
        self.setAccessibleDescription(f"{max(-60, round(level_db))} dB")
        self.update()

    @staticmethod
    def _fraction(db: float) -> float:
        return min(1.0, max(0.0, (db + 60.0) / 60.0))

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt name
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        r = QRectF(self.rect()).adjusted(0.5, 0.5, -0.5, -0.5)
        p.setPen(self.palette().color(QPalette.ColorRole.Mid))
        p.setBrush(self.palette().color(QPalette.ColorRole.Base))
        p.drawRoundedRect(r, 3, 3)
        frac = self._fraction(self.level_db)
        if frac > 0:
            colour = QColor("#2e9d4f") if self.level_db < -9 else QColor("#d35400")
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(colour)
            p.drawRoundedRect(QRectF(r.x() + 1, r.y() + 1, (r.width() - 2) * frac, r.height() - 2), 2, 2)
        if self.threshold_db is not None:
            x = r.x() + r.width() * self._fraction(self.threshold_db)
            p.setPen(self.palette().color(QPalette.ColorRole.Text))
            p.drawLine(int(x), int(r.top()), int(x), int(r.bottom()))
        p.end()


class StateBadge(QLabel):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setAccessibleName("Voice state")
        self.set_state(VoiceState.IDLE)

    def set_state(self, state: VoiceState) -> None:
        self.state = state
        colour = STATE_COLOURS[state]
        self.setText(f"<span style='color:{colour}; font-size:16pt'>●</span> <b>{state.value}</b>")
        self.setAccessibleDescription(state.value)
