"""One inline card for everything the user must see where it happened: a problem, a content-filter verdict, a wait.

Every tab shows `errors.Problem`s through `Card.show_problem`, so the words, the request id with its Copy button and
the actions look the same everywhere. `VerdictDialog` lists every category of Azure's filter annotations.
"""

from __future__ import annotations

import html
import re
import time

from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtGui import QColor, QGuiApplication, QPainter, QPen
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.core import errors, filters
from app.ui import design
from app.ui.common.link_text import LinkText

Action = tuple[str, str]  # (id emitted by `Card.action`, button text)


_URL = re.compile(r"https?://[^\s<>\"']+[^\s<>\"'.,;:!?)]")


def _link(match: re.Match[str]) -> str:
    url = match.group(0)  # already escaped; & in a URL is &amp; in both the text and the href, as HTML wants
    return f'<a href="{url}">{url}</a>'


def _html(text: str) -> str:
    """Plain text as HTML, its line breaks kept (a list of what was tried reads as a list) and its web addresses
    as links that open in the browser (`LinkText` keeps each on one line)."""
    return _URL.sub(_link, html.escape(text, quote=False)).replace("\n", "<br>")


def verdict_text(verdict: filters.Verdict) -> str:
    """'Violence (medium), Jailbreak attempt (detected)': the categories that triggered, else the notable ones."""
    return verdict.summary()


