"""The live voice engine (`app.core.realtime`) against the emulator's Realtime WebSocket with the SDK's realtime
client: a spoken turn end to end, push-to-talk, barge-in primitives, refused handshakes, faults in a session."""

from __future__ import annotations

import base64
import json
import threading
import time
from typing import Any

import numpy as np
import pytest

from app.core import errors, profiles, realtime
from app.core.cancel import CancelToken
from app.core.events import Done, Failed
from app.core.realtime_events import (
    AudioDelta,
    Committed,
    Heard,
    LiveConfig,
    Rejected,
    ResponseDone,
    ResponseStarted,
    SessionStarted,
    SpeechStarted,
    SpeechStopped,
    Truncated,
)
from app.core.turns import FinishReason
from app.emulator import Emulator
from app.emulator.realtime import client_events

KEY = "rt-key-4f1c"
RATE = 24000


def speech(seconds: float, amp: float = 0.3) -> bytes:
    t = np.arange(int(RATE * seconds)) / RATE
    env = 0.6 + 0.4 * np.abs(np.sin(2 * np.pi * 4 * t))
    sig = amp * env * np.sin(2 * np.pi * 220 * t)
    return (sig * 32767).astype("<i2").tobytes()


def silence(seconds: float) -> bytes:
    return bytes(int(RATE * seconds) * 2)


@pytest.fixture
def emu():
    with Emulator(token_rate=0, api_key=KEY) as e:
        yield e


def session(emu: Emulator, config: LiveConfig, *, key: str = KEY, provider: Any = None, headers: Any = None):
    profile = profiles.demo_profile(emu.endpoint)
    client = realtime.build_client(profile, api_key=None if provider else key, token_provider=provider)
    if headers:
        client = client.with_options(default_headers=headers)
    ctx = errors.Context(
        "realtime", config.deployment, endpoint=emu.endpoint, auth="entra" if provider else "key"
    )
    return realtime.RealtimeSession(client, config, cancel=CancelToken(), ctx=ctx)


def feed(rt: realtime.RealtimeSession, *pieces: bytes, then: Any = None) -> threading.Thread:
    """Once the session is configured, send `pieces` in 20 ms appends (as a microphone would), then `then()`."""

    def go() -> None:
        assert rt.connected.wait(5)
        for pcm in pieces:
            for i in range(0, len(pcm), 960):
                rt.send_audio(pcm[i : i + 960])
        if then is not None:
            then()

    thread = threading.Thread(target=go, daemon=True)
    thread.start()
    return thread


def collect(
    rt: realtime.RealtimeSession, *, stop_after: type = ResponseDone, timeout: float = 20
) -> list[Any]:
    """Run the session, closing it once `stop_after` arrived; every event, in order."""
    out: list[Any] = []
    deadline = time.monotonic() + timeout
    for ev in rt.run():
        out.append(ev)
        if isinstance(ev, stop_after):
            rt.close()
        assert time.monotonic() < deadline, out
    return out


def only(events: list[Any], kind: type) -> list[Any]:
    return [e for e in events if isinstance(e, kind)]


