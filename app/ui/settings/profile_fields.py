"""Field groups of the connection dialog: a deployment name per capability, and retries/timeout/voice."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.core.profiles import Deployments, Profile

FIELDS = (  # capability, label, placeholder (the seed's deployment names)
    ("chat", "C&hat", "gpt-4o"),
    ("speech", "Spee&ch (text to speech)", "tts-hd"),
    ("transcription", "Transcr&iption", "whisper"),
    ("images", "I&mages", "dall-e-3"),
    ("embeddings", "Embeddin&gs", "text-embedding-3-large"),
    ("completions", "Comp&letions (legacy)", "gpt-35-turbo-instruct"),
)
VOICES = ("alloy", "echo", "fable", "onyx", "nova", "shimmer")


def add_row(form: QFormLayout, label: str, field: QWidget, note: QLabel | None, name: str) -> None:
    """A labelled row whose label is the field's buddy (Alt+letter), with an optional message under the field."""
    caption = QLabel(label)
    caption.setBuddy(field)
    field.setAccessibleName(name)
    if note is None:
        form.addRow(caption, field)
        return
    note.setAccessibleName(f"{name} message")
    box = QWidget()
    column = QVBoxLayout(box)
    column.setContentsMargins(0, 0, 0, 0)
    column.addWidget(field)
    column.addWidget(note)
    form.addRow(caption, box)


class DeploymentFields(QGroupBox):
    def __init__(self, parent: QWidget | None = None):
        super().__init__("Deployments (leave blank what this resource does not have)", parent)
        form = QFormLayout(self)
        self.edits: dict[str, QLineEdit] = {}
        for capability, label, placeholder in FIELDS:
            edit = QLineEdit()
            edit.setPlaceholderText(f"e.g. {placeholder}")
            self.edits[capability] = edit
            add_row(form, label, edit, None, f"{label.replace('&', '').split(' (')[0]} deployment")

    def values(self) -> Deployments:
        return Deployments(**{c: e.text().strip() for c, e in self.edits.items()})

    def fill(self, deployments: Deployments) -> None:
        for capability, edit in self.edits.items():
            edit.setText(deployments.for_capability(capability))


class RequestFields(QGroupBox):
    """Per-profile request behaviour (retries, timeout) and the voice tab's defaults (voice, speed)."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__("Requests and voice", parent)
        form = QFormLayout(self)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.FieldsStayAtSizeHint)
        self.retries = QSpinBox()
        self.retries.setRange(0, 10)
        self.retries.setToolTip("How often a rate-limited or failed request is retried")
        self.timeout = QSpinBox()
        self.timeout.setRange(5, 600)
        self.timeout.setSuffix(" s")
        self.timeout.setToolTip("How long to wait for Azure before giving up on a request")
        self.voice = QComboBox()
        self.voice.addItems(VOICES)
        self.speed = QDoubleSpinBox()
        self.speed.setRange(0.25, 4.0)
        self.speed.setSingleStep(0.25)
        add_row(form, "Ma&x retries", self.retries, None, "Maximum retries")
        add_row(form, "Time&out", self.timeout, None, "Timeout in seconds")
        add_row(form, "Default v&oice", self.voice, None, "Default voice")
        add_row(form, "Voice spee&d", self.speed, None, "Voice speed")

    def fill(self, profile: Profile) -> None:
        self.retries.setValue(profile.max_retries)
        self.timeout.setValue(int(round(profile.timeout)))
        self.voice.setCurrentText(profile.tts_voice if profile.tts_voice in VOICES else "alloy")
        self.speed.setValue(profile.tts_speed)

    def apply(self, profile: Profile) -> Profile:
        return profile.with_changes(
            max_retries=self.retries.value(),
            timeout=float(self.timeout.value()),
            tts_voice=self.voice.currentText(),
            tts_speed=self.speed.value(),
        )
