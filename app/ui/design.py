"""The design tokens of docs/DESIGN.md in one place: spacing, type scale, radii, the reading column and the colours
of light and dark that the palette (`theme.py`), the base style sheet (`style.py`) and the widgets read."""

from __future__ import annotations

from typing import NamedTuple

# Spacing scale (px): every margin and gap is one of these.
XS, S, M, L, XL = 4, 8, 12, 16, 24

# Height of one-line controls (px): buttons, text fields, combo boxes and spin boxes side by side line up.
CONTROL = 26

# Corner radii (px).
RADIUS_SMALL = 4  # inputs, buttons, code blocks, cards
RADIUS = 8  # panels
RADIUS_BUBBLE = 12  # your messages

# Type scale, relative to the body size (the chat font size pref in the conversation, the system's elsewhere).
SMALL = 0.85  # headers of messages, token lines, notes
TITLE = 1.25  # a conversation's title, empty states

# The reading column: at most this many average characters of the chat font wide, centred in wider windows.
COLUMN_CHARS = 76


class Colours(NamedTuple):  # not a dataclass: the first frame does without importing `dataclasses` (~2 ms)
    window: str
    base: str  # text fields, lists, the conversation
    alternate: str  # alternate rows, hover
    button: str
    text: str
    muted: str  # secondary text, placeholders
    border: str
    accent: str  # selection, focus, links, the primary button
    accent_text: str
    link: str
    tooltip: str
    tooltip_text: str
    user_bubble: str  # your messages
    code: str  # code blocks' background
    quote: str  # the bar left of a blockquote
    danger: str  # cards: problems
    warning: str  # cards: refusals, warnings
    info: str  # cards: information
    ok: str
    waiting: str


LIGHT = Colours(
    window="#f4f5f7",
    base="#ffffff",
    alternate="#eef1f5",
    button="#ffffff",
    text="#1f2328",
    muted="#656d76",
    border="#d0d7de",
    accent="#2f6fde",
    accent_text="#ffffff",
    link="#1f5fcf",
    tooltip="#ffffff",
    tooltip_text="#1f2328",
    user_bubble="#e8effc",
    code="#f6f8fa",
    quote="#c5ccd6",
    danger="#c0392b",
    warning="#b35900",
    info="#2f6fde",
    ok="#1e8449",
    waiting="#6f7b82",
)
DARK = Colours(
    window="#1d1f23",
    base="#24272c",
    alternate="#2d3137",
    button="#2d3137",
    text="#e6e8eb",
    muted="#9aa1ab",
    border="#40464f",
    accent="#4c8dff",
    accent_text="#ffffff",
    link="#7fb0ff",
    tooltip="#2d3137",
    tooltip_text="#e6e8eb",
    user_bubble="#2b3a55",
    code="#1b1d21",
    quote="#566070",
    danger="#ff6b5e",
    warning="#f0a04b",
    info="#6ea2ff",
    ok="#4cc37a",
    waiting="#9aa1ab",
)


def kind_colour(colours: Colours, kind: str) -> str:
    """A card's colour by its kind (problem, refusal, info, waiting, ok, warning)."""
    return {
        "problem": colours.danger,
        "refusal": colours.warning,
        "warning": colours.warning,
        "info": colours.info,
        "waiting": colours.waiting,
        "ok": colours.ok,
    }.get(kind, colours.info)
