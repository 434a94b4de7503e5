"""Every UI preference (QSettings, ui.ini) as one table of `Pref(key, type, default)`: read and written only through it."""

from __future__ import annotations

from typing import Any, NamedTuple

from PySide6.QtCore import QByteArray


class Pref(NamedTuple):  # a named tuple, not a dataclass: `dataclasses` cost the first frame ~2 ms to import
    key: str
    type: type
    default: Any = None

    def convert(self, raw: Any, default: Any = None) -> Any:
        """The stored value as `type` (an INI file gives strings back), or the default when absent or unreadable."""
        fallback = self.default if default is None else default
        if raw is None:
            return fallback
        if self.type is bool:
            return raw if isinstance(raw, bool) else str(raw).strip().lower() in ("true", "1", "yes")
        if self.type is QByteArray:
            return raw if isinstance(raw, QByteArray) else fallback
        try:
            return self.type(raw)
        except (TypeError, ValueError):
            return fallback


THEME = Pref("ui/theme", str, "system")  # system / light / dark
# The desktop's scheme when last seen: the first frame is painted in it, before the platform is asked (theme.py).
SYSTEM_DARK = Pref("ui/system_dark", bool)
WINDOW_GEOMETRY = Pref("window/geometry", QByteArray)
WINDOW_TAB = Pref("window/tab", str, "chat")  # the tab shown at the last quit
KEEP_IN_TRAY = Pref("window/keep_in_tray", bool, False)  # closing the window leaves Parley in the tray
CHAT_FONT_SIZE = Pref("chat/font_size", int, 11)
CHAT_SEND_KEY = Pref("chat/send_key", str, "enter")  # enter / ctrl+enter
CHAT_CONVERSATION = Pref("chat/conversation", int)  # the conversation open at the last quit
SEARCH_MODE = Pref("history_search/mode", str, "both")  # words / meaning / both
VOICE_INPUT = Pref("voice/input", str)  # device names; None: the system default
VOICE_OUTPUT = Pref("voice/output", str)
VOICE_MODE = Pref("voice/mode", str, "hands_free")  # hands_free / push_to_talk
VOICE_BARGE_IN = Pref("voice/barge_in", bool, True)  # on: it listens only where echo is cancelled
VOICE_MARGIN_DB = Pref("voice/margin_db", int, 12)
VOICE_ENGINE = Pref("voice/engine", str, "live")  # live (Realtime, where the profile has it) / chained
VOICE_TURN_DETECTION = Pref("voice/turn_detection", str, "server_vad")  # live: server_vad / semantic_vad
VOICE_EAGERNESS = Pref("voice/eagerness", str, "auto")  # live semantic VAD: low / medium / high / auto
# Voice and speed live in the profile; these hold them for demo and environment connections (default: the profile's).
VOICE_VOICE = Pref("voice/voice", str)
VOICE_SPEED = Pref("voice/speed", float)
VOICE_STYLE = Pref("voice/style", str, "")  # a speaking style for gpt-4o-mini-tts (its `instructions`)
# The Images tab's options per family and the deployment last used, as JSON ({"dall-e": {...}, "gpt-image": {...}}).
IMAGES_OPTIONS = Pref("images/options", str, "")
# Prices per deployment, per 1M tokens, typed by the user (nothing is fetched), as JSON:
# {"gpt-5-mini": {"input": 0.25, "cached": 0.025, "output": 2.0}}.
CHAT_PRICES = Pref("chat/prices", str, "")
CHAT_REASONING_EFFORT = Pref("chat/reasoning_effort", str, "")  # "": the model's own default

PREFS = {
    p.key: p
    for p in (
        THEME,
        SYSTEM_DARK,
        WINDOW_GEOMETRY,
        WINDOW_TAB,
        KEEP_IN_TRAY,
        CHAT_FONT_SIZE,
        CHAT_SEND_KEY,
        CHAT_CONVERSATION,
        SEARCH_MODE,
        VOICE_INPUT,
        VOICE_OUTPUT,
        VOICE_MODE,
        VOICE_BARGE_IN,
        VOICE_MARGIN_DB,
        VOICE_ENGINE,
        VOICE_TURN_DETECTION,
        VOICE_EAGERNESS,
        VOICE_VOICE,
        VOICE_SPEED,
        VOICE_STYLE,
        IMAGES_OPTIONS,
        CHAT_PRICES,
        CHAT_REASONING_EFFORT,
    )
}


def lookup(pref: Pref | str) -> Pref:
    """The table's entry; a key missing from the table is a bug, so it raises KeyError."""
    return pref if isinstance(pref, Pref) else PREFS[pref]
