"""The Images tab: DALL-E 3 or the gpt-image family with the options the chosen deployment takes, edits with a mask
painted in the app, image token usage, the revised prompt, refusals inline, and a persistent gallery."""

from __future__ import annotations

import logging
import shutil
from functools import partial
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer, Slot
from PySide6.QtGui import QGuiApplication, QImage, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from app.core import errors
from app.core.events import Failed, Retrying
from app.core.history import ImageRecord
from app.ui import design
from app.ui.common.a11y import describe
from app.ui.common.problem_card import Card
from app.ui.common.services import AppServices
from app.ui.common.workers import JobGroup, JobResult, JobSlot, plain
from app.ui.images import jobs
from app.ui.images.gallery import Gallery, set_deleted
from app.ui.images.jobs import EditSource, Generated
from app.ui.images.options import OptionsBar
from app.ui.images.result import ResultPane
from app.ui.images.view import load_image

log = logging.getLogger(__name__)
UNDO_MS = 8000
MIMES = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp"}


class ImagesTab(QWidget):
    def __init__(self, services: AppServices, parent: QWidget | None = None):
        super().__init__(parent)
        self.services = services
        self._job = JobSlot(self, "image")
        self._side_jobs = JobGroup(self, "gallery-update")
        self._open_job = JobSlot(self, "image-open")  # a newer choice wins: an older read is dropped
        self._deleted: ImageRecord | None = None
        self.current: ImageRecord | None = None
        self._build()
        self._undo_timer = QTimer(self)
        self._undo_timer.setSingleShot(True)
        self._undo_timer.timeout.connect(self._forget_undo)
        self._gallery_loaded = False
        self._batch = 0
        self._pending_chat_format = "png"
        self.options.set_connection(services.connection)

    def showEvent(self, event: Any) -> None:  # noqa: N802 - Qt name
        """The gallery is read from the database when the tab is first opened, not at launch."""
        super().showEvent(event)
        if not self._gallery_loaded:
            self._gallery_loaded = True
            QTimer.singleShot(0, self.gallery, self.gallery.reload)

    def _build(self) -> None:
        self.prompt = QPlainTextEdit()
        self.prompt.textChanged.connect(self.services.warm_up_client)  # openai loads while the user types
        self.prompt.setPlaceholderText("Describe the image… (Ctrl+Return to generate)")
        self.prompt.setAccessibleName("Image prompt")
        describe(self.prompt, "Describe the image to generate; Ctrl+Return generates it")
        self.prompt.setTabChangesFocus(True)  # Tab leaves the prompt instead of typing a tab into it
        lines = self.prompt.fontMetrics().lineSpacing()
        self.prompt.setMaximumHeight(
            4 * lines + 2 * design.S
        )  # four lines: the rest of the height is the image's
        self.prompt.setMinimumHeight(2 * lines + 2 * design.S)  # two when a card needs the height (800×500)
        self.options = OptionsBar(self.services)
        self.options.changed.connect(self._on_family_changed)
        # The tests and keyboard users reach the option widgets by these names.
        self.size_combo, self.quality_combo = self.options.size_combo, self.options.quality_combo
        self.style_combo, self.format_combo = self.options.style_combo, self.options.format_combo
        self.background_combo = self.options.background_combo
        self.output_format_combo = self.options.output_format_combo
        self.generate_button = QPushButton("&Generate")
        self.generate_button.setAccessibleName("Generate image")
        self.generate_button.setObjectName("primary")  # the tab's one accent-coloured button (style.py)
        self.generate_button.clicked.connect(self._on_generate_clicked)
        describe(self.generate_button, "Generates the image described (while it runs: cancels it)")
        self.progress = QProgressBar()
        self.progress.setRange(0, 0)
        self.progress.setMaximumWidth(160)
        self.progress.setAccessibleName("Generating")
        self.progress.hide()
        self.edit_file_button = QPushButton("Edit a f&ile…")
        describe(self.edit_file_button, "Opens an image file to paint a mask on and describe a change")
        self.edit_file_button.clicked.connect(self._edit_file)

        options = QHBoxLayout()
        options.addWidget(self.options)
        options.addStretch(1)
        options.addWidget(self.progress)
        options.addWidget(self.edit_file_button)
        options.addWidget(self.generate_button)

        self.card = Card()
        self.card.action.connect(self._on_card_action)

        self.result = ResultPane()
        self.result.presence_changed.connect(self._on_result_presence)
        # The tests and keyboard users reach the result's parts by these names.
        self.view, self.revised, self.use_revised = (
            self.result.view,
            self.result.revised,
            self.result.use_revised,
        )
        self.filters_label, self.usage_label = self.result.filters_label, self.result.usage_label
        self.copy_button, self.save_button = self.result.copy_button, self.result.save_button
        self.chat_button, self.edit_button = self.result.chat_button, self.result.edit_button
        self.use_revised.clicked.connect(self._use_revised)
        self.copy_button.clicked.connect(self._copy_current)
        self.save_button.clicked.connect(self._save_current)
        self.chat_button.clicked.connect(self._send_current)
        self.edit_button.clicked.connect(self._edit_current)

        self.gallery = Gallery()
        self.gallery.open_requested.connect(self.open_record)
        self.gallery.delete_requested.connect(self.delete_record)
        self.gallery.copy_requested.connect(self._copy_record)
        self.gallery.save_requested.connect(self._save_record)
        self.gallery.send_to_chat_requested.connect(self._send_record)
        self.undo_bar = QWidget()
        undo_layout = QHBoxLayout(self.undo_bar)
        undo_layout.setContentsMargins(0, 0, 0, 0)
        self.undo_label = QLabel("Image deleted.")
        self.undo_button = QPushButton("&Undo")
        describe(self.undo_button, "Brings the deleted image back")
        self.undo_button.clicked.connect(self.undo_delete)
        undo_layout.addWidget(self.undo_label, 1)
        undo_layout.addWidget(self.undo_button)
        self.undo_bar.hide()
        gallery_box = QWidget()
        gallery_layout = QVBoxLayout(gallery_box)
        gallery_layout.setContentsMargins(0, 0, 0, 0)
        gallery_layout.addWidget(QLabel("<b>Gallery</b>"))
        gallery_layout.addWidget(self.gallery, 1)
        gallery_layout.addWidget(self.gallery.make_empty_state(self.prompt), 1)
        gallery_layout.addWidget(self.undo_bar)

        # Side by side: the image on show and the gallery as a column of thumbnails (a small window has no height
        # for both one above the other). Before the first image the gallery has it all.
        self.splitter = splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.result)
        splitter.addWidget(gallery_box)
        splitter.setChildrenCollapsible(False)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)

        layout = QVBoxLayout(self)
        layout.addWidget(self.prompt)
        layout.addLayout(options)
        layout.addWidget(self.card)
        layout.addWidget(splitter, 1)

        go = QShortcut(QKeySequence("Ctrl+Return"), self.prompt)
        go.activated.connect(self._on_generate_clicked)
        esc = QShortcut(QKeySequence(Qt.Key.Key_Escape), self)
        esc.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        esc.activated.connect(self.cancel)

    @Slot()
    def _on_family_changed(self) -> None:
        from app.core.capabilities import Family

        gpt = self.options.family is Family.GPT_IMAGE
        self.edit_button.setVisible(gpt)
        self.edit_file_button.setVisible(gpt)

    # -- generation ----------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._job.running

    @Slot()
    def _on_generate_clicked(self) -> None:
        if self.running:
            self.cancel()
        else:
            self.generate()

    def request(self, prompt: str | None = None, *, edit: bool = False) -> Any:
        text = self.prompt.toPlainText().strip() if prompt is None else prompt
        return self.options.request(text, edit=edit)

    def generate(self) -> None:
        connection = self.services.connection
        if connection is None:
            self.show_card("Not connected yet", "Wait for the connection, or open Settings.", kind="problem")
            return
        request = self.request()
        if not request.prompt:
            self.show_card("Nothing to draw", "Type a description of the image first.", kind="problem")
            self.prompt.setFocus()
            return
        if not request.deployment:
            self.show_card(
                "No images deployment", "Add the images deployment name in Settings.", kind="problem"
            )
            return
        self._start(partial(jobs.generate, connection, request))

    def _start(self, fn: Any) -> None:
        self.card.clear()
        self.options.remember()
        self._batch = 0
        # `slow`: the progress bar shows only for slow answers, so fast ones never flicker it.
        self._job.start(fn, self._on_finished, event=self._on_event, slow=self._show_progress)
        self.generate_button.setText("&Cancel")
        self.generate_button.setAccessibleName("Cancel image generation")

    @Slot()
    def cancel(self) -> None:
        self._job.cancel()

    def _show_progress(self) -> None:
        self.progress.show()

    @Slot(object)
    def _on_event(self, event: Any) -> None:
        if isinstance(event, Generated):
            self.card.clear()  # a countdown from a retried 429 is over
            self.gallery.add(event.record, event.thumb)
            if event.image.index == 0:  # of several images, the first is shown; all go to the gallery
                self._show_generated(event.image, event.record, event.full)
        elif isinstance(event, Retrying):
            self.card.show_countdown(event.problem, event.wait, event.attempt, event.max_attempts)
        elif isinstance(event, Failed):
            self._clear_result()
            self.show_problem(event.problem)

    @Slot(object)
    def _on_finished(self, result: JobResult) -> None:
        self.progress.hide()
        self.generate_button.setText("&Generate")
        self.generate_button.setAccessibleName("Generate image")
        if result.problem is not None:
            self._clear_result()
            self.show_problem(result.problem)
        elif result.cancelled:
            self.show_card("Cancelled", "The image was not generated. Your prompt is kept.", kind="info")

    def _show_generated(self, image: Any, record: ImageRecord, full: QImage) -> None:
        self.current = record
        self.result.show_image(full, record.revised_prompt or record.prompt)
        self.result.show_record(
            record, [v for v in (image.prompt_verdict, image.content_verdict) if v is not None]
        )

    def _clear_result(self) -> None:
        """A failed or refused request is about another prompt than the image shown: the image, its revised prompt,
        filter line and usage go (the image stays in the gallery), so the card never sits beside them."""
        self.current = None
        self.result.clear()

    @Slot(bool)
    def _on_result_presence(self, present: bool) -> None:
        """An image appears: it gets most of the width, the gallery a column of thumbnails (none: all of it)."""
        if present:
            total = sum(self.splitter.sizes())
            gallery = max(self.gallery.column_width(), total // 3)
            self.splitter.setSizes([max(0, total - gallery), gallery])

    @Slot()
    def _use_revised(self) -> None:
        if self.current and self.current.revised_prompt:
            self.prompt.setPlainText(self.current.revised_prompt)
            self.prompt.setFocus()

    # -- edits -------------------------------------------------------------------------------------------
    @Slot()
    def _edit_current(self) -> None:
        shown = self.view.image()
        if self.current is not None and shown is not None and not shown.isNull():
            self.open_editor(self.current.path, shown, self.current.id, self.current.prompt)

    @Slot()
    def _edit_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Edit an image", str(Path.home()), "Images (*.png *.jpg *.jpeg)"
        )
        if path:
            self._side_jobs.start(
                partial(load_image, path), partial(self._on_file_loaded, path), name="edit-open"
            )

    def _on_file_loaded(self, path: str, result: JobResult) -> None:
        if result.problem is not None:
            self.show_problem(result.problem)
        elif result.ok:
            self.open_editor(path, result.value, None, "")

    def open_editor(self, path: str, image: QImage, parent_id: int | None, prompt: str) -> Any:
        """The mask editor on `image`; on Edit, the edit runs in the tab's job slot (shown like a generation)."""
        from app.ui.images.mask_editor import EditDialog

        dialog = EditDialog(image, Path(path).name, "", self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(partial(self._on_edit_accepted, dialog, path, parent_id))
        dialog.open()
        return dialog

    def _on_edit_accepted(self, dialog: Any, path: str, parent_id: int | None) -> None:
        connection = self.services.connection
        if connection is None or self.running:
            return
        prompt, mask = dialog.result_values()
        request = self.request(prompt, edit=True)
        self._start(partial(jobs.edit, connection, request, EditSource(path, mask, parent_id)))

    # -- cards --------------------------------------------------------------------------------------
    def show_problem(self, problem: errors.Problem) -> None:
        """The shared inline card: refusals name the categories and keep the prompt; others say what to do."""
        retry = not problem.fix_in_settings and problem.kind != errors.Kind.FILTERED
        self.card.show_problem(problem, (("retry", "Try again"),) if retry else ())

    def show_card(self, title: str, text: str, *, kind: str, request_id: str | None = None) -> None:
        self.card.show_message(kind, title, text, request_id=request_id)

    @Slot(str)
    def _on_card_action(self, what: str) -> None:
        if what == "settings":
            self.services.open_settings.emit()
        elif what == "retry" and not self.running:
            self.generate()

    # -- gallery actions ------------------------------------------------------------------------------
    @Slot(object)
    def open_record(self, record: ImageRecord) -> None:
        """Show a gallery image large; the file is read and decoded on a worker."""
        self.current = record
        self._open_job.start(partial(load_image, record.path), self._on_opened)
        self.result.show_record(record, [])

    @Slot(object)
    def _on_opened(self, result: JobResult) -> None:
        if result.problem is not None:
            self.show_problem(result.problem)
        elif result.ok and self.current is not None:
            self.result.show_image(result.value, self.current.revised_prompt or self.current.prompt)

    @Slot(object)
    def delete_record(self, record: ImageRecord) -> None:
        self._run_side(partial(set_deleted, record.id, True))
        self.gallery.remove(record.id)
        self._deleted = record
        self.undo_label.setText(f"Deleted “{record.prompt[:40]}”.")
        self.undo_bar.show()
        self._undo_timer.start(UNDO_MS)
        if self.current is not None and self.current.id == record.id:
            self._clear_result()

    @Slot()
    def undo_delete(self) -> None:
        record, self._deleted = self._deleted, None
        self.undo_bar.hide()
        if record is not None:
            self._run_side(partial(set_deleted, record.id, False))
            self.gallery.add(record)

    @Slot()
    def _forget_undo(self) -> None:
        self._deleted = None
        self.undo_bar.hide()

    def _run_side(self, fn: Any) -> None:
        self._side_jobs.start(fn, self._on_side_done)

    @Slot(object)
    def _on_side_done(self, result: JobResult) -> None:
        if result.problem is not None:
            self.show_problem(result.problem)

    @Slot()
    def _copy_current(self) -> None:
        if self.current is not None:
            self._copy_record(self.current)

    @Slot(object)
    def _copy_record(self, record: ImageRecord) -> None:
        """Copy the image: the one on show is already decoded; another is read on a worker first."""
        shown = self.view.image()
        if (
            self.current is not None
            and record.id == self.current.id
            and shown is not None
            and not shown.isNull()
        ):
            QGuiApplication.clipboard().setImage(shown)
            return
        self._side_jobs.start(partial(load_image, record.path), self._on_loaded_for_copy, name="image-copy")

    @Slot(object)
    def _on_loaded_for_copy(self, result: JobResult) -> None:
        if result.ok:
            QGuiApplication.clipboard().setImage(result.value)
        elif result.problem is not None:
            self.show_problem(result.problem)

    @Slot()
    def _save_current(self) -> None:
        if self.current is not None:
            self._save_record(self.current)

    @Slot(object)
    def _save_record(self, record: ImageRecord) -> None:
        kind = "JPEG image (*.jpg *.jpeg)" if record.format == "jpeg" else "PNG image (*.png)"
        target, _ = QFileDialog.getSaveFileName(
            self, "Save image", str(Path.home() / Path(record.path).name), kind
        )
        if target:
            self._run_side(
                plain(shutil.copyfile, record.path, target)
            )  # the PNG as it is, off the GUI thread

    @Slot()
    def _send_current(self) -> None:
        if self.current is not None:
            self._send_record(self.current)

    @Slot(object)
    def _send_record(self, record: ImageRecord) -> None:
        self._pending_chat_text = record.revised_prompt or record.prompt
        self._pending_chat_format = record.format
        self._side_jobs.start(
            plain(Path(record.path).read_bytes), self._on_bytes_for_chat, name="image-to-chat"
        )

    @Slot(object)
    def _on_bytes_for_chat(self, result: JobResult) -> None:
        if result.ok:
            fmt = self._pending_chat_format
            name = "image.jpg" if fmt == "jpeg" else "image.png"
            self.services.send_to_chat.emit("", [(result.value, MIMES.get(fmt, "image/png"), name)])

    def on_connection(self, connection: Any) -> None:
        """Offer the new profile's images deployment and the options its family takes."""
        self.options.set_connection(connection)

    def shutdown(self) -> None:
        for holder in (self._job, self._open_job, self._side_jobs):
            holder.close()
        self.gallery.shutdown()
