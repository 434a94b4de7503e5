"""Add or edit a connection profile: name, endpoint (checked as typed), authentication, api-version, a deployment
per capability, retries/timeout/voice, a real connection test, and Save (profile to profiles.json, key to the
keyring, both on a Job), after which the app reconnects."""

from __future__ import annotations

import re

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from app.core import capabilities, endpoints, profile_ops, profiles
from app.core.capabilities import Family
from app.core.endpoints import Level
from app.core.profile_ops import SaveOutcome, name_problem
from app.core.profiles import AuthMode, Profile
from app.ui.common.a11y import describe
from app.ui.common.problem_card import Card
from app.ui.common.services import AppServices
from app.ui.common.workers import JobResult, JobSlot, plain
from app.ui.settings.auth_panel import AuthPanel
from app.ui.settings.probe_panel import ProbePanel
from app.ui.settings.profile_fields import DeploymentFields, RequestFields, add_row

_VERSION_RE = re.compile(r"^\d{4}-\d{2}-\d{2}(-preview)?$")


def _name_for(url: str | None) -> str:
    """A profile name from an endpoint: the resource ("contoso"), or "Local (127.0.0.1:8080)" for this computer."""
    if not url:
        return ""
    host_port = url.split("://", 1)[-1].split("/", 1)[0]
    host = (
        host_port.rsplit(":", 1)[0].strip("[]")
        if host_port.count(":") == 1 or "]" in host_port
        else host_port
    )
    if host in endpoints.LOCAL_HOSTS:
        return f"Local ({host_port})"
    first = host.split(".", 1)[0]
    return "" if not first or first[0].isdigit() else first


def _note() -> QLabel:
    label = QLabel()
    label.setWordWrap(True)
    label.hide()
    return label