def test_a_spoken_turn_with_server_vad_comes_back_heard_spoken_and_counted(emu):
    emu.hear("What is the capital of France?")
    rt = session(emu, LiveConfig("gpt-realtime", transcription="whisper"))
    feed(rt, silence(0.4), speech(1.2), silence(0.8))
    events = collect(rt)

    kinds = [type(e) for e in events]
    order = [SessionStarted, SpeechStarted, SpeechStopped, Committed, ResponseStarted, ResponseDone, Done]
    assert [k for k in kinds if k in order] == order
    started, stopped = only(events, SpeechStarted)[0], only(events, SpeechStopped)[0]
    assert 0 <= started.audio_start_ms <= 400 and 1600 <= stopped.audio_end_ms <= 2300
    assert only(events, Heard)[0].text == "What is the capital of France?"
    done = only(events, ResponseDone)[0]
    assert done.status == "completed" and done.finish_reason is FinishReason.STOP
    assert done.text.startswith("You asked: What is the capital of France?")
    audio = b"".join(e.pcm for e in only(events, AudioDelta))
    assert len(audio) > RATE * 2 and done.audio_ms == len(audio) // 2 * 1000 // RATE
    assert np.abs(np.frombuffer(audio, "<i2")).max() > 3000  # speech, not silence
    assert done.usage is not None and done.usage.completion_tokens > 0
    assert isinstance(events[-1], Done) and events[-1].finish_reason == "stop"

    # What went over the wire: the GA route, the key as a bearer token, no dated api-version, and the session
    # configured as Azure's GA protocol wants it.
    handshake = [r for r in emu.requests if r.path == "/openai/v1/realtime"][-1]
    assert handshake.query == {"model": "gpt-realtime"} and handshake.used_key(KEY)
    update = next(e for e in client_events(emu) if e["type"] == "session.update")["session"]
    assert update["type"] == "realtime"
    assert update["audio"]["input"]["format"] == {"type": "audio/pcm", "rate": 24000}
    assert update["audio"]["input"]["transcription"] == {"model": "whisper"}
    assert update["audio"]["input"]["turn_detection"]["type"] == "server_vad"
    # Sending is cheap: a 20 ms frame reaches the socket in well under the 20 ms budget.
    median = sorted(rt.send_ms)[len(rt.send_ms) // 2]
    print(f"\nlast mic frame -> WebSocket send: median {median:.3f} ms, max {max(rt.send_ms):.3f} ms")
    assert median < 20


def test_push_to_talk_commits_and_asks_for_the_answer(emu):
    emu.hear("Push to talk works")
    rt = session(emu, LiveConfig("gpt-realtime", turn_detection="none", transcription="whisper"))
    feed(rt, speech(0.6), then=lambda: (rt.commit(), rt.respond()))
    events = collect(rt)
    assert not only(events, SpeechStarted)  # VAD off: the client ends the turn
    assert only(events, Heard)[0].text == "Push to talk works"
    assert only(events, ResponseDone)[0].finish_reason is FinishReason.STOP
    sent = [e["type"] for e in client_events(emu)]
    assert sent[0] == "session.update" and sent[-2:] == ["input_audio_buffer.commit", "response.create"]
    assert (
        next(e for e in client_events(emu) if e["type"] == "session.update")["session"]["audio"]["input"][
            "turn_detection"
        ]
        is None
    )


def test_semantic_vad_sends_its_eagerness(emu):
    rt = session(emu, LiveConfig("gpt-realtime", turn_detection="semantic_vad", eagerness="high"))
    feed(rt, speech(0.6), silence(0.5))
    events = collect(rt)
    assert only(events, SpeechStopped) and only(events, ResponseDone)
    sent = next(e for e in client_events(emu) if e["type"] == "session.update")["session"]
    assert sent["audio"]["input"]["turn_detection"]["eagerness"] == "high"


def test_cancel_then_truncate_to_what_was_played(emu):
    emu.hear("len:400 tell me a long story")
    emu.token_rate = None  # paced, so the answer is still going when it is cancelled
    rt = session(emu, LiveConfig("gpt-realtime", turn_detection="none"))
    feed(rt, speech(0.5), then=lambda: (rt.commit(), rt.respond()))
    events: list[Any] = []
    played = 0
    for ev in rt.run():
        events.append(ev)
        if isinstance(ev, AudioDelta):
            played += len(ev.pcm)
            if played >= RATE * 2 and not only(events, Truncated):
                rt.cancel_response()
                rt.truncate(ev.item_id, played // 2 * 1000 // RATE)
        if only(events, Truncated) and only(events, ResponseDone):  # the two may come in either order
            rt.close()
    done = only(events, ResponseDone)[0]
    assert done.status == "cancelled" and done.finish_reason is FinishReason.CANCELLED
    cut = only(events, Truncated)[0]
    assert cut.item_id == done.item_id and cut.audio_end_ms == 1000
    sent = [e for e in client_events(emu) if e["type"] in ("response.cancel", "conversation.item.truncate")]
    assert [e["type"] for e in sent] == ["response.cancel", "conversation.item.truncate"]
    assert sent[1]["audio_end_ms"] == 1000


def test_a_refused_event_is_reported_and_the_session_goes_on(emu):
    rt = session(emu, LiveConfig("gpt-realtime", turn_detection="none"))
    feed(rt, then=lambda: (rt.commit(), rt.cancel_response()))
    events = []
    for ev in rt.run():
        events.append(ev)
        if len(only(events, Rejected)) == 2:
            rt.close()
    refused = only(events, Rejected)
    assert [r.problem.code for r in refused] == [
        "input_audio_buffer_commit_empty",
        "response_cancel_not_active",
    ]
    assert "buffer too small" in refused[0].problem.detail
    assert isinstance(events[-1], Done) and events[-1].finish_reason == "stop"


@pytest.mark.parametrize(
    ("key", "deployment", "fault", "kind", "exit_code"),
    [
        ("wrong-key", "gpt-realtime", None, errors.Kind.AUTH, 4),
        (KEY, "no-such-deployment", None, errors.Kind.DEPLOYMENT_NOT_FOUND, 5),
        (KEY, "gpt-4o", None, errors.Kind.BAD_REQUEST, 1),
        (KEY, "gpt-realtime", "429", errors.Kind.RATE_LIMIT, 6),
        (KEY, "gpt-realtime", "500", errors.Kind.SERVER, 1),
    ],
)
def test_a_refused_handshake_is_the_same_problem_as_over_http(emu, key, deployment, fault, kind, exit_code):
    rt = session(emu, LiveConfig(deployment), key=key, headers={"x-parley-fault": fault} if fault else None)
    events = list(rt.run())
    assert len(events) == 1 and isinstance(events[0], Failed)
    problem = events[0].problem
    assert problem.kind is kind and problem.exit_code == exit_code
    assert problem.request_id  # Azure's request id from the refused handshake's headers
    if kind is errors.Kind.RATE_LIMIT:
        assert problem.retry_after == 0.3
    if kind is errors.Kind.DEPLOYMENT_NOT_FOUND:
        assert "'no-such-deployment'" in problem.detail and "realtime deployment" in problem.action


def test_entra_id_token_goes_as_a_bearer(emu):
    rt = session(emu, LiveConfig("gpt-realtime", turn_detection="none"), provider=lambda: "eyJ0.eyJ1.sig")
    feed(rt, then=rt.close)
    events = list(rt.run())
    assert isinstance(events[0], SessionStarted)
    handshake = [r for r in emu.requests if r.path == "/openai/v1/realtime"][-1]
    assert handshake.auth_scheme == "Bearer" and handshake.used_key("eyJ0.eyJ1.sig")


def test_nothing_listening_is_a_network_problem():
    with Emulator() as gone:
        endpoint = gone.endpoint
    profile = profiles.demo_profile(endpoint)
    rt = realtime.RealtimeSession(
        realtime.build_client(profile, api_key="k"),
        LiveConfig("gpt-realtime"),
        cancel=CancelToken(),
        ctx=errors.Context("realtime", "gpt-realtime", endpoint=endpoint),
    )
    events = list(rt.run())
    assert isinstance(events[0], Failed) and events[0].problem.kind is errors.Kind.NETWORK
    assert events[0].problem.exit_code == 7


@pytest.mark.parametrize(
    ("words", "status", "reason", "kind"),
    [
        ("fault:429 hello", "failed", None, errors.Kind.RATE_LIMIT),
        ("filter:answer tell me", "incomplete", FinishReason.CONTENT_FILTER, None),
    ],
)
def test_faults_in_a_session_arrive_as_azure_reports_them(emu, words, status, reason, kind):
    emu.hear(words)
    rt = session(emu, LiveConfig("gpt-realtime", turn_detection="none"))
    feed(rt, speech(0.5), then=lambda: (rt.commit(), rt.respond()))
    done = only(collect(rt), ResponseDone)[0]
    assert done.status == status and done.finish_reason == reason
    if kind is None:
        assert done.problem is None and 0 < len(done.text) < 80  # cut part way, what came is kept
    else:
        assert done.problem is not None and done.problem.kind is kind and done.problem.exit_code == 6


def test_an_answer_that_never_comes_times_out_and_cancel_is_immediate(emu):
    emu.hear("fault:hang are you there")
    config = LiveConfig("gpt-realtime", turn_detection="none", response_timeout=0.5)
    rt = session(emu, config)
    feed(rt, speech(0.5), then=lambda: (rt.commit(), rt.respond()))
    start = time.monotonic()
    events = list(rt.run())
    assert isinstance(events[-1], Failed) and events[-1].problem.kind is errors.Kind.TIMEOUT
    assert events[-1].problem.exit_code == 7 and time.monotonic() - start < 5

    emu.hear("fault:hang again")
    rt = session(emu, LiveConfig("gpt-realtime", turn_detection="none"))
    feed(rt, speech(0.5), then=lambda: (rt.commit(), rt.respond()))
    cancelled_at: list[float] = []

    def cancel_soon() -> None:
        time.sleep(0.5)
        cancelled_at.append(time.monotonic())
        rt.cancel.cancel()

    threading.Thread(target=cancel_soon, daemon=True).start()
    events = list(rt.run())
    assert isinstance(events[-1], Done) and events[-1].finish_reason == "cancelled"
    assert time.monotonic() - cancelled_at[0] < 0.5


def test_the_preview_route_speaks_the_preview_protocol_and_refuses_a_ga_session(emu):
    """AzureOpenAI builds the preview URL; there Azure speaks the older protocol: a GA session.update is refused
    ("Unknown parameter: 'session.type'."), a preview one works and the audio comes as response.audio.delta.
    The engine turns that refusal into a Problem saying to use a GA realtime deployment."""
    from openai import AzureOpenAI

    # On Azure the SDK makes wss://RES/openai/realtime itself; the emulator listens on plain ws.
    ws = emu.endpoint.replace("http://", "ws://") + "/openai"
    client = AzureOpenAI(
        azure_endpoint=emu.endpoint, api_key=KEY, api_version="2025-04-01-preview", websocket_base_url=ws
    )
    with client.realtime.connect(model="gpt-realtime") as conn:
        assert conn.recv().type == "session.created"
        conn.send({"type": "session.update", "session": {"type": "realtime", "instructions": "hi"}})
        refused = conn.recv_bytes()
        conn.send(
            {
                "type": "session.update",
                "session": {"modalities": ["audio", "text"], "turn_detection": None},
            }
        )
        assert b'"session.updated"' in conn.recv_bytes()
        emu.hear("hello there")
        conn.send(
            {
                "type": "input_audio_buffer.append",
                "audio": base64.b64encode(speech(0.3)).decode(),
            }
        )
        conn.send({"type": "input_audio_buffer.commit"})
        conn.send({"type": "response.create"})
        names = []
        while "response.done" not in names:
            names.append(json.loads(conn.recv_bytes())["type"])
    handshake = [r for r in emu.requests if r.path == "/openai/realtime"][-1]
    assert (
        handshake.query["deployment"] == "gpt-realtime"
        and handshake.query["api-version"] == "2025-04-01-preview"
    )
    error = json.loads(refused)["error"]
    assert error["message"] == "Unknown parameter: 'session.type'." and error["param"] == "session.type"
    assert "response.audio.delta" in names and "response.audio_transcript.delta" in names
    assert "response.output_audio.delta" not in names
    problem = realtime.problem_from_error(error, errors.Context("realtime"))
    assert problem.kind is errors.Kind.API_VERSION and problem.fix_in_settings
    assert "gpt-realtime" in problem.action and "GA" in problem.detail
