"""Preferences: one table of keys, types and defaults; what is stored comes back typed, junk falls back."""

from __future__ import annotations

import pytest

from app.ui.common import prefs
from app.ui.common.services import AppServices


def test_values_come_back_typed_after_a_restart(qtbot):
    services = AppServices()
    # Barge-in is on by default since it listens only where echo is cancelled (#15); "false" read back from the
    # INI file must still be False, not a truthy string.
    assert services.pref(prefs.CHAT_FONT_SIZE) == 11 and services.pref(prefs.VOICE_BARGE_IN) is True
    services.set_pref(prefs.CHAT_FONT_SIZE, 15)
    services.set_pref(prefs.VOICE_BARGE_IN, False)
    services.set_pref(prefs.CHAT_CONVERSATION, 7)
    services.settings.sync()
    fresh = AppServices()  # reads ui.ini again: INI values are strings on disk
    assert fresh.pref(prefs.CHAT_FONT_SIZE) == 15
    assert fresh.pref(prefs.VOICE_BARGE_IN) is False
    assert fresh.pref(prefs.CHAT_CONVERSATION) == 7


def test_a_damaged_value_falls_back_to_the_default(qtbot):
    services = AppServices()
    services.settings.setValue(prefs.CHAT_FONT_SIZE.key, "huge")
    services.settings.setValue(prefs.CHAT_CONVERSATION.key, "none")
    assert services.pref(prefs.CHAT_FONT_SIZE) == 11 and services.pref(prefs.CHAT_CONVERSATION) is None


def test_every_key_is_in_the_table(qtbot):
    services = AppServices()
    with pytest.raises(KeyError):
        services.pref("chat/no_such_pref")
    changed = []
    services.pref_changed.connect(lambda key, value: changed.append((key, value)))
    services.set_pref(prefs.THEME, "dark")
    assert changed == [("ui/theme", "dark")] and services.pref("ui/theme") == "dark"
