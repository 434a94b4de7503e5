"""Field groups of the connection dialog: a deployment name and its family per capability, and
retries/timeout/voice."""

from __future__ import annotations

from PySide6.QtCore import Slot
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.core import capabilities
from app.core.capabilities import Family
from app.core.profiles import Deployments, Profile
from app.ui.common.a11y import describe

FIELDS = (  # capability, label, placeholder (the seed's deployment names)
    ("chat", "C&hat", "gpt-4o"),
    ("speech", "Spee&ch (text to speech)", "tts-hd"),
    ("transcription", "Transcr&iption", "whisper"),
    ("images", "I&mages", "dall-e-3"),
    ("embeddings", "Embeddin&gs", "text-embedding-3-large"),
    ("completions", "Comp&letions (legacy)", "gpt-35-turbo-instruct"),
    ("realtime", "Re&altime (live voice)", "gpt-realtime"),
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
    """Each capability's deployment name, with the model family it serves: learned from Azure (a chat, the
    connection test), else guessed from the name, and correctable here (kept in `Profile.families`)."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__("Deployments (leave blank what this resource does not have)", parent)
        form = QFormLayout(self)
        self.edits: dict[str, QLineEdit] = {}
        self.family_boxes: dict[str, QComboBox] = {}
        self._profile = Profile(name="", endpoint="")
        self._set_by_user: set[str] = set()  # capabilities whose family the user chose
        self._learned: dict[str, str] = {}  # deployment -> family the connection test showed
        self._models: dict[str, str] = {}  # deployment -> the model it said answered
        for capability, label, placeholder in FIELDS:
            edit = QLineEdit()
            edit.setPlaceholderText(f"e.g. {placeholder}")
            name = f"{label.replace('&', '').split(' (')[0]} deployment"
            edit.setAccessibleName(name)
            box = QComboBox()
            box.addItem("Family: unknown", "")
            for family in Family:
                box.addItem(family.label, family.value)
            box.setAccessibleName(f"{name} family")
            describe(box, "The kind of model the deployment serves, which decides the options Parley offers")
            box.activated.connect(lambda _i, c=capability: self._set_by_user.add(c))
            edit.textChanged.connect(lambda _t, c=capability: self._guess(c))
            self.edits[capability] = edit
            self.family_boxes[capability] = box
            caption = QLabel(label)
            caption.setBuddy(edit)
            row = QWidget()
            line = QHBoxLayout(row)
            line.setContentsMargins(0, 0, 0, 0)
            line.addWidget(edit, 3)
            line.addWidget(box, 2)
            form.addRow(caption, row)

    def values(self) -> Deployments:
        from dataclasses import replace

        # Starts from what was loaded, so a capability without a field here is never dropped on save.
        return replace(self._profile.deployments, **{c: e.text().strip() for c, e in self.edits.items()})

    def fill(self, deployments: Deployments, profile: Profile | None = None) -> None:
        self._profile = profile or Profile(name="", endpoint="", deployments=deployments)
        self._learned.clear()
        self._models.clear()
        self._set_by_user.clear()
        for capability, edit in self.edits.items():
            edit.setText(deployments.for_capability(capability))
            self._guess(capability)

    def family(self, capability: str) -> Family | None:
        return capabilities.parse(str(self.family_boxes[capability].currentData() or ""))

    def _source(self, deployment: str) -> str:
        if deployment in self._learned:
            return "shown by the connection test"
        if deployment in self._profile.families:
            return "learned from Azure or set by you"
        return "guessed from the name: correct it if the name does not say"

    @Slot()
    def _guess(self, capability: str) -> None:
        """What is known of the deployment now named in the field (unless the user chose its family)."""
        if capability in self._set_by_user:
            return
        deployment = self.edits[capability].text().strip()
        self.family_boxes[capability].setEnabled(bool(deployment))
        known = self._learned.get(deployment) or (self._profile.family(deployment) if deployment else None)
        self._show(capability, str(known or ""), self._source(deployment) if deployment else "")

    def _show(self, capability: str, family: str, source: str) -> None:
        box = self.family_boxes[capability]
        box.setCurrentIndex(max(0, box.findData(family)))
        box.setToolTip(f"The kind of model this deployment serves ({source})" if source else "")

    def learn(self, deployment: str, family: Family | None, model: str | None = None) -> None:
        """The connection test showed what `deployment` serves: shown, and kept when the profile is saved."""
        if model and deployment:
            self._models[deployment] = model
        if family is None or not deployment:
            return
        self._learned[deployment] = family.value
        for capability, edit in self.edits.items():
            if edit.text().strip() == deployment and capability not in self._set_by_user:
                self._show(capability, family.value, self._source(deployment))

    def models(self) -> dict[str, str]:
        return {**self._profile.models, **self._models}

    def families(self) -> dict[str, str]:
        """`Profile.families` as the form says: what was kept, what the test showed, and what the user chose;
        a family only the name suggested is not stored (the name keeps deciding)."""
        families = {**self._profile.families, **self._learned}
        for capability, edit in self.edits.items():
            deployment = edit.text().strip()
            chosen = str(self.family_boxes[capability].currentData() or "")
            if not deployment:
                continue
            if capability in self._set_by_user:
                if chosen:
                    families[deployment] = chosen
                else:
                    families.pop(deployment, None)
        return families


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
        describe(self.voice, "The voice the Voice tab starts with")
        self.speed = QDoubleSpinBox()
        self.speed.setRange(0.25, 4.0)
        self.speed.setSingleStep(0.25)
        describe(self.speed, "How fast that voice speaks, 1 is normal")
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
