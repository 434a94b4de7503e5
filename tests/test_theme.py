"""Settings' theme: Light, Dark and Follow the system visibly apply to the whole window (every tab, cards, code
blocks, the Markdown view), also where the platform reports no colour scheme (offscreen here), and after a restart."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtGui import QColor, QImage

from app.ui import theme


def mean_luminance(image: QImage, rect: tuple[int, int, int, int] | None = None) -> float:
    """0 (black) to 255 (white), sampled on a grid."""
    x0, y0, w, h = rect or (0, 0, image.width(), image.height())
    total, count = 0.0, 0
    for y in range(y0, y0 + h, 4):
        for x in range(x0, x0 + w, 4):
            c = QColor(image.pixel(x, y))
            total += 0.2126 * c.red() + 0.7152 * c.green() + 0.0722 * c.blue()
            count += 1
    return total / max(1, count)


def set_theme_pref(home: Path, value: str) -> None:
    settings = QSettings(str(home / "config" / "ui.ini"), QSettings.Format.IniFormat)
    settings.setValue("ui/theme", value)
    settings.sync()


def screenshot(home: Path, tab: str, out: Path) -> QImage:
    env = dict(os.environ, PARLEY_HOME=str(home), QT_QPA_PLATFORM="offscreen")
    proc = subprocess.run(
        [sys.executable, "-m", "app", "--demo", "--screenshot", str(out), "--tab", tab],
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.strip().splitlines()[-1])["ok"]
    image = QImage(str(out))
    assert not image.isNull()
    return image


@pytest.mark.e2e
@pytest.mark.parametrize("tab", ["chat", "settings"])
def test_dark_and_light_apply_after_a_restart_without_a_platform_scheme(qapp, parley_home, tmp_path, tab):
    shots = {}
    for choice in ("light", "dark", "system"):
        set_theme_pref(parley_home, choice)
        shots[choice] = mean_luminance(screenshot(parley_home, tab, tmp_path / f"{tab}-{choice}.png"))
    assert shots["light"] > 200, shots
    assert shots["dark"] < 70, shots
    # Offscreen reports no scheme and a light palette: following the system is light, not a half-dark mix.
    assert abs(shots["system"] - shots["light"]) < 5, shots


def show_window(qtbot):
    from app.ui.common.services import AppServices
    from app.ui.main_window import MainWindow

    services = AppServices(demo=True)
    win = MainWindow(services)
    qtbot.addWidget(win)
    with qtbot.waitSignal(win.settled, timeout=10000):
        win.show()
    return win


@pytest.fixture
def restore_light():
    yield
    theme.apply_theme("light")


def test_switching_in_settings_repaints_cards_code_and_markdown(qtbot, restore_light):
    from app.core import errors
    from app.ui.chat.message_widget import MessageWidget

    theme.apply_theme("light")
    win = show_window(qtbot)
    win.select_tab("settings")
    settings = win.tab("settings")
    qtbot.waitUntil(settings.isVisible)
    answer = MessageWidget("assistant", "Some **prose**.\n\n```python\nprint('hello world')\n```\n")
    answer.card.show_problem(
        errors.Problem(errors.Kind.RATE_LIMIT, "Too many requests", "Wait.", "Try again.")
    )
    qtbot.addWidget(answer)
    answer.resize(500, 300)
    answer.show()
    qtbot.waitExposed(answer)

    def lum(widget) -> float:
        return mean_luminance(widget.grab().toImage())

    light = {
        "window": lum(win),
        "answer": lum(answer),
        "card": lum(answer.card),
        "markdown": lum(answer.body),
    }
    light_html = answer.body.rich_text()
    settings.theme.setCurrentIndex(settings.theme.findData("dark"))  # what the user does
    qtbot.waitUntil(lambda: theme.is_dark())
    qtbot.wait(100)  # palette change events are delivered by the event loop
    assert win.services.pref("ui/theme") == "dark"
    dark = {"window": lum(win), "answer": lum(answer), "card": lum(answer.card), "markdown": lum(answer.body)}
    for part in light:
        assert light[part] > 150 and dark[part] < 90, (part, light, dark)
    # The code block's colours are baked into the HTML: they were rendered again for the dark palette.
    dark_html = answer.body.rich_text()
    assert dark_html != light_html
    # The code block is drawn on the code colour of the theme now shown.
    code = answer.body.code_parts()[0]
    inside = code.grab().toImage().pixelColor(code.width() // 2, 2).name()
    assert inside == theme.DARK.code, (inside, theme.DARK.code)

    settings.theme.setCurrentIndex(settings.theme.findData("system"))
    qtbot.waitUntil(lambda: not theme.is_dark())  # offscreen has no scheme and a light palette
    qtbot.wait(100)
    assert lum(win) > 150
    win.close()


def wrong_colours(win) -> list[str]:
    """Widgets that do not paint with the theme now applied: a palette they inherit that is not the app's (a
    subtree Qt stopped updating), or a muted label still in the other theme's muted colour."""
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QPalette
    from PySide6.QtWidgets import QApplication, QLabel, QWidget

    role = QPalette.ColorRole
    wrong = []
    for widget in [win, *win.findChildren(QWidget)]:
        palette, app_palette = widget.palette(), QApplication.palette(widget)
        name = f"{type(widget).__name__} {widget.objectName() or widget.accessibleName()}"
        if not widget.testAttribute(Qt.WidgetAttribute.WA_SetPalette):
            if palette.color(role.Window) != app_palette.color(role.Window):
                wrong.append(f"{name}: window {palette.color(role.Window).name()}")
        elif isinstance(widget, QLabel):
            text = palette.color(role.WindowText).name()
            other = theme.LIGHT if theme.is_dark() else theme.DARK
            if text in (other.muted, other.text) and text not in (
                theme.colours().muted,
                theme.colours().text,
            ):
                wrong.append(f"{name}: text {text}")
    return wrong


