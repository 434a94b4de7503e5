"""Voice turns on the Voice tab with real audio (the private PulseAudio of scripts/test.sh) and the demo emulator:
what Parley itself adds between the end of speech and its first audio out, and the longest GUI stall of a turn.

Figures per turn (medians printed as one JSON line):
- vad_end_to_transcription_request_ms: the VAD's end-of-speech decision to the WAV handed to the HTTP client
  (target <= 50 ms);
- first_tts_byte_to_device_ms: the first speech byte received to audio handed to the device (target <= 50 ms);
- vad_end_to_first_audio_ms: the VAD's decision to the first audio handed to the device (includes transcription,
  the chat's first sentence and its synthesis, all from the local emulator);
- spoken_end_to_heard_ms: the question's last sample played into the virtual microphone to Parley's first sound
  on the speaker sink, as a listener would time it (includes the VAD's 650 ms of silence that ends a turn);
- first audio must start before the whole answer has arrived (the answer streams at 50 tokens/s, ~3 s);
- longest_gui_stall_ms: the longest gap of a 10 ms GUI timer during the turn.

Without PARLEY_TEST_AUDIO=1 (no virtual microphone) it prints why and exits 0.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from benchmarks._report import report, skipped

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

TURNS = 3
WORDS = "What is the capital of France?"
TARGET_MS = 50.0
CEILINGS_MS = {
    "vad_end_to_transcription_request_ms": 250.0,
    "first_tts_byte_to_device_ms": 250.0,
    "vad_end_to_first_audio_ms": 3000.0,
    "spoken_end_to_heard_ms": 4000.0,
    "longest_gui_stall_ms": 250.0,
}


def _wait(app, condition, timeout: float, what: str) -> None:
    """Run the event loop (not a processEvents spin) until `condition()` holds."""
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    deadline = time.monotonic() + timeout

    def check() -> None:
        if condition() or time.monotonic() > deadline:
            loop.quit()

    timer = QTimer()
    timer.setInterval(10)
    timer.timeout.connect(check)
    timer.start()
    if not condition():
        loop.exec()
    timer.stop()
    if not condition():
        raise TimeoutError(f"{what} within {timeout} s")


def run() -> dict:
    from PySide6.QtWidgets import QApplication

    from app.ui.common import workers
    from app.ui.common.services import AppServices
    from app.ui.voice.tab import VoiceTab
    from app.voice.events import VoiceState
    from devtools.audio_rig import SpeakerTap, say_into_mic, spoken_wav
    from devtools.stall_probe import StallProbe

    app = QApplication.instance() or QApplication(sys.argv[:1])
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["PARLEY_HOME"] = tmp
        question = spoken_wav(WORDS, Path(tmp) / "question.wav")
        services = AppServices(demo=True)
        services.reconnect()
        _wait(app, lambda: services.connection is not None, 30, "no demo connection")
        emulator = services.connection.emulator
        emulator.token_rate = 50  # ~150 tokens: the answer streams for about 3 s
        tab = VoiceTab(services)
        tab.resize(960, 640)
        tab.show()
        _wait(app, lambda: tab.start_button.isEnabled(), 15, "no microphone listed")
        tab.hands_free.setChecked(True)
        tab.speed.setValue(4.0)
        states: list = []
        tab.state_changed.connect(states.append)
        probe = StallProbe()
        turns = []
        with SpeakerTap() as speaker:
            tab.start()

            def mic_delivering() -> bool:
                level = tab.devices.last_level  # what the meter got: the mic has delivered this much
                return level is not None and level.frames > 8000

            _wait(app, mic_delivering, 15, "the microphone never delivered audio")
            for _ in range(TURNS):
                emulator.hear(WORDS)
                tab.timings.clear()
                states.clear()
                player = say_into_mic(question)
                probe.start()
                _wait(
                    app,
                    lambda player=player: player.poll() is not None,
                    15,
                    "the question never finished playing",
                )
                spoken_end = time.monotonic()
                _wait(
                    app,
                    lambda: states[-2:] == [VoiceState.SPEAKING, VoiceState.LISTENING],
                    60,
                    "no full turn",
                )
                probe.stop()
                heard = speaker.first_sound_at(after=spoken_end)
                t = tab.timings
                turns.append(
                    {
                        "vad_end_to_transcription_request_ms": t["vad_end_to_transcription_request"],
                        "first_tts_byte_to_device_ms": t["first_tts_byte_to_device"],
                        "vad_end_to_first_audio_ms": t["speech_end_to_first_audio"],
                        "spoken_end_to_heard_ms": (heard - spoken_end) * 1000
                        if heard is not None
                        else float("inf"),
                        "first_audio_before_answer_complete": t["answer_complete_before_first_audio"] == 0.0,
                        "chat_start_to_first_audio_ms": t["chat_start_to_first_audio"],
                        "chat_start_to_answer_complete_ms": t["chat_start_to_answer_complete"],
                        "longest_gui_stall_ms": probe.longest_ms,
                    }
                )
            tab.stop()
            _wait(app, lambda: not tab.running, 10, "the session did not stop")
        tab.shutdown()
        workers.shutdown()
        services.shutdown()
        transcripts = [text for text, _ in emulator.transcripts]
    result: dict = {"turns": TURNS}
    for key in turns[0]:
        values = [turn[key] for turn in turns]
        if isinstance(values[0], bool):
            result[key] = all(values)
        else:
            result[key] = round(statistics.median(values), 1)
            result[f"{key}_max"] = round(max(values), 1)
    result["transcripts_ok"] = transcripts == [WORDS] * TURNS
    return result


def main() -> int:
    from devtools.audio_rig import missing

    reason = missing()
    if reason is not None:
        return skipped("voice_latency", reason)
    result = run()
    checks = {k: result.pop(k) for k in ("transcripts_ok", "first_audio_before_answer_complete")}
    return report(
        "voice_latency",
        result,
        targets={"vad_end_to_transcription_request_ms": TARGET_MS, "first_tts_byte_to_device_ms": TARGET_MS},
        ceilings={f"{key}_max": limit for key, limit in CEILINGS_MS.items()},
        checks=checks,
    )


if __name__ == "__main__":
    sys.exit(main())
