"""Light and dark: the palettes Parley paints with, and `apply_theme`, which applies one everywhere (Settings' Theme).

Qt's `setColorScheme` only asks the platform, and many platforms (X11 without a desktop theme, offscreen, older
Windows styles) report no scheme and ignore the request, so the palette is set here, explicitly, on Fusion (the one
style that draws every widget from the palette on every platform).

The first frame never touches PySide's `Qt` namespace: the first use of it builds all its ~70 enums (~23 ms, a tenth
of the time until the chat box takes typing). Asking the platform's scheme needs it, so the first frame uses the
scheme seen last time (Settings keeps it) and `follow_platform` asks once the frame is out. Modules the first frame
imports (app.ui.main_window and what it imports) say `QtCore.Qt` where they use it, so it is built only when a
function that needs it runs; a test checks it is not built before the chat box takes typing.
"""

from __future__ import annotations

from PySide6 import QtCore
from PySide6.QtCore import QCoreApplication, QEvent, QObject, Slot
from PySide6.QtGui import QColor, QFont, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication, QWidget

from app.ui.design import DARK, LIGHT, SMALL, Colours

CHOICES = ("system", "light", "dark")
__all__ = ["CHOICES", "DARK", "LIGHT", "Colours", "apply_theme", "colours", "is_dark", "palette_for"]


def palette_for(colours: Colours) -> QPalette:
    c = {name: QColor(value) for name, value in colours._asdict().items()}
    p = QPalette()
    role = QPalette.ColorRole
    for r, colour in (
        (role.Window, c["window"]),
        (role.WindowText, c["text"]),
        (role.Base, c["base"]),
        (role.AlternateBase, c["alternate"]),
        (role.ToolTipBase, c["tooltip"]),
        (role.ToolTipText, c["tooltip_text"]),
        (role.PlaceholderText, c["muted"]),
        (role.Text, c["text"]),
        (role.Button, c["button"]),
        (role.ButtonText, c["text"]),
        (role.BrightText, QColor("#ff6b6b")),
        (role.Highlight, c["accent"]),
        (role.HighlightedText, c["accent_text"]),
        (role.Link, c["link"]),
        (role.LinkVisited, c["link"]),
        (role.Light, c["button"].lighter(130)),
        (role.Midlight, c["button"].lighter(115)),
        (role.Mid, c["border"]),
        (role.Dark, c["border"].darker(130)),
        (role.Shadow, QColor("#000000")),
        (role.Accent, c["accent"]),
    ):
        p.setColor(r, colour)
    disabled = QColor(colours.muted)
    disabled.setAlpha(160)
    for r in (role.WindowText, role.Text, role.ButtonText, role.PlaceholderText):
        p.setColor(QPalette.ColorGroup.Disabled, r, disabled)
    p.setColor(QPalette.ColorGroup.Disabled, role.Highlight, c["border"])
    return p


class _State(QObject):
    """What was chosen, what it resolved to, and whether the system's scheme changes are followed."""

    def __init__(self) -> None:
        super().__init__()
        self.choice = "system"
        self.dark = False
        self.listening = False

    @Slot(object)
    def on_system_scheme(self, _scheme: object) -> None:
        if self.choice == "system":
            apply_theme("system")


_state: _State | None = None
_fusion = False  # the app's style is Fusion already (`started_with_fusion`): no need to ask
_platform_dark: bool | None = None  # the platform's own palette, read before Parley set its own


def started_with_fusion() -> None:
    """The QApplication was made with `-style Fusion`. Asking `app.style()` makes PySide build its QStyle type and
    enums (~9 ms before the first frame)."""
    global _fusion
    _fusion = True


def _system_is_dark() -> bool:
    """The desktop's scheme; where the platform reports none, the brightness of the palette it gave the app before
    Parley set its own (light if unknown)."""
    Qt = QtCore.Qt
    hints = QGuiApplication.styleHints()
    scheme = hints.colorScheme() if hasattr(hints, "colorScheme") else Qt.ColorScheme.Unknown
    if scheme == Qt.ColorScheme.Dark:
        return True
    if scheme == Qt.ColorScheme.Light:
        return False
    return bool(_platform_dark)