class ConnectionDialog(QDialog):
    saved = Signal(object)  # SaveOutcome

    def __init__(
        self,
        services: AppServices,
        profile: Profile | None = None,
        *,
        existing: list[str] | None = None,
        parent: QWidget | None = None,
    ):
        super().__init__(parent)
        self.services = services
        self.old_name = profile.name if profile is not None else None
        self._original = profile  # what the form does not show (learned models, ...) is kept on save
        self.existing = list(existing or [])
        self._name_typed = profile is not None
        self._fixing = False
        self._save_job = JobSlot(self, "save-profile")
        self.setWindowTitle(f"Edit profile — {profile.name}" if profile else "Connect Azure OpenAI")
        self.setAccessibleName(self.windowTitle())
        self.resize(640, 760)

        self.name_edit = QLineEdit()
        self.name_edit.setPlaceholderText("e.g. Work (filled from the endpoint)")
        self.name_edit.textEdited.connect(self._on_name_edited)
        self.name_note = _note()
        self.endpoint_edit = QLineEdit()
        self.endpoint_edit.setPlaceholderText(endpoints.EXAMPLE)
        self.endpoint_edit.textChanged.connect(self._on_endpoint_changed)
        self.endpoint_edit.editingFinished.connect(self._on_endpoint_finished)
        self.endpoint_note = _note()
        # Its line is kept while empty: a note appearing as the user types must not push the form down.
        self.endpoint_note.setMinimumHeight(self.endpoint_note.fontMetrics().lineSpacing())
        policy = self.endpoint_note.sizePolicy()
        policy.setRetainSizeWhenHidden(True)
        self.endpoint_note.setSizePolicy(policy)
        self.auth = AuthPanel()
        self.version_combo = QComboBox()
        self.version_combo.setEditable(True)
        self.version_combo.addItems(profiles.KNOWN_API_VERSIONS)
        self.version_combo.setToolTip("GA: 2024-10-21. Text to speech needs a preview version.")
        self.version_combo.currentTextChanged.connect(self._check_version)
        self.version_note = _note()
        # A reasoning deployment on an api-version Azure does not serve it at: one click to a current one.
        self.version_fix = QPushButton(f"Use {profiles.PREVIEW_API_VERSION}")
        self.version_fix.setAccessibleName("Use a current api-version")
        self.version_fix.clicked.connect(
            lambda: self.version_combo.setCurrentText(profiles.PREVIEW_API_VERSION)
        )
        self.version_fix.hide()
        self.api_combo = QComboBox()
        self.api_combo.addItem("Dated api-version (/openai/deployments/…)", profiles.API_DATED)
        self.api_combo.addItem("v1 (/openai/v1/, no api-version)", profiles.API_V1)
        self.api_combo.setToolTip("Azure's v1 API needs no api-version; the dated API names one per request.")
        self.api_combo.currentIndexChanged.connect(self._on_api_changed)
        self.deployments = DeploymentFields()
        self.deployment_edits = self.deployments.edits
        for edit in self.deployment_edits.values():
            edit.textChanged.connect(self._check_version)
        for box in self.deployments.family_boxes.values():
            box.currentIndexChanged.connect(self._check_version)
        self.requests = RequestFields()

        form = QFormLayout()
        add_row(form, "&Name", self.name_edit, self.name_note, "Profile name")
        add_row(form, "End&point", self.endpoint_edit, self.endpoint_note, "Endpoint")
        form.addRow("Authentication", self.auth)
        add_row(form, "API t&ype", self.api_combo, None, "API type")
        add_row(form, "API &version", self.version_combo, self.version_note, "API version")
        form.addRow("", self.version_fix)

        self.probe = ProbePanel(self.probe_request)
        self.probe.result_shown.connect(lambda r: self.deployments.learn(r.deployment, r.family, r.model))
        self.save_card = Card(in_settings=True)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        self.save_button = self.buttons.button(QDialogButtonBox.StandardButton.Save)
        self.save_button.setAccessibleName("Save profile")
        describe(self.save_button, "Saves this connection profile")
        describe(self.buttons.button(QDialogButtonBox.StandardButton.Cancel), "Closes without saving")
        self.buttons.accepted.connect(self._on_save)
        self.buttons.rejected.connect(self.reject)

        body = QWidget()
        inner = QVBoxLayout(body)
        inner.addLayout(form)
        inner.addWidget(self.deployments)
        inner.addWidget(self.requests)
        inner.addWidget(self.probe)
        inner.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setWidget(body)
        layout = QVBoxLayout(self)
        layout.addWidget(scroll, 1)
        layout.addWidget(self.save_card)
        layout.addWidget(self.buttons)
        self._fill(profile)
        self.auth.load_key(self.old_name)
        # Test results describe the form as it was: any edit makes them stale, so they go.
        for edit in (self.name_edit, self.endpoint_edit, *self.deployment_edits.values()):
            edit.textChanged.connect(self._forget_test)
        self.version_combo.currentTextChanged.connect(self._forget_test)
        self.auth.changed.connect(self._forget_test)

    def _fill(self, profile: Profile | None) -> None:
        p = profile or Profile(name="", endpoint="")
        self.name_edit.setText(p.name)
        self.endpoint_edit.setText(p.endpoint)
        self.auth.set_auth(p.auth)
        self.version_combo.setCurrentText(p.api_version)
        self.api_combo.setCurrentIndex(max(0, self.api_combo.findData(p.api)))
        self.deployments.fill(p.deployments, p)
        self.requests.fill(p)
        if profile is None:
            self.endpoint_note.hide()

    # -- values ------------------------------------------------------------------------------------------------
    def profile(self) -> Profile:
        check = endpoints.check_endpoint(self.endpoint_edit.text())
        base = self._original or Profile(name="", endpoint="")
        return self.requests.apply(
            base.with_changes(
                name=self.name_edit.text().strip(),
                endpoint=check.url or self.endpoint_edit.text().strip(),
                api_version=self.version_combo.currentText().strip() or profiles.PREVIEW_API_VERSION,
                auth=self.auth.auth(),
                deployments=self.deployments.values(),
                families=self.deployments.families(),
                models=self.deployments.models(),
                api=str(self.api_combo.currentData()),
            )
        )

    def problems(self) -> list[tuple[QWidget, str]]:
        """What stops a save (or a test), each with the field to focus; also shown under the fields."""
        found: list[tuple[QWidget, str]] = []
        check = self._show_endpoint(endpoints.check_endpoint(self.endpoint_edit.text()))
        if not check.usable:
            found.append((self.endpoint_edit, check.message))
        text = name_problem(self.name_edit.text(), self.existing, self.old_name)
        self._show(self.name_note, text, "error")
        if text:
            found.append((self.name_edit, text))
        if self._check_version():
            found.append((self.version_combo, self.version_note.text()))
        has_stored = self.auth.key_state is not None and self.auth.key_state.where != "none"
        if self.auth.auth() == AuthMode.KEY and not self.auth.key() and not has_stored:
            found.append((self.auth.key_edit, "Paste the API key, or choose Microsoft Entra ID."))
            self.auth.key_note.setText("Paste the API key, or choose Microsoft Entra ID.")
        return found

    def probe_request(self) -> tuple[Profile, str, str | None] | None:
        problems = [p for p in self.problems() if p[0] is not self.name_edit]
        if problems:
            problems[0][0].setFocus()
            return None
        return self.profile(), self.auth.key(), self.old_name

    # -- live checks -------------------------------------------------------------------------------------------
    @Slot(str)
    def _on_name_edited(self, text: str) -> None:
        self._name_typed = bool(text.strip())
        self._show(
            self.name_note, name_problem(text, self.existing, self.old_name) if text.strip() else "", "error"
        )

    @Slot()
    def _forget_test(self) -> None:
        if self.probe.running:
            self.probe.cancel()
        if self.probe.results or self.probe.status.text():
            self.probe.reset()

    @Slot(str)
    def _on_endpoint_changed(self, text: str) -> None:
        if self._fixing:
            return
        check = self._show_endpoint(endpoints.check_endpoint(text))
        if endpoints.is_v1_endpoint(text):
            self.api_combo.setCurrentIndex(self.api_combo.findData(profiles.API_V1))
        if self._name_typed:
            return
        # The name follows the endpoint until the user types one; a stale error about the old name goes with it.
        self.name_edit.setText(_name_for(check.url))
        if self.name_note.isVisible():
            name = self.name_edit.text()
            self._show(
                self.name_note, name_problem(name, self.existing, self.old_name) if name else "", "error"
            )

    @Slot()
    def _on_endpoint_finished(self) -> None:
        """A pasted deployment URL is cut back to the resource; its deployment and api-version fill the form."""
        check = endpoints.check_endpoint(self.endpoint_edit.text())
        if not check.usable or not check.url or check.url == self.endpoint_edit.text().strip():
            return
        self._fixing = True
        try:
            self.endpoint_edit.setText(check.url)
        finally:
            self._fixing = False
        if check.deployment and not self.deployment_edits["chat"].text().strip():
            self.deployment_edits["chat"].setText(check.deployment)
        if check.api_version:
            self.version_combo.setCurrentText(check.api_version)

    def _show_endpoint(self, check: endpoints.EndpointCheck) -> endpoints.EndpointCheck:
        self._show(self.endpoint_note, check.message, "error" if check.level == Level.ERROR else "warning")
        return check

    @Slot()
    def _on_api_changed(self) -> None:
        self.version_combo.setEnabled(self.api_combo.currentData() != profiles.API_V1)
        self._check_version()

    def _reasoning_too_old(self, version: str) -> str:
        """The first reasoning deployment the dated api-version is too old for, else ""."""
        if (
            self.api_combo.currentData() == profiles.API_V1
            or version[:10] >= capabilities.REASONING_API_VERSION[:10]
        ):
            return ""
        for capability, edit in self.deployment_edits.items():
            if edit.text().strip() and self.deployments.family(capability) == Family.REASONING:
                return edit.text().strip()
        return ""

    @Slot()
    def _check_version(self) -> str:
        version = self.version_combo.currentText().strip()
        text = ""
        self.version_fix.hide()
        if self.api_combo.currentData() == profiles.API_V1:
            self._show(self.version_note, "The v1 API sends no api-version.", "")
            return text
        if not _VERSION_RE.match(version):
            text = "An api-version looks like 2024-10-21 or 2024-10-01-preview."
            self._show(self.version_note, text, "error")
            return text
        reasoning = self._reasoning_too_old(version)
        if reasoning:  # first: without a newer version the chat does not answer at all
            self._show(
                self.version_note,
                f"'{reasoning}' is a reasoning model: Azure serves those only at api-version "
                f"{capabilities.REASONING_API_VERSION} or later. Use {profiles.PREVIEW_API_VERSION}, or "
                "switch the API type to v1.",
                "warning",
            )
            self.version_fix.show()
        elif (
            self.deployment_edits.get("speech")
            and self.deployment_edits["speech"].text().strip()
            and not version.endswith("-preview")
        ):
            self._show(
                self.version_note,
                "Text to speech needs a preview api-version (e.g. 2024-10-01-preview).",
                "warning",
            )
        else:
            self._show(self.version_note, "", "")
        return text

    @staticmethod
    def _show(label: QLabel, text: str, kind: str) -> None:
        label.setText(text)
        colour = {"error": "#c0392b", "warning": "#b9770e"}.get(kind, "")
        label.setStyleSheet(f"color: {colour}" if colour else "")
        label.setVisible(bool(text))

    # -- save --------------------------------------------------------------------------------------------------
    @Slot()
    def _on_save(self) -> None:
        if self._save_job.running:
            return
        problems = self.problems()
        if problems:
            problems[0][0].setFocus()
            self.save_card.show_message("problem", "Not saved yet", problems[0][1])
            return
        failures = self.probe.failures
        if failures and not self._confirm_failures(len(failures)):
            return
        profile = self.profile()
        fn = plain(
            profile_ops.save_profile,
            profile,
            key=self.auth.key(),
            remember=self.auth.remember_key(),
            old_name=self.old_name,
        )
        self.save_button.setEnabled(False)
        self.save_card.show_message("info", "Saving…", "")
        self._save_job.start(fn, self._on_saved)

    def _confirm_failures(self, count: int) -> bool:
        answer = QMessageBox.question(
            self,
            "Save with failures?",
            f"The connection test found {count} problem(s). Save this profile anyway?",
            QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel,
        )
        return answer == QMessageBox.StandardButton.Save

    @Slot(object)
    def _on_saved(self, result: JobResult) -> None:
        self.save_button.setEnabled(True)
        if result.problem is not None:
            self.save_card.show_problem(result.problem)
            return
        outcome: SaveOutcome = result.value
        self._reconnect(outcome.profile.name, self.old_name)
        self.old_name = outcome.profile.name
        self.existing = [n for n in self.existing if n != self.old_name]
        self.services.profiles_changed.emit()
        self.saved.emit(outcome)
        if outcome.problem is not None:
            self.save_card.show_message(
                "warning",
                "Saved — the key is kept for this session only",
                f"{outcome.problem.detail}\nNothing is lost: Parley uses the key until you quit. To store it, "
                "unlock or install a keyring, then edit the profile and save again.",
            )
            self.auth.kept_for_session(outcome.problem.title.rstrip(".") + ".")
            self.save_button.hide()
            self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setText("Close")
            return
        self.accept()

    def _reconnect(self, name: str, old_name: str | None) -> None:
        """A new profile, the current one, or any profile while in demo mode or not connected: connect to it."""
        conn = self.services.connection
        current = None if conn is None or conn.demo else conn.profile.name
        if (
            old_name is None
            or self.services.last_problem is not None
            or current is None
            or current in (name, old_name)
        ):
            self.services.reconnect(name, demo=False, remember=True)

    def done(self, result: int) -> None:
        self.probe.cancel()
        super().done(result)
