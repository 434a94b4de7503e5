"""Help → Keyboard shortcuts: every key Parley answers to, by where it works (tests check none is left out)."""

from __future__ import annotations

from PySide6.QtGui import QKeySequence

SHOW_SHORTCUTS = "Ctrl+/"
UNDO_KEYS = (
    "Ctrl+Z"  # outside a text box (which keeps it for its own text): the chat tab's Undo of a deletion
)

# (where, keys, what): keys in QKeySequence's portable form, shown in the platform's own words.
SHORTCUTS: tuple[tuple[str, str, str], ...] = (
    ("Everywhere", "Ctrl+1", "Chat tab"),
    ("Everywhere", "Ctrl+2", "Voice tab"),
    ("Everywhere", "Ctrl+3", "Images tab"),
    ("Everywhere", "Ctrl+4", "Completions tab"),
    ("Everywhere", "Ctrl+5", "Jobs tab"),
    ("Everywhere", "Ctrl+6", "Settings tab"),
    ("Everywhere", "Tab", "Next control (Shift+Tab: the one before)"),
    ("Everywhere", "Alt", "With an underlined letter: that menu, tab, button or field"),
    ("Everywhere", SHOW_SHORTCUTS, "This list of shortcuts"),
    ("Everywhere", "Ctrl+Q", "Quit Parley"),
    ("Chat", "Return", "Send the message (or Ctrl+Return, as chosen in Settings)"),
    ("Chat", "Shift+Return", "New line in the message (Return, when Ctrl+Return sends)"),
    ("Chat", "Esc", "Stop the answer"),
    ("Chat", "Ctrl+N", "New chat"),
    ("Chat", "Ctrl+F", "Search all chats"),
    ("Chat", "Alt+R", "The reasoning effort box (reasoning deployments)"),
    ("Chat", "Down", "From the search box: into the results (Return opens one)"),
    ("Chat", "F2", "Rename the selected conversation"),
    ("Chat", "Ctrl+P", "Pin the selected conversation to the top (again: unpin it)"),
    ("Chat", "Menu", "The selected conversation's menu: rename, pin, export, delete"),
    ("Chat", "Shift+F10", "The selected conversation's menu, as the menu key"),
    ("Chat", "Del", f"Delete the selected conversation (Undo or {UNDO_KEYS} brings it back)"),
    (
        "Chat",
        UNDO_KEYS,
        "Bring back the conversation just deleted (outside a text box, while Undo is offered)",
    ),
    ("Voice", "Space", "Hold to talk, in push-to-talk mode"),
    ("Voice", "Esc", "Stop the voice conversation"),
    ("Images", "Ctrl+Return", "Generate the image"),
    ("Images", "Esc", "Cancel the generation"),
    ("Images", "Del", "Delete the selected image in the gallery (Undo brings it back)"),
    ("Completions", "Ctrl+Return", "Run the completion"),
    ("Completions", "Esc", "Stop the completion"),
)


def native(keys: str) -> str:
    """The keys as the platform writes them (Ctrl on Linux and Windows, ⌘ on macOS)."""
    return QKeySequence(keys).toString(QKeySequence.SequenceFormat.NativeText) or keys


def shortcuts_html() -> str:
    from html import escape  # not at import: html's entity table cost the first frame ~3 ms

    rows, where = [], ""
    for section, keys, what in SHORTCUTS:
        if section != where:
            where = section
            rows.append(f'<tr><td colspan="2"><br><b>{escape(section)}</b></td></tr>')
        rows.append(
            f"<tr><td style='padding-right: 16px'><code>{escape(native(keys))}</code></td>"
            f"<td>{escape(what)}</td></tr>"
        )
    return f"<table cellspacing='0' cellpadding='2'>{''.join(rows)}</table>"
