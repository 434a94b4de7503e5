"""The Voice tab before its first conversation, in the transcript's place: "Talk with Parley", how (hands-free or
push-to-talk, with which engine) and a Start button once the tab's Start can work (devices listed, a microphone)."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QWidget

from app.ui.common.empty_state import EmptyState

HANDS_FREE = "Hands-free: just speak, and a pause ends your turn."
PUSH_TO_TALK = "Push-to-talk: hold Space (or Hold to talk) while you speak; let go to send."
LIVE = "Live: one Realtime API session hears you and answers aloud."
CHAINED = "Chained: your words are transcribed, answered by the chat deployment and spoken."


class VoiceEmpty(EmptyState):
    def __init__(self, start: Callable[[], object], parent: QWidget | None = None):
        super().__init__("Talk with Parley", "", parent)
        self.start = self.add_action(
            "Start talking", start, "Starts the voice conversation: Parley listens, then answers aloud"
        )
        self.hide()

    def set_how(self, *, hands_free: bool, live: bool) -> None:
        """The guidance for the mode and engine chosen above."""
        text = f"{HANDS_FREE if hands_free else PUSH_TO_TALK} {LIVE if live else CHAINED}"
        self.guidance.setText(text)
        self.setAccessibleDescription(text)

    def set_ready(self, ready: bool) -> None:
        """Start only where it can work (the devices are still being listed)."""
        self.start.setVisible(ready)
