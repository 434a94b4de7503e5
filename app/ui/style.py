"""The base style sheet, made from the design tokens (docs/DESIGN.md) for light or dark: flat buttons with one
accent-coloured primary button, rounded inputs, quiet tabs.

It is set on the window's controls (`apply(widget)`: the tab bar, the chat's box, header and sidebar, each tab's
page) and never on the application or on an ancestor of the conversation: a style sheet there stops the messages
from following the chat font size (Qt resolves a styled widget's font once, when it is polished) and makes every
message slower to build. `theme.apply_theme` calls `restyle` with the new colours.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QApplication, QWidget

from app.ui import design
from app.ui.design import Colours

STYLED = "parleyStyled"  # the property that marks a widget `apply` styled
CHECK = (Path(__file__).resolve().parents[1] / "resources" / "indicators" / "check.svg").as_posix()


def apply(widget: QWidget) -> None:
    """Style `widget` and its children with the base sheet in the theme's colours, now and after a theme change."""
    from app.ui import theme

    widget.setProperty(STYLED, True)
    widget.setStyleSheet(sheet(theme.colours()))


def restyle() -> None:
    from app.ui import theme

    text = sheet(theme.colours())
    for widget in QApplication.allWidgets():
        if widget.property(STYLED):
            widget.setStyleSheet(text)


def sheet(c: Colours) -> str:
    r, xs, s, m = design.RADIUS_SMALL, design.XS, design.S, design.M
    # One height for one-line controls (design.CONTROL): min-height is the content's, inside padding and border;
    # combo and spin boxes keep Fusion's drawing (only min-height is set) with its own 3 px frame.
    boxed = design.CONTROL - 2 * xs - 2
    native = design.CONTROL - 6
    return f"""
QPushButton {{
    background: {c.button}; color: {c.text}; border: 1px solid {c.border}; border-radius: {r}px;
    padding: {xs}px {m}px; min-height: {boxed}px;
}}
QComboBox, QAbstractSpinBox {{ min-height: {native}px; }}
QPushButton:hover {{ background: {c.alternate}; }}
QPushButton:pressed {{ background: {c.border}; }}
QPushButton:focus {{ border-color: {c.accent}; }}
QPushButton:disabled {{ color: {c.muted}; background: {c.window}; }}
QPushButton#primary {{ background: {c.accent}; color: {c.accent_text}; border-color: {c.accent}; }}
QPushButton#primary:hover {{ background: {c.link}; }}
QPushButton#primary:focus {{ border: 2px solid {c.text}; }}
QPushButton#primary:disabled {{ color: {c.muted}; background: {c.window}; border-color: {c.border}; }}
QToolButton {{ border: 1px solid transparent; border-radius: {r}px; padding: {xs}px; }}
QToolButton:hover {{ background: {c.alternate}; }}
QToolButton:focus {{ border-color: {c.accent}; }}
QLineEdit, QPlainTextEdit {{
    background: {c.base}; color: {c.text}; border: 1px solid {c.border}; border-radius: {r}px;
    padding: {xs}px; selection-background-color: {c.accent}; selection-color: {c.accent_text};
}}
QLineEdit {{ min-height: {boxed}px; }}
QLineEdit:focus, QPlainTextEdit:focus {{ border-color: {c.accent}; }}
QTabWidget::pane {{ border: none; border-top: 1px solid {c.border}; }}
QTabBar::tab {{
    background: transparent; color: {c.muted}; border: none; border-bottom: 2px solid transparent;
    padding: {s}px {m}px; margin-right: {xs}px;
}}
QTabBar::tab:selected {{ color: {c.text}; border-bottom-color: {c.accent}; }}
QTabBar::tab:hover {{ color: {c.text}; }}
QCheckBox::indicator, QRadioButton::indicator {{
    width: 14px; height: 14px; border: 1px solid {c.muted}; background: {c.base};
}}
QCheckBox::indicator {{ border-radius: 3px; }}
QRadioButton::indicator {{ border-radius: 8px; }}
QCheckBox::indicator:hover, QRadioButton::indicator:hover {{ border-color: {c.accent}; }}
QCheckBox::indicator:checked {{ background: {c.accent}; border-color: {c.accent}; image: url({CHECK}); }}
QRadioButton::indicator:checked {{
    border-color: {c.accent};
    background: qradialgradient(cx: 0.5, cy: 0.5, radius: 0.5, fx: 0.5, fy: 0.5, stop: 0 {c.accent_text},
        stop: 0.32 {c.accent_text}, stop: 0.42 {c.accent}, stop: 1 {c.accent});
}}
QCheckBox::indicator:disabled, QRadioButton::indicator:disabled {{ border-color: {c.border}; background: {c.window}; }}
QCheckBox::indicator:checked:disabled, QRadioButton::indicator:checked:disabled {{ background: {c.border}; }}
QToolTip {{ background: {c.tooltip}; color: {c.tooltip_text}; border: 1px solid {c.border}; padding: {xs}px; }}
"""