@pytest.mark.parametrize("start, to", [("light", "dark"), ("dark", "light")])
def test_switching_theme_repaints_a_conversation_in_the_chat(qtbot, restore_light, start, to):
    """The chat tab's conversation stayed in the old theme after a switch in Settings: light surface and card under
    a dark window (your bubble dark text on navy), or the reverse: Qt stops updating the palette of a tab widget
    whose tab bar has a style sheet, and the muted headers kept the colour they were made with."""
    from tests.test_chat_tab import send

    theme.apply_theme(start)
    win = show_window(qtbot)
    with qtbot.waitSignal(win.services.connection_changed, timeout=20000):
        win.services.reconnect()
    win.services.connection.emulator.think_seconds = 0.0
    chat = win.tab("chat")
    qtbot.waitUntil(lambda: chat.history is not None, timeout=10000)
    send(qtbot, chat, "How do I sort a list? fault:cut")
    qtbot.waitUntil(lambda: chat.view.widgets[-1].card.isVisible(), timeout=10000)
    assert wrong_colours(win) == []
    win.select_tab("settings")
    settings = win.tab("settings")
    qtbot.waitUntil(settings.isVisible)
    settings.theme.setCurrentIndex(settings.theme.findData(to))
    qtbot.wait(100)
    win.select_tab("chat")
    qtbot.waitUntil(chat.view.isVisible)
    assert wrong_colours(win) == []
    surface = mean_luminance(chat.view.viewport().grab().toImage())
    assert (surface < 90) if to == "dark" else (surface > 150), surface
    win.close()


@pytest.mark.parametrize("choice", ["light", "dark"])
def test_unchecked_boxes_and_radio_buttons_stand_out_in_both_themes(qtbot, restore_light, choice):
    """In dark, Fusion drew an unchecked radio button's ring and a check box's frame a shade darker than the
    window: the sidebar's search modes and Settings' choices looked like bare text."""
    from PySide6.QtWidgets import QCheckBox, QRadioButton, QStyle, QStyleOptionButton, QVBoxLayout, QWidget

    from app.ui import style

    theme.apply_theme(choice)
    page = QWidget()
    layout = QVBoxLayout(page)
    radio, box = QRadioButton("Meaning"), QCheckBox("Keep Parley in the tray")
    layout.addWidget(radio)
    layout.addWidget(box)
    style.apply(page)
    qtbot.addWidget(page)
    page.show()
    qtbot.waitExposed(page)
    background = mean_luminance(page.grab().toImage(), (0, 0, 4, 4))
    for button, element in ((radio, "SE_RadioButtonIndicator"), (box, "SE_CheckBoxIndicator")):
        option = QStyleOptionButton()
        button.initStyleOption(option)
        rect = button.style().subElementRect(getattr(QStyle.SubElement, element), option, button)
        image = button.grab(rect).toImage()
        ring = max(
            abs(0.2126 * c.red() + 0.7152 * c.green() + 0.0722 * c.blue() - background)
            for c in (QColor(image.pixel(x, y)) for x in range(image.width()) for y in range(image.height()))
        )
        assert ring > 60, (choice, element, ring)


def test_following_the_system_the_scheme_seen_last_is_corrected_once_the_first_frame_is_out(
    qapp, restore_light
):
    # Start-up paints in the desktop's scheme as seen last time (asking the platform costs the first frame ~23 ms).
    # Here the desktop turned light while Parley was closed (offscreen reports no scheme and a light palette).
    from PySide6.QtGui import QPalette

    window = lambda: qapp.palette().color(QPalette.ColorRole.Window).lightness()  # noqa: E731
    assert theme.apply_theme("system", system_dark=True) is True
    assert theme.is_dark() and window() < 128
    assert theme.follow_platform() is False  # asked now: light, and remembered so by the caller
    assert not theme.is_dark() and window() > 128
    # Light or Dark chosen: the platform reports the choice, not the desktop, so nothing is remembered.
    assert theme.apply_theme("dark", system_dark=False) is True
    assert theme.follow_platform() is None and theme.is_dark()


@pytest.mark.e2e
def test_a_desktop_that_changed_while_parley_was_closed_is_followed_and_remembered(parley_home, tmp_path):
    settings = QSettings(str(parley_home / "config" / "ui.ini"), QSettings.Format.IniFormat)
    settings.setValue("ui/system_dark", True)  # dark when Parley last ran; light now (offscreen)
    settings.sync()
    shot = screenshot(parley_home, "chat", tmp_path / "chat.png")
    assert mean_luminance(shot) > 180, "the window stayed in the desktop's old dark scheme"
    settings = QSettings(str(parley_home / "config" / "ui.ini"), QSettings.Format.IniFormat)
    assert settings.value("ui/system_dark") in (False, "false")
