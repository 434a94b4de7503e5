"""The dialog's authentication part: API key (masked, show/hide, remember in the OS keyring or for this session
only) or Microsoft Entra ID (sign in through DefaultAzureCredential, or the browser, and see who signed in).

The keyring and the credential chain are only touched on Jobs; this widget shows what they answered.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt, Signal, Slot
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from app.core import entra, profile_ops
from app.core.profile_ops import KeyState
from app.core.profiles import AuthMode
from app.ui.common.a11y import describe
from app.ui.common.problem_card import Card
from app.ui.common.workers import JobGroup, JobResult, plain

NO_KEYRING = (
    "No keyring is available on this computer, so the key will be kept for this session only "
    "(in memory, never written to disk). You will be asked for it again next time."
)


class AuthPanel(QWidget):
    changed = Signal()
    signed_in = Signal(object)  # app.core.entra.SignIn

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.key_state: KeyState | None = None
        self._jobs = JobGroup(self, "auth")
        self.key_radio = QRadioButton("API &key")
        self.entra_radio = QRadioButton("Microsoft &Entra ID")
        self.key_radio.setChecked(True)
        group = QButtonGroup(self)
        group.addButton(self.key_radio)
        group.addButton(self.entra_radio)
        describe(self.key_radio, "Signs requests with the resource's API key")
        describe(self.entra_radio, "Signs requests with your Microsoft Entra ID account, no key needed")
        self.key_radio.toggled.connect(self._on_mode)
        radios = QHBoxLayout()
        radios.addWidget(self.key_radio)
        radios.addWidget(self.entra_radio)
        radios.addStretch(1)

        # Two pages shown one at a time (not a QStackedWidget: its height-for-width is the tallest page's).
        self.key_page, self.entra_page = self._key_page(), self._entra_page()
        self.entra_page.hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(radios)
        layout.addWidget(self.key_page)
        layout.addWidget(self.entra_page)

    def _key_page(self) -> QWidget:
        page = QWidget()
        self.key_edit = QLineEdit()
        self.key_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.key_edit.setAccessibleName("API key")
        self.key_edit.setPlaceholderText("Paste KEY 1 or KEY 2 from the portal (Keys and Endpoint)")
        self.key_edit.textChanged.connect(self.changed)
        self.show_key = QPushButton("Sho&w")
        self.show_key.setCheckable(True)
        self.show_key.setAccessibleName("Show the API key")
        describe(self.show_key, "Shows or hides the key's characters")
        self.show_key.toggled.connect(self._on_show_key)
        row = QHBoxLayout()
        row.addWidget(self.key_edit, 1)
        row.addWidget(self.show_key)
        self.remember = QCheckBox("&Remember key in the OS keyring")
        self.remember.setChecked(True)
        self.remember.setAccessibleName("Remember key in the OS keyring")
        describe(
            self.remember,
            "Keeps the key in the system's keyring, never in a file; otherwise only until Parley quits",
        )
        self.remember.toggled.connect(self._on_remember)
        self.key_note = QLabel()
        self.key_note.setWordWrap(True)
        self.key_note.setAccessibleName("Where the key is kept")
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addWidget(self.remember)
        layout.addWidget(self.key_note)
        return page

    def _entra_page(self) -> QWidget:
        page = QWidget()
        note = QLabel(
            "Parley asks DefaultAzureCredential for a token: environment variables, managed identity, "
            "Azure CLI (<code>az login</code>), … Your account needs the <i>Cognitive Services OpenAI "
            "User</i> role on the resource."
        )
        note.setWordWrap(True)
        self.sign_in_button = QPushButton("&Sign in with Microsoft Entra ID")
        self.sign_in_button.setAccessibleName("Sign in with Microsoft Entra ID")
        self.sign_in_button.clicked.connect(self._on_sign_in)
        self.browser_button = QPushButton("Sign in with &browser")
        self.browser_button.setAccessibleName("Sign in with browser")
        self.browser_button.setToolTip(
            "Opens your browser to sign in when no other credential works; with no "
            "browser here, shows a code to enter on another device"
        )
        self.browser_button.clicked.connect(self._on_browser)
        buttons = QHBoxLayout()
        buttons.addWidget(self.sign_in_button)
        buttons.addWidget(self.browser_button)
        buttons.addStretch(1)
        self.entra_card = Card(in_settings=True)
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(note)
        layout.addLayout(buttons)
        layout.addWidget(self.entra_card)
        return page

    # -- values ------------------------------------------------------------------------------------------------
    def auth(self) -> AuthMode:
        return AuthMode.ENTRA if self.entra_radio.isChecked() else AuthMode.KEY

    def set_auth(self, mode: AuthMode) -> None:
        (self.entra_radio if mode == AuthMode.ENTRA else self.key_radio).setChecked(True)
        self._on_mode()

    def key(self) -> str:
        return self.key_edit.text().strip()

    def remember_key(self) -> bool:
        return self.remember.isEnabled() and self.remember.isChecked()

    @property
    def busy(self) -> bool:
        return self._jobs.running

    # -- keyring -----------------------------------------------------------------------------------------------
    def load_key(self, profile_name: str | None) -> None:
        """Ask (on a Job) whether there is a keyring and, for an existing profile, fill in its stored key."""
        self.key_note.setText("Checking the keyring…")
        self._jobs.start(plain(profile_ops.load_key, profile_name), self._on_key_loaded, name="load-key")

    @Slot(object)
    def _on_key_loaded(self, result: JobResult) -> None:
        if result.problem is not None:
            self.key_note.setText(f"The keyring could not be checked: {result.problem.detail}")
            return
        state: KeyState = result.value
        self.key_state = state
        if state.key and not self.key_edit.text():
            self.key_edit.setText(state.key)
        if state.where == "session":
            self.remember.setChecked(False)
        if not state.keyring_usable:
            self.remember.setChecked(False)
            self.remember.setEnabled(False)
            self.key_note.setText(NO_KEYRING)
        elif state.problem is not None:
            self.key_note.setText(
                f"{state.problem.title}: {state.problem.detail} Type the key again, or keep it "
                "for this session only."
            )
        else:
            self._on_remember()

    @Slot()
    def _on_remember(self) -> None:
        state = self.key_state
        backend = state.backend if state is not None else "the OS keyring"
        if not self.remember.isEnabled():
            self.key_note.setText(NO_KEYRING)
        elif self.remember.isChecked():
            stored = (
                " A key is stored there for this profile."
                if state is not None and state.where == "keyring"
                else ""
            )
            self.key_note.setText(f"Kept in {backend}, never in Parley's files.{stored}")
        else:
            self.key_note.setText("Kept for this session only (in memory, never written to disk).")

    @Slot(bool)
    def _on_show_key(self, shown: bool) -> None:
        self.key_edit.setEchoMode(QLineEdit.EchoMode.Normal if shown else QLineEdit.EchoMode.Password)
        self.show_key.setText("&Hide" if shown else "Sho&w")
        self.show_key.setAccessibleName("Hide the API key" if shown else "Show the API key")

    @Slot()
    def _on_mode(self) -> None:
        entra = self.entra_radio.isChecked()
        self.key_page.setVisible(not entra)
        self.entra_page.setVisible(entra)
        self.changed.emit()

    def kept_for_session(self, reason: str) -> None:
        """After a save fell back to memory: say so where the user looks for where the key is."""
        self.remember.setChecked(False)
        self.key_note.setText(f"Kept for this session only (in memory, never written to disk): {reason}")

    # -- Entra ID ----------------------------------------------------------------------------------------------
    @Slot()
    def _on_sign_in(self) -> None:
        self._sign_in(interactive=False)

    @Slot()
    def _on_browser(self) -> None:
        from app.core import client as client_mod

        if client_mod.browser_available():
            self._sign_in(interactive=True)
            return
        # No browser on this machine (SSH, a server, a kiosk): sign in on another device with a code.
        self.sign_in_button.setEnabled(False)
        self.browser_button.setEnabled(False)
        self.entra_card.show_message(
            "info", "Signing in with a code…", "Asking Microsoft Entra ID for a sign-in code."
        )
        self._code_bridge = _CodeBridge(self)
        self._code_bridge.code.connect(self._show_code)
        self._jobs.start(
            plain(entra.sign_in_with_code, self._code_bridge.prompt),
            self._on_signed_in,
            name="entra-device-code",
            outlive=True,
        )

    @Slot(str, str)
    def _show_code(self, uri: str, code: str) -> None:
        self.entra_card.show_message(
            "info",
            "Finish signing in on another device",
            f"Open {uri} in a browser on any device and enter the code {code}. Parley waits here until you are done.",
        )
        self.entra_card.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)

    def _sign_in(self, *, interactive: bool) -> None:
        self.sign_in_button.setEnabled(False)
        self.browser_button.setEnabled(False)
        where = "your browser" if interactive else "DefaultAzureCredential"
        self.entra_card.show_message("info", "Signing in…", f"Asking {where} for a token.")
        # Not cancellable (azure.identity has no cancel), so it may outlive the dialog.
        self._jobs.start(
            plain(entra.sign_in, interactive=interactive),
            self._on_signed_in,
            name="entra-sign-in",
            outlive=True,
        )

    @Slot(object)
    def _on_signed_in(self, result: JobResult) -> None:
        self.sign_in_button.setEnabled(True)
        self.browser_button.setEnabled(True)
        if result.cancelled:
            self.entra_card.clear()
        elif result.problem is not None:
            self.entra_card.show_problem(result.problem)
        else:
            self.entra_card.show_message("ok", "Signed in", result.value.describe())
            self.signed_in.emit(result.value)


class _CodeBridge(QObject):
    """Carries the device code from the worker (azure.identity calls back there) to the dialog, queued."""

    code = Signal(str, str)

    def prompt(self, uri: str, code: str, _expires_on: object) -> None:
        self.code.emit(uri, code)