class Card(QFrame):
    """A titled, coloured box with a text, an optional request id (selectable, with Copy) and action buttons."""

    action = Signal(str)

    def __init__(self, parent: QWidget | None = None, *, in_settings: bool = False):
        """`in_settings`: the card is in Settings already, so it never offers to open them."""
        super().__init__(parent)
        self.in_settings = in_settings
        self.setObjectName("card")
        self.kind = ""
        self.problem: errors.Problem | None = None
        self.title = QLabel()
        self.title.setTextFormat(Qt.TextFormat.RichText)
        self.title.setWordWrap(True)
        self.text = LinkText()  # word-wrapped; a web address in it is never split across lines
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
        self.text.setOpenExternalLinks(True)
        self.request_id = QLabel()  # a line of its own, wrapped at its dashes in a narrow card: never cut
        self.request_id.setWordWrap(True)
        self.request_id.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.copy_id = QPushButton("Copy request id")
        self.copy_id.setAccessibleName("Copy request id")
        self.copy_id.clicked.connect(self._copy_request_id)
        self._buttons = QHBoxLayout()
        self._buttons.setContentsMargins(0, 0, 0, 0)
        # Copy request id ends the actions' row, or the id's own row in a card without actions (`_place_copy`). The
        # id wraps at its dashes: an id that could not made the card as wide as it and its button together, wider
        # than the conversation at 800 px (it scrolled sideways).
        self._id_row = QHBoxLayout()
        self._id_row.setContentsMargins(0, 0, 0, 0)
        self._id_row.addWidget(self.request_id, 1)
        self._button_row = QHBoxLayout()
        self._button_row.setContentsMargins(0, 0, 0, 0)
        self._button_row.addLayout(self._buttons, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(design.M + 2, design.S, design.M, design.S)
        layout.setSpacing(design.XS)
        layout.addWidget(self.title)
        layout.addWidget(self.text)
        layout.addLayout(self._id_row)
        layout.addLayout(self._button_row)
        self._place_copy(False)
        self._countdown = QTimer(self)
        self._countdown.setInterval(250)
        self._countdown.timeout.connect(self._tick)
        self._deadline = 0.0
        self._waiting_text = ""
        self.hide()

    # -- what to show --------------------------------------------------------------------------------------
    def show_problem(self, problem: errors.Problem, actions: tuple[Action, ...] = ()) -> None:
        """The problem in words, what to do next, its request id; filter refusals name the categories.

        A problem fixed in Settings (`Problem.fix_in_settings`) gets an "Open Settings" button (action
        "settings") after `actions`: that choice is made here, for every tab."""
        self.problem = problem
        if (
            problem.fix_in_settings
            and not self.in_settings
            and all(key != "settings" for key, _text in actions)
        ):
            actions = (*actions, ("settings", "Open Settings"))
        detail = problem.detail
        if (
            problem.verdict is not None
            and (problem.verdict.triggered or problem.verdict.notable)
            and verdict_text(problem.verdict) not in detail
        ):
            detail = f"{detail} Categories: {verdict_text(problem.verdict)}."
        if problem.revised_prompt:
            detail += f" Azure's revised prompt was: “{problem.revised_prompt}”."
        kind = "refusal" if problem.kind == errors.Kind.FILTERED else "problem"
        self._show(
            kind,
            problem.title,
            f"{_html(detail)}<br><b>{_html(problem.action)}</b>",
            problem.request_id,
            actions,
        )

    def show_message(
        self,
        kind: str,
        title: str,
        text: str,
        actions: tuple[Action, ...] = (),
        request_id: str | None = None,
    ) -> None:
        """A card that is not a Problem (a filtered answer, a note). `text` is plain text."""
        self.problem = None
        self._show(kind, title, _html(text), request_id, actions)

    def show_countdown(
        self,
        problem: errors.Problem,
        wait: float,
        attempt: int,
        max_attempts: int,
        actions: tuple[Action, ...] = (),
    ) -> None:
        """Azure asked us to wait (429) or failed transiently: count the wait down while the client retries."""
        self.problem = problem
        self._deadline = time.monotonic() + max(0.0, wait)
        self._waiting_text = (
            f"{html.escape(problem.detail)} Trying again (attempt {attempt} of {max_attempts})"
        )
        self._show("waiting", problem.title, self._countdown_text(), problem.request_id, actions)
        self._countdown.start()

    def clear(self) -> None:
        self._countdown.stop()
        self.problem = None
        self.kind = ""
        self.hide()

    # -- internals --------------------------------------------------------------------------------------------
    def _show(
        self, kind: str, title: str, text_html: str, request_id: str | None, actions: tuple[Action, ...]
    ) -> None:
        self._countdown.stop()
        self.kind = kind
        colour = self.colour()
        self.update()
        self.title.setText(f'<b style="color: {colour}">{html.escape(title)}</b>')
        self.text.setText(text_html)
        self.request_id.setText(f"Request id: {request_id}" if request_id else "")
        self.request_id.setVisible(bool(request_id))
        self.copy_id.setVisible(bool(request_id))
        self.setAccessibleName(f"{title}")
        self.setAccessibleDescription(f"{title}. {html.unescape(re.sub(r'<[^>]+>', ' ', text_html))}")
        while self._buttons.count():
            item = self._buttons.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        for action_id, label in actions:
            button = QPushButton(label)
            button.setAccessibleName(label.replace("&", ""))
            button.setProperty("action", action_id)
            button.clicked.connect(self._on_button)
            self._buttons.addWidget(button)
        self._buttons.addStretch(1)
        self._place_copy(bool(actions))
        self.show()

    def _place_copy(self, beside_actions: bool) -> None:
        """Copy request id at the end of the actions' row, or of the id's row when there are no actions (a row
        for it alone would cost a card the height a small window has not got)."""
        self._id_row.removeWidget(self.copy_id)
        self._button_row.removeWidget(self.copy_id)
        (self._button_row if beside_actions else self._id_row).addWidget(self.copy_id)

    def colour(self) -> str:
        """The kind's colour in the theme painted now."""
        from app.ui import theme

        return design.kind_colour(theme.colours(), self.kind)

    def retheme(self) -> None:
        """The theme changed (`theme.apply_theme` calls this): the title's colour is baked into its HTML."""
        if self.kind:
            title = re.sub(r"<[^>]+>", "", self.title.text())
            self.title.setText(f'<b style="color: {self.colour()}">{title}</b>')

    def paintEvent(self, event: object) -> None:  # noqa: N802 - Qt name
        """A thin border and a bar on the left in the kind's colour, painted here rather than by a style sheet:
        a widget with its own style sheet stops following its parent's font (the chat's font size)."""
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        colour = QColor(self.colour())
        tint = QColor(colour)
        tint.setAlpha(18)
        rect = self.rect().adjusted(0, 0, -1, -1)
        painter.setPen(QPen(colour, 1))
        painter.setBrush(tint)
        painter.drawRoundedRect(rect, design.RADIUS_SMALL, design.RADIUS_SMALL)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(colour)
        painter.drawRoundedRect(0, 0, 4, self.height(), 2, 2)
        painter.end()

    def buttons(self) -> dict[str, QPushButton]:
        out = {}
        for i in range(self._buttons.count()):
            widget = self._buttons.itemAt(i).widget()
            if isinstance(widget, QPushButton):
                out[str(widget.property("action"))] = widget
        return out

    def plain_text(self) -> str:
        """Title, text and request id as words (what a screen reader says; tests read it too)."""
        text = re.sub(r"<[^>]+>", " ", f"{self.title.text()} — {self.text.text()} {self.request_id.text()}")
        return " ".join(html.unescape(text).split())

    def seconds_left(self) -> float:
        return max(0.0, self._deadline - time.monotonic())

    def _countdown_text(self) -> str:
        left = self.seconds_left()
        return (
            f"{self._waiting_text} in {errors.format_seconds(left)}…"
            if left > 0
            else f"{self._waiting_text} now…"
        )

    @Slot()
    def _tick(self) -> None:
        self.text.setText(self._countdown_text())
        if self.seconds_left() <= 0:
            self._countdown.stop()

    @Slot()
    def _on_button(self) -> None:
        button = self.sender()
        if isinstance(button, QPushButton):
            self.action.emit(str(button.property("action")))

    @Slot()
    def _copy_request_id(self) -> None:
        text = self.request_id.text().removeprefix("Request id: ")
        if text:
            QGuiApplication.clipboard().setText(text)


class VerdictDialog(QDialog):
    """Every category Azure reported for a prompt and its answer, like the Azure AI Foundry playground shows."""

    def __init__(self, verdicts: list[tuple[str, filters.Verdict]], parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Content filter results")
        self.table = QTableWidget(0, 4)
        self.table.setHorizontalHeaderLabels(["Checked", "Category", "Result", "Action"])
        self.table.setAccessibleName("Content filter categories")
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        for source, verdict in verdicts:
            for category in verdict.categories:
                self._add_row(source, category)
            if verdict.error:
                self._add_row(source, None, verdict.error)
        self.table.resizeColumnsToContents()
        self.table.horizontalHeader().setStretchLastSection(True)
        note = QLabel(
            "Severity levels: safe, low, medium, high. “Filtered” means Azure blocked the content. "
            "<a href='https://learn.microsoft.com/azure/ai-services/openai/concepts/content-filter'>"
            "About content filtering</a>"
        )
        note.setWordWrap(True)
        note.setOpenExternalLinks(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        if not verdicts:
            layout.addWidget(QLabel("Azure sent no content-filter annotations for this message."))
        layout.addWidget(self.table, 1)
        layout.addWidget(note)
        layout.addWidget(buttons)
        self.resize(620, 360)

    def _add_row(self, source: str, category: filters.Category | None, error: str | None = None) -> None:
        row = self.table.rowCount()
        self.table.insertRow(row)
        if category is None:
            cells = [source, "Filter error", error or "", ""]
        else:
            result = category.state or "matched"
            extra = ", ".join(f"{k}: {v}" for k, v in category.details)
            if extra:
                result = f"{result} ({extra})"
            cells = [source, category.label, result, "filtered" if category.filtered else "allowed"]
        filtered = category is not None and category.filtered
        for column, text in enumerate(cells):
            item = QTableWidgetItem(text)
            if filtered:  # the reason Azure blocked it: the row a reader looks for first
                font = item.font()
                font.setBold(True)
                item.setFont(font)
                from app.ui import theme

                tint = QColor(theme.colours().warning)
                tint.setAlpha(60)
                item.setBackground(tint)
                item.setToolTip(f"Azure filtered this: {cells[1]} ({cells[2]})")
            self.table.setItem(row, column, item)

    def rows(self) -> list[list[str]]:
        return [[self.table.item(r, c).text() for c in range(4)] for r in range(self.table.rowCount())]