def apply_theme(choice: str, *, system_dark: bool | None = None) -> bool:
    """'system' follows the desktop (live, where it reports changes); 'light'/'dark' force it. Returns dark or not.

    `system_dark`: the desktop's scheme as seen last time, taken instead of asking the platform, which is left to
    `follow_platform` (start-up: see the module's docstring)."""
    global _state, _fusion, _platform_dark
    if _state is None:
        _state = _State()
    if _platform_dark is None:  # before Parley asks for a scheme or sets its own palette for the first time
        _platform_dark = QGuiApplication.palette().color(QPalette.ColorRole.Window).lightness() < 128
    choice = choice if choice in CHOICES else "system"
    _state.choice = choice
    if system_dark is None:
        _tell_platform(choice)
        system_dark = choice == "system" and _system_is_dark()
    dark = choice == "dark" or (choice == "system" and system_dark)
    _state.dark = dark
    app = QApplication.instance()
    if isinstance(app, QApplication):
        if not _fusion and app.style().name().lower() != "fusion":
            app.setStyle("Fusion")
        _fusion = True
        app.setPalette(palette_for(DARK if dark else LIGHT))
        from app.ui import style

        style.restyle()
        # A widget with a style sheet (cards, banners, notes) took its palette when it was polished and keeps it,
        # as do its children: polishing them again makes them take the new one. A widget styled through another's
        # sheet (the tab widget, through its tab bar's) gets no palette change from Qt at all, nor does anything
        # under it (the whole chat): it is told, and passes it on.
        change = QEvent(QEvent.Type.ApplicationPaletteChange)
        # None at start-up: `QtCore.Qt` below is not reached before the first frame.
        for widget in app.allWidgets():
            if widget.styleSheet():
                widget.setStyleSheet(widget.styleSheet())
            elif widget.testAttribute(QtCore.Qt.WidgetAttribute.WA_StyleSheet) and not widget.isWindow():
                QCoreApplication.sendEvent(widget, change)
            # Widgets that baked colours into HTML or their own palette (messages, code blocks) redo them.
            retheme = getattr(widget, "retheme", None)
            if callable(retheme):
                retheme()
    return dark


def _tell_platform(choice: str) -> None:
    """Qt >= 6.8: window frames and native dialogs follow the choice where they can; the system's changes are
    followed from now on."""
    Qt = QtCore.Qt
    hints = QGuiApplication.styleHints()
    if _state is None or not hasattr(hints, "setColorScheme"):
        return
    hints.setColorScheme(
        {"light": Qt.ColorScheme.Light, "dark": Qt.ColorScheme.Dark}.get(choice, Qt.ColorScheme.Unknown)
    )
    if not _state.listening:
        hints.colorSchemeChanged.connect(_state.on_system_scheme)
        _state.listening = True


def follow_platform() -> bool | None:
    """Once the first frame is out: what `apply_theme(..., system_dark=...)` left to do. The platform is told the
    choice; following the system, it is asked its scheme, and if the desktop changed since it was last seen, the
    real one is applied now. Returns whether the desktop is dark, to remember for the next start (None with Light or
    Dark chosen: the platform then reports the choice, not the desktop)."""
    if _state is None:
        return None
    _tell_platform(_state.choice)
    if _state.choice != "system":
        return None
    system_dark = _system_is_dark()
    if system_dark != _state.dark:
        apply_theme("system", system_dark=system_dark)
    return system_dark


def is_dark() -> bool:
    """Whether Parley is painting dark now (the chosen theme, or the system's)."""
    if _state is not None:
        return _state.dark
    return QGuiApplication.palette().color(QPalette.ColorRole.Window).lightness() < 128


def colours() -> Colours:
    return DARK if is_dark() else LIGHT


def mute(widget: QWidget) -> None:
    """The widget's text in the theme's muted colour (call it again after a theme change: it is set, not inherited)."""
    palette = widget.palette()
    palette.setColor(QPalette.ColorRole.WindowText, QColor(colours().muted))
    widget.setPalette(palette)


def small_font(font: QFont) -> QFont:
    """DESIGN.md's Small: 0.85 x `font` (message headers, token lines, a code block's language)."""
    small = QFont(font)
    small.setPointSizeF(font.pointSizeF() * SMALL)
    return small


def icon_side(font: QFont, least: int) -> int:
    """An icon beside text in `font`: `least` px (its designed size) or as tall as the text's ascent, if larger
    (a large chat font)."""
    from PySide6.QtGui import QFontMetrics

    return max(least, QFontMetrics(font).ascent())
