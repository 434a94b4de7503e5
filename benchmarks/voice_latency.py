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
- longest_gui_stall_ms: the longest gap of a 10 ms GUI timer during the turn;
- chained_barge_in_onset_to_stopped_ms: with Parley's voice looped back into the microphone at -18 dB (speakers
  beside a laptop's mic) and echo cancellation on, a user's utterance mixed in over the answer: its first voiced
  sample at the microphone to the player silenced (target <= 150 ms); `..._heard_ms` times the same to the last
  sound on the speaker sink (its monitor adds ~20 ms).

The live engine (`LiveVoiceSession` over the emulator's Realtime socket, the same devices), printed beside them:
- live_mic_frame_to_ws_send_ms: a mic block read to its `input_audio_buffer.append` handed to the WebSocket
  (target <= 20 ms);
- live_first_audio_delta_to_device_ms: the first `response.output_audio.delta` received to audio handed to the
  device (target <= 50 ms);
- live_barge_in_onset_to_stopped_ms: with Parley's voice looped back into the microphone at -18 dB and the live
  engine's echo cancellation on (as for the chained figure), a user's utterance mixed in over the answer: its first
  voiced sample at the microphone to the player silenced (target <= 150 ms).

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
BARGE_INS = 3
INTERRUPTION = "No, tell me about Spain instead."
BARGE_IN_TARGET_MS = 150.0
WORDS = "What is the capital of France?"
TARGET_MS = 50.0
CEILINGS_MS = {
    "vad_end_to_transcription_request_ms": 250.0,
    "first_tts_byte_to_device_ms": 250.0,
    "vad_end_to_first_audio_ms": 3000.0,
    "spoken_end_to_heard_ms": 4000.0,
    "longest_gui_stall_ms": 250.0,
    "chained_barge_in_onset_to_stopped_ms": 1000.0,  # target 150 ms (the issue); 123-608 ms measured under load
    "live_mic_frame_to_ws_send_ms": 250.0,  # target 20 ms
    "live_first_audio_delta_to_device_ms": 250.0,  # target 50 ms
    "live_barge_in_onset_to_stopped_ms": 1000.0,  # target 150 ms
}
LIVE_TARGETS_MS = {
    "live_mic_frame_to_ws_send_ms": 20.0,
    "live_first_audio_delta_to_device_ms": 50.0,
    "live_barge_in_onset_to_stopped_ms": BARGE_IN_TARGET_MS,
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
        # The demo chat deployment is a reasoning model that "thinks" 1.5 s first: these figures are Parley's own.
        emulator.think_seconds = 0
        tab = VoiceTab(services)
        tab.resize(960, 640)
        tab.show()
        _wait(app, lambda: tab.start_button.isEnabled(), 15, "no microphone listed")
        combo = tab.engine.engine_combo  # these figures are the chained engine's (live(): the live one's)
        combo.setCurrentIndex(combo.findData("chained"))
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


def barge_ins() -> dict:
    """The chained session on the real devices: BARGE_INS answers, each interrupted 2.5 s in (past the echo
    canceller's convergence), the user's voice mixed into the microphone over the looped-back echo."""
    import threading

    from app.audio.wav import decode_wav
    from app.core import profiles
    from app.core.cancel import CancelToken
    from app.core.connection import Connection
    from app.emulator import Emulator
    from app.voice.events import ReplyDone, StateChanged, VoiceState
    from app.voice.session import Controls, VoiceConfig, VoiceSession, backend_for
    from devtools.audio_rig import Echo, MicMixer, SpeakerTap, say_into_mic, silent_from, spoken_wav

    stopped_ms, heard_ms = [], []
    with tempfile.TemporaryDirectory() as tmp:
        question = spoken_wav(WORDS, Path(tmp) / "question.wav")
        interruption, rate = decode_wav(spoken_wav(INTERRUPTION, Path(tmp) / "no.wav").read_bytes())
        emu = Emulator(token_rate=40)
        emu.think_seconds = 0  # Parley's own latency, not the demo reasoning model's thinking
        emu.start()
        connection = Connection(profiles.demo_profile(emu.endpoint), api_key="demo", source="demo")
        config = VoiceConfig(input_name="default", speed=1.0)
        session = VoiceSession(backend_for(connection, config), config, Controls())
        cancel = CancelToken()
        events: list = []
        thread = threading.Thread(target=lambda: events.extend(session.run(cancel)), daemon=True)

        def wait(condition, timeout: float, what: str) -> None:
            deadline = time.monotonic() + timeout
            while not condition():
                if time.monotonic() > deadline:
                    raise TimeoutError(what)
                time.sleep(0.02)

        def of(kind: type) -> list:
            return [e for e in list(events) if isinstance(e, kind)]

        try:
            with MicMixer() as mixer, SpeakerTap() as speaker, Echo(50):
                thread.start()
                wait(lambda: session.recorder is not None and session.recorder.frames > 8000, 15, "no mic")
                for n in range(BARGE_INS):
                    emu.hear(WORDS, INTERRUPTION)
                    say_into_mic(question).wait(10)

                    def spoke() -> int:
                        return len([e for e in of(StateChanged) if e.state is VoiceState.SPEAKING])

                    before = spoke()
                    wait(lambda before=before: spoke() > before, 30, "no answer")
                    time.sleep(2.5)
                    players = len(session.players)
                    mixer.say(interruption, rate, session.recorder.samplerate)
                    wait(lambda n=n: len(of(ReplyDone)) >= 2 * n + 1, 10, "barge-in not heard")
                    time.sleep(1.0)
                    onset = mixer.onset_at
                    stopped = session.players[players - 1].stopped_at
                    quiet = silent_from(speaker, onset - 0.5, 1.5) if onset is not None else None
                    if onset is None or stopped is None or quiet is None:
                        raise TimeoutError("the barge-in was not timed")
                    stopped_ms.append((stopped - onset) * 1000)
                    heard_ms.append((quiet - onset) * 1000)
                    wait(lambda n=n: len(of(ReplyDone)) >= 2 * n + 2, 60, "the interruption not answered")
                    wait(lambda: of(StateChanged)[-1].state is VoiceState.LISTENING, 60, "not listening")
        finally:
            cancel.cancel()
            thread.join(10)
            connection.close()
            emu.stop()
    return {
        "chained_barge_in_onset_to_stopped_ms": round(statistics.median(stopped_ms), 1),
        "chained_barge_in_onset_to_stopped_ms_max": round(max(stopped_ms), 1),
        "chained_barge_in_onset_to_heard_stopped_ms": round(statistics.median(heard_ms), 1),
    }


def live() -> dict:
    """The live engine on the real devices: BARGE_INS spoken questions, Parley's voice looped back into the
    microphone at -18 dB as for the chained figure (its echo canceller on), each answer interrupted 2.5 s in (past
    the canceller's convergence) by the user's voice mixed into the microphone."""
    from dataclasses import replace

    from app.audio.player import Player
    from app.audio.wav import decode_wav
    from app.core import profiles
    from app.core.connection import Connection
    from app.emulator import Emulator
    from app.voice.events import ReplyDone, StateChanged, Timing, VoiceState
    from app.voice.live import LiveVoiceSession, live_backend_for
    from app.voice.session import Controls, VoiceConfig
    from devtools.audio_rig import Echo, MicMixer, say_into_mic, spoken_wav
    from devtools.voice_run import SessionRun

    stopped_ms: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        question = spoken_wav(WORDS, Path(tmp) / "question.wav")
        interruption, rate = decode_wav(spoken_wav(INTERRUPTION, Path(tmp) / "no.wav").read_bytes())
        emu = Emulator(token_rate=None)  # answer audio paced as Azure sends it
        emu.start()
        connection = Connection(profiles.demo_profile(emu.endpoint), api_key="demo", source="demo")
        config = VoiceConfig(input_name="default")
        players: list = []

        def player() -> Player:
            players.append(Player(config.output_device, 24000))
            return players[-1]

        backend = replace(live_backend_for(connection, config), player_factory=player)
        try:
            with (
                MicMixer() as mixer,
                Echo(50),
                SessionRun(LiveVoiceSession(backend, config, Controls()), connection) as run,
            ):
                if run.session.echo.canceller is None:
                    raise RuntimeError(f"no echo canceller: {run.session.echo.note}")
                for n in range(BARGE_INS):
                    emu.hear(f"len:300 {WORDS}", INTERRUPTION)
                    say_into_mic(question).wait(10)
                    before, count = run.states().count(VoiceState.SPEAKING), len(players)
                    run.wait(
                        lambda b=before: run.states().count(VoiceState.SPEAKING) > b, 30, "no live answer"
                    )
                    time.sleep(2.5)
                    mixer.say(interruption, rate, run.session.recorder.samplerate)
                    run.wait(lambda n=n: len(run.of(ReplyDone)) >= 2 * n + 1, 10, "live barge-in not heard")
                    time.sleep(0.5)
                    onset, stopped = mixer.onset_at, players[count].stopped_at
                    if onset is None or stopped is None:
                        raise TimeoutError("the live barge-in was not timed")
                    stopped_ms.append((stopped - onset) * 1000)
                    run.wait(
                        lambda n=n: len(run.of(ReplyDone)) >= 2 * n + 2, 60, "the interruption not answered"
                    )
                    run.wait(
                        lambda: run.of(StateChanged)[-1].state is VoiceState.LISTENING, 60, "not listening"
                    )
                    run.wait(lambda: run.session._playback is None, 60, "the answer not played out")
                first_audio = [e.ms for e in run.of(Timing) if e.name == "first_audio_delta_to_device"]
                sends = list(run.session.send_ms)
        finally:
            emu.stop()
    return {
        "live_mic_frame_to_ws_send_ms": round(statistics.median(sends), 2),
        "live_mic_frame_to_ws_send_ms_max": round(max(sends), 1),
        "live_first_audio_delta_to_device_ms": round(statistics.median(first_audio), 1),
        "live_first_audio_delta_to_device_ms_max": round(max(first_audio), 1),
        "live_barge_in_onset_to_stopped_ms": round(statistics.median(stopped_ms), 1),
        "live_barge_in_onset_to_stopped_ms_max": round(max(stopped_ms), 1),
    }


def side_by_side(result: dict) -> str:
    """Chained and live, the figures the issue names, as a small table."""
    rows = (
        ("end of speech -> request sent", "vad_end_to_transcription_request_ms", "live_mic_frame_to_ws_send_ms"),
        ("first audio received -> device", "first_tts_byte_to_device_ms", "live_first_audio_delta_to_device_ms"),
        ("barge-in onset -> playback stopped", "chained_barge_in_onset_to_stopped_ms",
         "live_barge_in_onset_to_stopped_ms"),
    )  # fmt: skip
    lines = [f"{'median (max) ms':36}{'chained':>18}{'live':>18}"]
    for label, chained, live_key in rows:
        cells = [
            f"{result.get(k, float('nan')):.1f} ({result.get(k + '_max', float('nan')):.1f})"
            for k in (chained, live_key)
        ]
        lines.append(f"{label:36}{cells[0]:>18}{cells[1]:>18}")
    return "\n".join(lines)


def main() -> int:
    from devtools.audio_rig import missing

    reason = missing()
    if reason is not None:
        return skipped("voice_latency", reason)
    result = run()
    result.update(barge_ins())
    result.update(live())
    print(side_by_side(result), flush=True)
    checks = {k: result.pop(k) for k in ("transcripts_ok", "first_audio_before_answer_complete")}
    return report(
        "voice_latency",
        result,
        targets={
            "vad_end_to_transcription_request_ms": TARGET_MS,
            "first_tts_byte_to_device_ms": TARGET_MS,
            "chained_barge_in_onset_to_stopped_ms": BARGE_IN_TARGET_MS,
            **LIVE_TARGETS_MS,
        },
        ceilings={f"{key}_max": limit for key, limit in CEILINGS_MS.items()},
        checks=checks,
    )


if __name__ == "__main__":
    sys.exit(main())
