"""The Images tab's options bar: the deployment, its family, and only the options that family takes (DALL-E 3: size,
quality, style, response format; gpt-image: size, quality, background, PNG/JPEG with compression, n), remembered."""

from __future__ import annotations

import json
from typing import Any

from PySide6.QtCore import Signal, Slot
from PySide6.QtGui import QStandardItemModel
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QSpinBox, QVBoxLayout, QWidget

from app.core import image_options as io
from app.core.capabilities import Family
from app.ui.common import prefs
from app.ui.common.a11y import describe

FAMILY_NAMES = {Family.DALLE: "DALL-E 3", Family.GPT_IMAGE: "GPT-image"}
FORMAT_LABELS = {"png": "PNG", "jpeg": "JPEG"}  # never WebP: Azure does not serve it
DEMO_DEPLOYMENTS = ("gpt-image-1", "gpt-image-1-mini", "dall-e-3")  # today's first, then the seed's


DELIVERY_LABELS = {"b64_json": "In the reply", "url": "As a link"}


def _combo(name: str, items: tuple[str, ...] = ()) -> QComboBox:
    combo = QComboBox()
    combo.addItems(list(items))
    combo.setAccessibleName(name)
    return combo


class OptionsBar(QWidget):
    """Emits `changed` when the family changes (the tab shows which options apply)."""

    changed = Signal()

    def __init__(self, services: Any, parent: QWidget | None = None):
        super().__init__(parent)
        self.services = services
        self._stored: dict[str, dict[str, Any]] = self._load()
        self.deployment_combo = _combo("Images deployment")
        self.deployment_combo.setEditable(True)
        self.deployment_combo.setMinimumContentsLength(14)
        describe(self.deployment_combo, "The Azure deployment that draws the image")
        self.family_combo = _combo("Model family")
        for family, name in FAMILY_NAMES.items():
            self.family_combo.addItem(name, family)
        self.family_combo.setToolTip("What the deployment serves; Parley shows the options that model takes")
        self.size_combo = _combo("Size")
        self.quality_combo = _combo("Quality")
        describe(self.size_combo, "Width by height of the image, in pixels")
        describe(self.quality_combo, "Higher quality takes longer and costs more")
        self.style_combo = _combo("Style", io.STYLES)
        describe(self.style_combo, "Vivid: dramatic, hyper-real images; natural: more realistic ones")
        # Words, not the API's b64_json/url: the value travels as the item's data.
        self.format_combo = _combo("How Azure sends the image")
        for fmt in io.RESPONSE_FORMATS:
            self.format_combo.addItem(DELIVERY_LABELS.get(fmt, fmt), fmt)
        self.format_combo.setToolTip(
            "In the reply: the image comes inside Azure's answer. As a link: Azure answers with a download link "
            "that Parley follows. Parley saves a PNG file either way."
        )
        self.background_combo = _combo("Background", io.BACKGROUNDS)
        describe(self.background_combo, "Transparent, opaque, or as the model chooses")
        self.output_format_combo = _combo("Image format")
        describe(self.output_format_combo, "The file format the image is saved in")
        for fmt in io.OUTPUT_FORMATS:
            self.output_format_combo.addItem(FORMAT_LABELS[fmt], fmt)
        self.compression_spin = QSpinBox()
        self.compression_spin.setRange(0, 100)
        self.compression_spin.setSuffix(" %")
        self.compression_spin.setAccessibleName("JPEG compression")
        self.compression_spin.setToolTip("0 = no compression (largest file), 100 = the most compression")
        self.n_spin = QSpinBox()
        self.n_spin.setRange(1, io.GPT_MAX_N)
        self.n_spin.setAccessibleName("Number of images")
        describe(self.n_spin, "How many images one request makes; all go to the gallery")
        # Two rows: what to ask (deployment, model) and how (the options). In one row at 800 px every combo was
        # squeezed to a few letters ("Deployme", "stand", "1024").
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        rows = (QHBoxLayout(), QHBoxLayout())
        for row in rows:
            layout.addLayout(row)
        self._labels: dict[QWidget, QLabel] = {}
        for text, widget in (
            ("&Deployment:", self.deployment_combo),
            ("&Model:", self.family_combo),
            ("Si&ze:", self.size_combo),
            ("&Quality:", self.quality_combo),
            ("St&yle:", self.style_combo),
            ("Deli&very:", self.format_combo),
            ("&Background:", self.background_combo),
            ("&Format:", self.output_format_combo),
            ("Com&pression:", self.compression_spin),
            ("&Images:", self.n_spin),
        ):
            label = QLabel(text)
            label.setBuddy(widget)
            self._labels[widget] = label
            if isinstance(widget, QComboBox) and widget is not self.deployment_combo:
                widget.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
            row = rows[0] if widget in (self.deployment_combo, self.family_combo, self.n_spin) else rows[1]
            row.addWidget(label)
            row.addWidget(widget)
        for row in rows:
            row.addStretch(1)
        self.family = Family.DALLE
        self._apply_family(Family.DALLE)
        self.family_combo.currentIndexChanged.connect(self._on_family_chosen)
        self.deployment_combo.currentTextChanged.connect(self._on_deployment)
        self.background_combo.currentTextChanged.connect(self._sync_pairs)
        self.output_format_combo.currentIndexChanged.connect(self._sync_pairs)

    # -- the deployment and its family --------------------------------------------------------------------
    def set_connection(self, connection: Any) -> None:
        """Offer the profile's images deployment (and, in demo mode, the emulator's) and choose the remembered one."""
        names: list[str] = []
        remembered = str(self._stored.get("_", {}).get("deployment") or "")
        if connection is not None:
            profile = connection.profile
            names.append(profile.deployments.images)
            names += [d for d, f in profile.families.items() if f in (Family.DALLE, Family.GPT_IMAGE)]
            if connection.demo:
                names += list(DEMO_DEPLOYMENTS)
        names = [n for i, n in enumerate(names) if n and n not in names[:i]]
        self.deployment_combo.blockSignals(True)
        self.deployment_combo.clear()
        self.deployment_combo.addItems(names)
        chosen = remembered if remembered in names else (names[0] if names else "")
        self.deployment_combo.setCurrentText(chosen)
        self.deployment_combo.blockSignals(False)
        self._on_deployment(chosen)

    def deployment(self) -> str:
        return self.deployment_combo.currentText().strip()

    @Slot(str)
    def _on_deployment(self, name: str) -> None:
        connection = self.services.connection
        known = connection.profile.family(name.strip()) if connection is not None else None
        family = io.resolve_family(known, name.strip())
        self.family_combo.blockSignals(True)
        self.family_combo.setCurrentIndex(self.family_combo.findData(family))
        self.family_combo.blockSignals(False)
        self._apply_family(family)

    @Slot(int)
    def _on_family_chosen(self, index: int) -> None:
        self._apply_family(Family(self.family_combo.itemData(index)))

    def _apply_family(self, family: Family) -> None:
        """Show only what `family` takes, with the values last used with it."""
        if self.family is not family:
            self.remember()
        self.family = family
        dalle = family is Family.DALLE
        self._fill(self.size_combo, io.sizes_for(family))
        self._fill(self.quality_combo, io.qualities_for(family))
        dalle_only: tuple[QWidget, ...] = (self.style_combo, self.format_combo)
        gpt_only: tuple[QWidget, ...] = (
            self.background_combo,
            self.output_format_combo,
            self.n_spin,
        )  # and compression, for JPEG only (`_sync_pairs`): at 800 px the row had no room for it beside PNG
        for widget in dalle_only:
            self._show(widget, dalle)
        for widget in gpt_only:
            self._show(widget, not dalle)
        values = self._stored.get(family.value, {})
        for key, combo in (
            ("size", self.size_combo),
            ("quality", self.quality_combo),
            ("style", self.style_combo),
            ("response_format", self.format_combo),
            ("background", self.background_combo),
        ):
            index = combo.findText(str(values.get(key, "")))
            if index < 0:
                index = combo.findData(values.get(key))  # items that show words carry the value as data
            if index >= 0:
                combo.setCurrentIndex(index)
        if not dalle:  # Azure's defaults where nothing was chosen yet
            for key, combo in (("quality", self.quality_combo), ("background", self.background_combo)):
                if key not in values:
                    combo.setCurrentText("auto")
        index = self.output_format_combo.findData(values.get("output_format", "png"))
        self.output_format_combo.setCurrentIndex(max(0, index))
        self.compression_spin.setValue(int(values.get("output_compression", 0)))
        self.n_spin.setValue(int(values.get("n", 1)))
        self._sync_pairs()
        self.changed.emit()

    @staticmethod
    def _fill(combo: QComboBox, items: tuple[str, ...]) -> None:
        combo.blockSignals(True)
        combo.clear()
        combo.addItems(list(items))
        combo.blockSignals(False)

    def _show(self, widget: QWidget, visible: bool) -> None:
        widget.setVisible(visible)
        self._labels[widget].setVisible(visible)

    @Slot()
    def _sync_pairs(self, *_: Any) -> None:
        """No transparent JPEG: while one is chosen the other cannot be; compression shown only for JPEG."""
        jpeg = self.output_format_combo.currentData() == "jpeg"
        transparent = self.background_combo.currentText() == "transparent"
        model = self.output_format_combo.model()
        background = self.background_combo.model()
        if isinstance(model, QStandardItemModel) and isinstance(background, QStandardItemModel):
            model.item(self.output_format_combo.findData("jpeg")).setEnabled(not transparent)
            background.item(self.background_combo.findText("transparent")).setEnabled(not jpeg)
        self._show(self.compression_spin, jpeg and self.family is not Family.DALLE)

    # -- the request -------------------------------------------------------------------------------------
    def values(self) -> dict[str, Any]:
        if self.family is Family.DALLE:
            return {
                "size": self.size_combo.currentText(),
                "quality": self.quality_combo.currentText(),
                "style": self.style_combo.currentText(),
                "response_format": self.format_combo.currentData(),
            }
        fmt = self.output_format_combo.currentData()
        values: dict[str, Any] = {
            "size": self.size_combo.currentText(),
            "quality": self.quality_combo.currentText(),
            "background": self.background_combo.currentText(),
            "output_format": fmt,
            "n": self.n_spin.value(),
        }
        if fmt == "jpeg":
            values["output_compression"] = self.compression_spin.value()
        return values

    def request(self, prompt: str, *, edit: bool = False) -> io.ImageRequest:
        values = self.values()
        if edit:  # an edit is gpt-image's: DALL-E's options stay out (the core says DALL-E cannot edit)
            values = {k: v for k, v in values.items() if k not in ("style", "response_format")}
        return io.ImageRequest(self.deployment(), prompt, family=self.family, **values)

    def remember(self) -> None:
        self._stored[self.family.value] = self.values() if hasattr(self, "family") else {}
        self._stored["_"] = {"deployment": self.deployment()}
        self.services.set_pref(prefs.IMAGES_OPTIONS, json.dumps(self._stored))

    def _load(self) -> dict[str, dict[str, Any]]:
        try:
            data = json.loads(self.services.pref(prefs.IMAGES_OPTIONS) or "{}")
        except ValueError:
            return {}
        return {k: v for k, v in data.items() if isinstance(v, dict)} if isinstance(data, dict) else {}
