"""The images gallery: a thumbnail grid of history's `ImageRecord`s, thumbnails made and cached off the GUI thread;
opening it also removes the files of images deleted long enough ago."""

from __future__ import annotations

import contextlib
import logging
from functools import partial
from pathlib import Path
from typing import Any

from PySide6.QtCore import QBuffer, QIODevice, QMimeData, QModelIndex, QSize, Qt, QUrl, Signal, Slot
from PySide6.QtGui import QIcon, QImage, QPixmap, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import QAbstractItemView, QListView, QMenu, QWidget

from app.core import paths
from app.core.cancel import CancelToken
from app.core.history import ImageRecord
from app.ui.common.a11y import describe
from app.ui.common.empty_state import EmptyState
from app.ui.common.workers import JobGroup, JobResult, JobSlot

log = logging.getLogger(__name__)
THUMB = 160
MIN_THUMB = 64  # the smallest a thumbnail gets in a short gallery: still a picture, not a dot
ROLE_ID = Qt.ItemDataRole.UserRole + 1
ROLE_PATH = Qt.ItemDataRole.UserRole + 2
ROLE_RECORD = Qt.ItemDataRole.UserRole + 3


def thumbs_dir() -> Path:
    return paths.data_dir() / "images" / "thumbs"


def thumbnail_path(image_path: str) -> Path:
    return thumbs_dir() / f"{Path(image_path).stem}-{THUMB}.png"


def make_thumbnail(image_path: str) -> QImage | None:
    """QImage is safe off the GUI thread (QPixmap is not): scale once, cache as a small PNG beside the data."""
    cached = thumbnail_path(image_path)
    if cached.exists():
        img = QImage(str(cached))
        if not img.isNull():
            return img
    img = QImage(image_path)
    if img.isNull():
        return None
    thumb = img.scaled(
        THUMB * 2, THUMB * 2, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation
    )
    paths.ensure(cached.parent)
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    if thumb.save(buffer, "PNG"):  # type: ignore[call-overload]  # PySide6's stubs miss the QIODevice overload
        with contextlib.suppress(OSError):  # a cache: the thumbnail is shown anyway
            paths.write_private(cached, bytes(buffer.data().data()))
    return thumb


def _load_records(cancel: CancelToken) -> list[ImageRecord]:
    """The gallery's images, newest first; first the PNGs (and thumbnails) of images deleted long ago leave the disk."""
    from app.core import images
    from app.core.history import History

    history = History.open()
    for path in images.purge_deleted(history):
        thumbnail_path(str(path)).unlink(missing_ok=True)
    return history.list_images()


def _load_thumbs(items: list[tuple[int, str]], cancel: CancelToken):
    batch = []
    for image_id, path in items:
        if cancel.cancelled:
            return
        img = make_thumbnail(path)
        if img is not None:
            batch.append((image_id, img))
        if len(batch) >= 16:
            yield batch
            batch = []
    if batch:
        yield batch


# ---- what the tab's gallery actions run on a worker ----------------------------------------------------------


def set_deleted(image_id: int, deleted: bool, cancel: CancelToken) -> int:
    from app.core.history import History

    history = History.open()
    (history.delete_image if deleted else history.restore_image)(image_id)
    return image_id


class GalleryModel(QStandardItemModel):
    def mimeTypes(self) -> list[str]:  # noqa: N802 - Qt name
        return ["text/uri-list", "image/png"]

    def mimeData(self, indexes: list[QModelIndex]) -> QMimeData:  # noqa: N802 - Qt name
        """Dragging a thumbnail out of Parley hands over the PNG file itself."""
        data = QMimeData()
        urls = [QUrl.fromLocalFile(str(i.data(ROLE_PATH))) for i in indexes if i.data(ROLE_PATH)]
        data.setUrls(urls)
        return data


