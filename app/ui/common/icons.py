"""The window's icons: Lucide's SVGs (app/resources/icons/ui, ISC) drawn in the theme's text colour, sharp at any
device pixel ratio. `icon(name)` is all a widget needs; nothing is drawn by hand.

An icon reads the theme when it is painted, so a theme change needs no refresh: the next paint has the new colour.
SVGs are read and parsed on first use only (a renderer per icon and colour, pixmaps per size), so start-up pays
for the icons on screen and nothing else.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QByteArray, QRect, QRectF, QSize
from PySide6.QtGui import QColor, QIcon, QIconEngine, QPainter, QPixmap
from PySide6.QtSvg import QSvgRenderer

ICON_DIR = Path(__file__).resolve().parents[2] / "resources" / "icons" / "ui"

# The main window's tabs.
TABS = {
    "chat": "message-square",
    "voice": "audio-lines",
    "images": "image",
    "completions": "text-cursor-input",
    "jobs": "list-checks",
    "settings": "settings",
}

_svg: dict[str, bytes] = {}
_renderers: dict[tuple[str, str], QSvgRenderer] = {}
_icons: dict[str, QIcon] = {}


def _colour(mode: QIcon.Mode) -> str:
    from app.ui import theme

    colours = theme.colours()
    if mode == QIcon.Mode.Disabled:
        return colours.muted
    if mode == QIcon.Mode.Selected:
        return colours.accent_text
    return colours.text


def _renderer(name: str, colour: str) -> QSvgRenderer:
    key = (name, colour)
    renderer = _renderers.get(key)
    if renderer is None:
        if name not in _svg:
            _svg[name] = (ICON_DIR / f"{name}.svg").read_bytes()
        renderer = QSvgRenderer(QByteArray(_svg[name].replace(b"currentColor", colour.encode())))
        _renderers[key] = renderer
    return renderer


class SvgIconEngine(QIconEngine):
    """Renders one SVG at the exact device-pixel size asked for, in the colour of the theme painted now."""

    def __init__(self, name: str):
        super().__init__()
        self.name = name
        self._pixmaps: dict[tuple[int, int, str], QPixmap] = {}

    def paint(self, painter: QPainter, rect: QRect, mode: QIcon.Mode, state: QIcon.State) -> None:
        _renderer(self.name, _colour(mode)).render(painter, QRectF(rect))

    def pixmap(self, size: QSize, mode: QIcon.Mode, state: QIcon.State) -> QPixmap:
        return self.scaledPixmap(size, mode, state, 1.0)

    def scaledPixmap(self, size: QSize, mode: QIcon.Mode, state: QIcon.State, scale: float) -> QPixmap:  # noqa: N802
        """`size` is logical: the pixmap has size × scale device pixels (QIcon works out its ratio from that)."""
        colour = _colour(mode)
        scale = max(1.0, scale)
        size = QSize(round(size.width() * scale), round(size.height() * scale))
        key = (size.width(), size.height(), colour)
        cached = self._pixmaps.get(key)
        if cached is None:
            cached = QPixmap(size)
            cached.fill(QColor(0, 0, 0, 0))  # transparent: Qt.GlobalColor would build `Qt` (theme.py)
            painter = QPainter(cached)
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            _renderer(self.name, colour).render(painter, QRectF(0, 0, size.width(), size.height()))
            painter.end()
            if len(self._pixmaps) > 16:
                self._pixmaps.clear()
            self._pixmaps[key] = cached
        result = QPixmap(cached)
        result.setDevicePixelRatio(scale)
        return result

    def actualSize(self, size: QSize, mode: QIcon.Mode, state: QIcon.State) -> QSize:  # noqa: N802
        side = min(size.width(), size.height())
        return QSize(side, side)

    def clone(self) -> QIconEngine:
        return SvgIconEngine(self.name)

    def key(self) -> str:
        return "parley-svg"

    def iconName(self) -> str:  # noqa: N802
        return self.name


def icon(name: str) -> QIcon:
    """The named icon (a file name in app/resources/icons/ui without .svg), shared by every widget that shows it."""
    found = _icons.get(name)
    if found is None:
        if not (ICON_DIR / f"{name}.svg").is_file():
            raise KeyError(f"no icon {name!r} in {ICON_DIR}")
        found = _icons[name] = QIcon(SvgIconEngine(name))
    return found
