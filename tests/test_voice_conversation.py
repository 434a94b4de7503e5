"""A voice session stores its conversation with its first turn: a silent one leaves no empty "Voice conversation"
in the Chat sidebar (issue #15). The tab's job runs against the demo emulator with a silent stand-in microphone."""

from __future__ import annotations

import threading
import time
from typing import Any

import numpy as np

import app.audio.player as player_module
import app.audio.recorder as recorder_module
from app.core.cancel import CancelToken
from app.core.history import History
from app.ui.voice.engine import chained_job
from app.voice.session import Controls, VoiceConfig


class SilentMic:
    """A microphone in a quiet room: 30 ms blocks of faint noise, in real time."""

    def __init__(self, device: Any = None, samplerate: int = 16000, blocksize: int = 480):
        self.samplerate, self.latency, self.frames = samplerate, 0.0, 0
        self.level = recorder_module.Level()

    def start(self) -> None: ...
    def stop(self) -> None: ...

    def read(self, timeout: float = 0.1) -> Any:
        time.sleep(0.03)
        self.frames += 480
        return (0.0005 * np.random.default_rng(self.frames).standard_normal(480)).astype(np.float32)

    def drain(self) -> list:
        return []


def test_a_silent_voice_session_leaves_no_empty_conversation(services, monkeypatch):
    monkeypatch.setattr(recorder_module, "Recorder", SilentMic)
    monkeypatch.setattr(player_module, "Player", lambda *a, **k: None)
    cancel = CancelToken()
    events: list[Any] = []

    def run() -> None:
        events.extend(chained_job(services.connection, VoiceConfig(), Controls(), lambda level: None, cancel))

    thread = threading.Thread(target=run)
    thread.start()
    time.sleep(1.5)  # listening, nobody speaks; then Stop
    cancel.cancel()
    thread.join(10)
    assert not thread.is_alive()
    assert History.open().list_conversations() == [], "a silent session stored an empty conversation"