class Gallery(QListView):
    open_requested = Signal(object)  # ImageRecord
    send_to_chat_requested = Signal(object)
    delete_requested = Signal(object)
    copy_requested = Signal(object)
    save_requested = Signal(object)
    loaded = Signal(int)  # number of images listed

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setMovement(QListView.Movement.Static)
        self.setUniformItemSizes(True)
        self.setSpacing(4)
        self._fit_grid()
        self.setWordWrap(False)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setDragEnabled(True)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.setAccessibleName("Image gallery")
        describe(
            self,
            "Every image you made, newest first; Return opens one large, Del deletes, the menu key offers more",
        )
        self.model_ = GalleryModel(self)
        self.setModel(self.model_)
        self._items: dict[int, QStandardItem] = {}
        self._placeholder = self._make_placeholder()
        self._list_job = JobSlot(self, "gallery-list")
        self._thumb_jobs = JobGroup(
            self, "gallery-thumbs"
        )  # a new image's thumbnail does not stop the list's
        self.empty: EmptyState | None = None
        self._listed = False  # the first list arrived: only then is "no images" true
        for changed in (self.model_.rowsInserted, self.model_.rowsRemoved, self.model_.modelReset):
            changed.connect(self._sync_empty)
        self.activated.connect(self._on_activated)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.customContextMenuRequested.connect(self._on_menu)

    def make_empty_state(self, prompt: QWidget) -> EmptyState:
        """What shows in the gallery's place while it has no image (the tab lays it out beside the gallery); its
        button puts the cursor in `prompt`."""
        self.empty = EmptyState(
            "No images yet",
            "Describe the picture you want above and press Generate (Ctrl+Return). Your images are kept here.",
        )
        focus = partial(prompt.setFocus, Qt.FocusReason.OtherFocusReason)
        self.empty.add_action("Describe an image…", focus, "Puts the cursor in the image description box")
        self._sync_empty()
        return self.empty

    @Slot()
    def _sync_empty(self) -> None:
        if self.empty is not None:
            empty = self._listed and self.model_.rowCount() == 0
            self.empty.setVisible(empty)
            self.setVisible(not empty)

    def _fit_grid(self) -> None:
        """Each cell holds a whole square thumbnail and its caption line, at the font in use (a fixed 24 px cut the
        caption off square images at larger fonts); the view is at least one whole row of the smallest thumbnails
        high, and the thumbnails as large as its height allows (`_fit_thumbs`)."""
        self.setMinimumHeight(self._cell_height(MIN_THUMB) + 2 * self.frameWidth() + 4)
        self.setMinimumWidth(self.column_width())
        self._fit_thumbs(force=True)

    def _cell_height(self, thumb: int) -> int:
        return thumb + self.fontMetrics().height() + 12

    def _fit_thumbs(self, force: bool = False) -> None:
        """THUMB px thumbnails while a whole row of them fits the view's height, smaller ones when it does not (at
        800×500 a refusal card above the gallery takes the height): a row of them is always whole, never cut."""
        room = self.viewport().height() - 4 - self._cell_height(0)
        thumb = max(MIN_THUMB, min(THUMB, room))
        if force or thumb != self.iconSize().height():
            self.setIconSize(QSize(thumb, thumb))
            self.setGridSize(QSize(thumb + 16, self._cell_height(thumb)))

    def resizeEvent(self, event: Any) -> None:  # noqa: N802 - Qt name
        super().resizeEvent(event)
        self._fit_thumbs()

    def column_width(self) -> int:
        """One whole column of full-size thumbnails and the scroll bar beside it."""
        bar = self.verticalScrollBar().sizeHint().width()
        return THUMB + 16 + 2 * self.frameWidth() + bar + 4

    def changeEvent(self, event: Any) -> None:  # noqa: N802 - Qt name
        from PySide6.QtCore import QEvent

        super().changeEvent(event)
        if event.type() == QEvent.Type.FontChange:
            self._fit_grid()

    def _make_placeholder(self) -> QIcon:
        pix = QPixmap(THUMB, THUMB)
        pix.fill(self.palette().color(self.palette().ColorRole.AlternateBase))
        return QIcon(pix)

    def reload(self) -> None:
        if not self._list_job.running:
            self._list_job.start(_load_records, self._on_listed)

    def shutdown(self) -> None:
        self._list_job.close()
        self._thumb_jobs.close()

    @Slot(object)
    def _on_listed(self, result: JobResult) -> None:
        if not result.ok:
            return
        self.set_records(result.value or [])

    def set_records(self, records: list[ImageRecord]) -> None:
        self.model_.clear()
        self._items.clear()
        self.setUpdatesEnabled(False)
        for rec in records:
            self._items[rec.id] = self._append(rec)
        self.setUpdatesEnabled(True)
        self._listed = True
        self._sync_empty()
        self.loaded.emit(len(records))
        self._start_thumbs([(r.id, r.path) for r in records])

    def _append(self, rec: ImageRecord, at_top: bool = False) -> QStandardItem:
        item = QStandardItem(self._placeholder, rec.prompt[:40])
        item.setToolTip(rec.revised_prompt or rec.prompt)
        item.setData(rec.id, ROLE_ID)
        item.setData(rec.path, ROLE_PATH)
        item.setData(rec, ROLE_RECORD)
        item.setEditable(False)
        item.setDragEnabled(True)
        item.setData(rec.prompt, Qt.ItemDataRole.AccessibleTextRole)
        if at_top:
            self.model_.insertRow(0, item)
        else:
            self.model_.appendRow(item)
        return item

    def add(self, rec: ImageRecord, thumb: QImage | None = None) -> None:
        self._items[rec.id] = self._append(rec, at_top=True)
        if thumb is not None:
            self._items[rec.id].setIcon(QIcon(QPixmap.fromImage(thumb)))
        else:
            self._start_thumbs([(rec.id, rec.path)])

    def remove(self, image_id: int) -> None:
        item = self._items.pop(image_id, None)
        if item is not None:
            self.model_.removeRow(item.row())

    def records(self) -> list[ImageRecord]:
        return [self.model_.item(r).data(ROLE_RECORD) for r in range(self.model_.rowCount())]

    def _start_thumbs(self, items: list[tuple[int, str]]) -> None:
        if not items:
            return
        self._thumb_jobs.start(partial(_load_thumbs, items), event=self._on_thumbs)

    @Slot(object)
    def _on_thumbs(self, batch: list[tuple[int, QImage]]) -> None:
        for image_id, img in batch:
            item = self._items.get(image_id)
            if item is not None:
                item.setIcon(QIcon(QPixmap.fromImage(img)))

    def current_record(self) -> ImageRecord | None:
        index = self.currentIndex()
        return index.data(ROLE_RECORD) if index.isValid() else None

    @Slot(QModelIndex)
    def _on_activated(self, index: QModelIndex) -> None:
        self.open_requested.emit(index.data(ROLE_RECORD))

    @Slot(object)
    def _on_menu(self, pos: Any) -> None:
        index = self.indexAt(pos)
        if not index.isValid():
            return
        rec = index.data(ROLE_RECORD)
        menu = QMenu(self)
        actions = {
            "&Open": self.open_requested,
            "&Copy image": self.copy_requested,
            "&Save as…": self.save_requested,
            "Send to c&hat": self.send_to_chat_requested,
            "&Delete": self.delete_requested,
        }
        for text in actions:
            menu.addAction(text).setData(text)
        chosen = menu.exec(self.viewport().mapToGlobal(pos))
        if chosen is not None:
            actions[chosen.data()].emit(rec)

    def keyPressEvent(self, event: Any) -> None:  # noqa: N802 - Qt name
        rec = self.current_record()
        if rec is not None and event.key() == Qt.Key.Key_Delete:
            self.delete_requested.emit(rec)
            return
        super().keyPressEvent(event)
